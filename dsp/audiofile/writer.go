package audiofile

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/restoregrad/restoregrad/dsp/internal/atomicfile"
	"github.com/restoregrad/restoregrad/dsp/wav"
)

// CodecFor returns the codec a file named name is written in: WAV for .wav (or no
// extension), FLAC for .flac, in any case. Any other extension is an error that says what
// to do instead.
func CodecFor(name string) (Codec, error) {
	ext := filepath.Ext(name)
	switch strings.ToLower(ext) {
	case ".wav", "":
		return WAV, nil
	case ".flac":
		return FLAC, nil
	}
	return "", fmt.Errorf("%s: writing %s files is not supported; write .wav or .flac (then convert, e.g. `ffmpeg -i x.wav x%s`)", name, strings.ToUpper(ext[1:]), ext)
}

// IsAudioName reports whether name has the extension of an audio file, read or not by
// this package (.wav, .flac, .mp3, .ogg, .opus, .m4a...).
func IsAudioName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp4", ".aif", ".aiff", ".wma", ".webm", ".mka", ".caf", ".wv", ".ape", ".mp2", ".amr", ".au":
		return true
	}
	return false
}

// Readable reports whether name has the extension of a file this package reads (.wav,
// .flac, .mp3, in any case): what a folder search takes.
func Readable(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".wav", ".flac", ".mp3":
		return true
	}
	return false
}

// WritableName returns name unchanged when its extension names a codec this package
// writes, else with the extension replaced by .wav (an MP3's output is WAV).
func WritableName(name string) string {
	if _, err := CodecFor(name); err == nil && filepath.Ext(name) != "" {
		return name
	}
	return strings.TrimSuffix(name, filepath.Ext(name)) + ".wav"
}

// OutputFormat returns the format Create writes to name for an input of format in: the
// input's rate and channels, and its sample encoding wherever the output's codec holds
// it.
//
//   - WAV keeps 8, 16, 24 and 32-bit PCM and 32 and 64-bit float; other FLAC depths are
//     rounded up to the next of 8, 16, 24 and 32 bits; MP3 is 16-bit PCM.
//   - FLAC keeps integer depths up to 24 bits; 32-bit PCM and float, which FLAC as
//     written here does not hold, become 24-bit. It holds at most 8 channels and rates
//     up to 655350 Hz: more is an error.
func OutputFormat(name string, in Format) (Format, error) {
	codec, err := CodecFor(name)
	if err != nil {
		return Format{}, err
	}
	out := in
	out.Codec = codec
	switch codec {
	case WAV:
		if !in.Float {
			out.BitsPerSample = (in.BitsPerSample + 7) / 8 * 8
		}
	case FLAC:
		if in.Float || in.BitsPerSample > flacMaxBits {
			out.Float, out.BitsPerSample = false, flacMaxBits
		}
		if in.Channels > flacMaxChannels {
			return Format{}, fmt.Errorf("%s: FLAC holds at most %d channels, the input has %d; write .wav", name, flacMaxChannels, in.Channels)
		}
		if in.SampleRate > flacMaxRate {
			return Format{}, fmt.Errorf("%s: FLAC is written at rates up to %d Hz, the input is %d Hz; write .wav", name, flacMaxRate, in.SampleRate)
		}
	}
	return out, nil
}

// A Writer encodes frames into a file that appears under its name only when Commit
// succeeds.
type Writer struct {
	name   string
	f      Format
	enc    interface{ Write([][]float32) error }
	commit func() error
	abort  func()
}

// Create starts writing the file name in format f, whose codec must be the one CodecFor
// gives for name (OutputFormat makes such a format). The frames go to a temporary file in
// name's folder: Commit finishes it and renames it to name, Abort removes it. Errors name
// the file.
func Create(name string, f Format) (*Writer, error) {
	codec, err := CodecFor(name)
	if err != nil {
		return nil, err
	}
	if f.Codec != codec {
		return nil, fmt.Errorf("%s: cannot write %s data to a %s file", name, f.Codec, codec)
	}
	if codec == WAV {
		ww, commit, abort, err := wav.CreateAtomic(name, f.wav())
		if err != nil {
			return nil, err
		}
		return &Writer{name: name, f: f, enc: ww, commit: commit, abort: abort}, nil
	}
	if f.Float || f.BitsPerSample < 4 || f.BitsPerSample > flacMaxBits || f.Channels < 1 || f.Channels > flacMaxChannels || f.SampleRate < 1 || f.SampleRate > flacMaxRate {
		return nil, fmt.Errorf("create %s: FLAC is not written as %s", name, f)
	}
	file, err := atomicfile.Create(name)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	fw, err := newFLACWriter(file, f)
	if err != nil {
		file.Abort()
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	var (
		done      bool
		commitErr error
	)
	commit := func() error {
		if done {
			return commitErr
		}
		done = true
		if err := fw.Close(); err != nil {
			file.Abort()
			commitErr = fmt.Errorf("write %s: %w", name, err)
		} else if err := file.Commit(); err != nil {
			commitErr = fmt.Errorf("write %s: %w", name, err)
		}
		return commitErr
	}
	abort := func() {
		done = true
		file.Abort()
	}
	return &Writer{name: name, f: f, enc: fw, commit: commit, abort: abort}, nil
}

// Format returns the format being written.
func (w *Writer) Format() Format { return w.f }

// Write encodes one frame per index of src[0], taking channel c from src[c]; src must
// hold exactly Format().Channels slices of equal length. Integer formats clip samples to
// [-1, 1] and round them (NaN becomes 0); float formats store them as given.
func (w *Writer) Write(src [][]float32) error {
	if err := w.enc.Write(src); err != nil {
		return fmt.Errorf("write %s: %w", w.name, err)
	}
	return nil
}

// Commit finishes the file and renames it into place; on failure nothing is left under
// its name. Later calls return the first result.
func (w *Writer) Commit() error { return w.commit() }

// Abort removes the temporary file; it does nothing after Commit.
func (w *Writer) Abort() { w.abort() }

// WriteFile writes samples, one slice per channel, to the named file in format f (see
// Create).
func WriteFile(name string, samples [][]float32, f Format) error {
	w, err := Create(name, f)
	if err != nil {
		return err
	}
	if err := w.Write(samples); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}
