// Package audiofile is where audio files become samples and samples become files: it
// reads WAV, FLAC and MP3 and writes WAV and FLAC, as deinterleaved float32 samples in
// [-1, 1] (dsp/wav's convention), so that every command that takes files takes the same
// ones.
//
// A file is read by what it holds, not by its name: Open looks at its first bytes. A file
// is written in the encoding its name's extension asks for (.wav or .flac; a name without
// one is WAV), through a temporary file that Commit renames into place, so a failed or
// interrupted write never leaves a partial file under the final name. A format it cannot
// read or write (Ogg Vorbis, Opus, AAC, MP4, AIFF...) gets a one-line error that says how
// to convert it.
//
// The decoders are pure Go: dsp/wav, github.com/mewkiz/flac and
// github.com/hajimehoshi/go-mp3. A decoder that panics on a damaged file is reported as an
// error, never a crash. MP3 comes out as 16-bit PCM, without the encoder's delay and
// padding where a LAME/Info tag gives them (as LAME and ffmpeg write; without one, about
// 1100 samples of silence lead and up to a frame trails).
//
// Files: audiofile.go (Format, Open, Reader, ReadFile, content sniffing), flac.go (the
// FLAC decoder and encoder), mp3.go (the MP3 decoder), writer.go (OutputFormat, Create,
// Writer, WriteFile).
package audiofile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/restoregrad/restoregrad/dsp/wav"
)

// Codec names a file encoding.
type Codec string

// The codecs this package reads. WAV and FLAC are also written.
const (
	WAV  Codec = "WAV"
	FLAC Codec = "FLAC"
	MP3  Codec = "MP3"
)

// Format describes the samples of a file.
type Format struct {
	Codec         Codec
	SampleRate    int  // frames per second
	Channels      int  // samples per frame
	BitsPerSample int  // bits per sample as stored (FLAC: 4 to 32; MP3: 16, as decoded)
	Float         bool // IEEE float samples (WAV only) rather than integer PCM
}

// String returns a short description such as "FLAC, 48000 Hz, 2 ch, 24-bit PCM".
func (f Format) String() string {
	kind := "PCM"
	if f.Float {
		kind = "float"
	}
	return fmt.Sprintf("%s, %d Hz, %d ch, %d-bit %s", f.Codec, f.SampleRate, f.Channels, f.BitsPerSample, kind)
}

// wav returns f as a dsp/wav format.
func (f Format) wav() wav.Format {
	return wav.Format{SampleRate: f.SampleRate, Channels: f.Channels, BitsPerSample: f.BitsPerSample, Float: f.Float}
}

// decoder is what each codec's reader provides: Read as Reader.Read documents it.
type decoder interface {
	Read(dst [][]float32) (int, error)
}

// A Reader decodes the samples of one file or stream, whatever its codec, in bounded
// memory.
type Reader struct {
	name   string    // prefixes errors; "" for NewReader
	file   io.Closer // nil for NewReader
	dec    decoder
	f      Format
	frames int64
	err    error // sticky
}

// Open opens the named file and returns a Reader positioned at its first frame. Errors
// name the file and fit on one line; a format this package does not read says how to
// convert it.
func Open(name string) (*Reader, error) {
	file, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(file)
	if err != nil {
		file.Close()
		var u *unsupportedError
		if errors.As(err, &u) {
			u.name = name
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r.name, r.file = name, file
	return r, nil
}

// NewReader reads the header of the stream rs and returns a Reader positioned at its
// first frame. The codec is chosen by the stream's first bytes.
func NewReader(rs io.ReadSeeker) (r *Reader, err error) {
	codec, err := sniff(rs)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("%s: damaged header (the decoder failed: %v)", prefix(codec), p)
		}
	}()
	switch codec {
	case WAV:
		w, err := wav.NewReader(rs)
		if err != nil {
			return nil, err
		}
		wf := w.Format()
		f := Format{Codec: WAV, SampleRate: wf.SampleRate, Channels: wf.Channels, BitsPerSample: wf.BitsPerSample, Float: wf.Float}
		return &Reader{dec: w, f: f, frames: w.Frames()}, nil
	case FLAC:
		d, f, frames, err := newFLACDecoder(rs)
		if err != nil {
			return nil, err
		}
		return &Reader{dec: d, f: f, frames: frames}, nil
	default:
		d, f, frames, err := newMP3Decoder(rs)
		if err != nil {
			return nil, err
		}
		return &Reader{dec: d, f: f, frames: frames}, nil
	}
}

// Format returns the format of the file.
func (r *Reader) Format() Format { return r.f }

// Frames returns the number of frames the file's header (or, for MP3, its frame index)
// announces, or -1 when it does not say. Read reports an error when a WAV or FLAC file
// holds fewer; an MP3 that ends early just ends.
func (r *Reader) Frames() int64 { return r.frames }

// Read decodes up to n frames into dst, where n is the smallest len(dst[c]) over the
// channels, and stores channel c of frame i in dst[c][i]. dst must hold at least
// Format().Channels slices.
//
// Read returns n > 0 and a nil error while frames remain, and 0, io.EOF at the end. A
// damaged or truncated file is reported, as an error on one line, after the frames
// decoded before the damage; every later call returns the same error.
func (r *Reader) Read(dst [][]float32) (n int, err error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(dst) < r.f.Channels {
		return 0, fmt.Errorf("audiofile: Read got %d channel slices for %d channels", len(dst), r.f.Channels)
	}
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("%s: damaged stream (the decoder failed: %v)", prefix(r.f.Codec), p)
		}
		if err != nil && err != io.EOF {
			err = errors.New(oneLine(err.Error()))
			if r.name != "" {
				err = fmt.Errorf("%s: %w", r.name, err)
			}
		}
		if err != nil && n == 0 {
			r.err = err
		}
	}()
	return r.dec.Read(dst)
}

// Close closes the file Open opened; it does nothing for NewReader's.
func (r *Reader) Close() error {
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file = nil
	return err
}

// ReadFile reads the whole of the named file and returns its samples, one slice per
// channel, and its format.
func ReadFile(name string) ([][]float32, Format, error) {
	r, err := Open(name)
	if err != nil {
		return nil, Format{}, err
	}
	defer r.Close()
	f := r.Format()
	if r.Frames() > math.MaxInt32 {
		return nil, Format{}, fmt.Errorf("%s: %d frames is too long to hold in memory", name, r.Frames())
	}
	samples := make([][]float32, f.Channels)
	for c := range samples {
		samples[c] = make([]float32, 0, max(0, r.Frames()))
	}
	samples, err = wav.ReadAll(r, samples)
	if err != nil {
		return nil, Format{}, err
	}
	return samples, f, nil
}

// prefix is the error prefix of a codec's messages, as dsp/wav's "wav: ".
func prefix(c Codec) string { return strings.ToLower(string(c)) }

// oneLine joins the lines of a message.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

// sniff tells the codec of rs by its first bytes and leaves rs at its start.
func sniff(rs io.ReadSeeker) (Codec, error) {
	var head [12]byte
	n, err := io.ReadFull(rs, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", fmt.Errorf("audiofile: read header: %w", err)
	}
	b := head[:n]
	codec, err := sniffBytes(b)
	if err != nil {
		return "", err
	}
	if codec == "" { // an ID3v2 tag: FLAC or MP3 follows it
		// Header: "ID3", version (2 bytes), flags, size (4 × 7 bits); a footer of 10 bytes
		// follows the tag when flag 0x10 is set.
		size := int64(b[6]&0x7F)<<21 | int64(b[7]&0x7F)<<14 | int64(b[8]&0x7F)<<7 | int64(b[9]&0x7F)
		end := 10 + size
		if b[5]&0x10 != 0 {
			end += 10
		}
		var after [4]byte
		if _, err := rs.Seek(end, io.SeekStart); err != nil {
			return "", fmt.Errorf("audiofile: %w", err)
		}
		if _, err := io.ReadFull(rs, after[:]); err != nil {
			return "", errors.New("mp3: no audio after the ID3 tag")
		}
		codec = MP3
		if string(after[:]) == "fLaC" {
			codec = FLAC
		}
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("audiofile: %w", err)
	}
	return codec, nil
}

// sniffBytes tells the codec from the first bytes of a file: "" with a nil error for an
// ID3v2 tag (whatever follows it decides), an *unsupportedError for formats known but
// not read.
func sniffBytes(b []byte) (Codec, error) {
	has := func(off int, s string) bool { return len(b) >= off+len(s) && string(b[off:off+len(s)]) == s }
	switch {
	case len(b) == 0:
		return "", errors.New("audiofile: empty file")
	case has(0, "RIFF"), has(0, "RF64"), has(0, "BW64"):
		return WAV, nil // dsp/wav explains what it does not read
	case has(0, "fLaC"):
		return FLAC, nil
	case has(0, "ID3") && len(b) >= 10:
		return "", nil
	case has(0, "OggS"):
		return "", &unsupportedError{kind: "Ogg (Vorbis, Opus)"}
	case has(0, "FORM") && (has(8, "AIFF") || has(8, "AIFC")):
		return "", &unsupportedError{kind: "AIFF"}
	case has(4, "ftyp"):
		return "", &unsupportedError{kind: "MP4 (M4A, AAC)"}
	case has(0, "\x1a\x45\xdf\xa3"):
		return "", &unsupportedError{kind: "Matroska/WebM"}
	case has(0, "caff"):
		return "", &unsupportedError{kind: "CAF"}
	case has(0, "wvpk"):
		return "", &unsupportedError{kind: "WavPack"}
	case has(0, "MAC "):
		return "", &unsupportedError{kind: "Monkey's Audio"}
	case has(0, "#!AMR"):
		return "", &unsupportedError{kind: "AMR"}
	case has(0, ".snd"):
		return "", &unsupportedError{kind: "Sun/NeXT audio"}
	case len(b) >= 4 && b[0] == 0xFF && b[1]&0xE0 == 0xE0:
		// An MPEG audio frame header: version in bits 4-3 of byte 1, layer in bits 2-1.
		version, layer := b[1]>>3&3, b[1]>>1&3
		switch {
		case layer == 0:
			return "", &unsupportedError{kind: "AAC (ADTS)"}
		case version == 1:
		case layer == 1:
			return MP3, nil
		default:
			return "", &unsupportedError{kind: fmt.Sprintf("MPEG layer %d (MP%d)", 4-layer, 4-layer)}
		}
	}
	return "", &unsupportedError{}
}

// unsupportedError is a file whose format this package does not read.
type unsupportedError struct {
	kind string // "" when not recognised at all
	name string // the file, set by Open for the advice
}

func (e *unsupportedError) Error() string {
	what := "not a WAV, FLAC or MP3 file"
	if e.kind != "" {
		what = e.kind + " is not supported (WAV, FLAC and MP3 are)"
	}
	if e.name == "" {
		return "audiofile: " + what + "; convert it to WAV"
	}
	ext := filepath.Ext(e.name)
	to := strings.TrimSuffix(e.name, ext) + ".wav"
	if strings.EqualFold(ext, ".wav") {
		to = strings.TrimSuffix(e.name, ext) + "-converted.wav"
	}
	return fmt.Sprintf("%s; convert it with `ffmpeg -i %s %s`", what, shellQuote(e.name), shellQuote(to))
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./+,:@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// le is the byte order of WAV and of the MP3 decoder's output.
var le = binary.LittleEndian
