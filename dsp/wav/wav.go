// Package wav reads and writes RIFF/WAVE audio files as deinterleaved
// float32 samples in [-1, 1].
//
// The Reader decodes PCM (8-bit unsigned, 16, 24 and 32-bit signed) and IEEE
// float (32 and 64-bit) data, plain or WAVE_FORMAT_EXTENSIBLE, with any number
// of channels, and streams it so that memory stays bounded for long files.
// The Writer encodes PCM (8, 16, 24, 32-bit) or IEEE float (32, 64-bit) and
// patches the chunk sizes when it is closed. WriteFile and CreateAtomic never
// leave a partial file under the final name.
package wav

import "fmt"

// Format describes the sample layout of a WAVE file.
type Format struct {
	SampleRate    int  // frames per second
	Channels      int  // interleaved channels per frame
	BitsPerSample int  // container size of one sample, in bits
	Float         bool // IEEE float samples rather than integer PCM
}

// Limits on header values: anything outside them is treated as a corrupt header.
const (
	maxChannels   = 1024
	maxSampleRate = 1 << 24 // 16.7 MHz
	maxFmtSize    = 1 << 12 // a real fmt chunk is 16, 18 or 40 bytes
)

// Format tags from the WAVE specification.
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagExtensible = 0xFFFE
)

// guidTail is the part of KSDATAFORMAT_SUBTYPE_* GUIDs that follows the
// two-byte format tag, as stored in the file.
const guidTail = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71"

// blockAlign returns the bytes per frame.
func (f Format) blockAlign() int { return f.Channels * f.BitsPerSample / 8 }

// validate reports whether f is a layout this package can decode.
func (f Format) validate() error {
	if f.Channels < 1 || f.Channels > maxChannels {
		return fmt.Errorf("wav: unsupported channel count %d", f.Channels)
	}
	if f.SampleRate < 1 || f.SampleRate > maxSampleRate {
		return fmt.Errorf("wav: unsupported sample rate %d", f.SampleRate)
	}
	if f.Float {
		if f.BitsPerSample != 32 && f.BitsPerSample != 64 {
			return fmt.Errorf("wav: unsupported float bit depth %d", f.BitsPerSample)
		}
		return nil
	}
	switch f.BitsPerSample {
	case 8, 16, 24, 32:
		return nil
	}
	return fmt.Errorf("wav: unsupported PCM bit depth %d", f.BitsPerSample)
}

// String returns a short description such as "48000 Hz, 2 ch, 16-bit PCM".
func (f Format) String() string {
	kind := "PCM"
	if f.Float {
		kind = "float"
	}
	return fmt.Sprintf("%d Hz, %d ch, %d-bit %s", f.SampleRate, f.Channels, f.BitsPerSample, kind)
}
