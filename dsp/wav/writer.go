package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/restoregrad/restoregrad/dsp/internal/atomicfile"
)

// writeBufBytes bounds the Writer's internal buffer.
const writeBufBytes = 64 << 10

// maxDataBytes is the largest data chunk a RIFF file can describe, leaving
// room for the header within the 32-bit RIFF size.
const maxDataBytes = math.MaxUint32 - 256

// A Writer encodes frames into a WAVE stream.
//
// The header is written by NewWriter with zero sizes, which a reader treats as
// "read to end of file", so even an unclosed file is readable. Close writes
// the buffered frames and patches the sizes. Close does not close the
// underlying io.WriteSeeker.
type Writer struct {
	w         io.WriteSeeker
	f         Format
	start     int64 // offset of the RIFF header in w
	hdrLen    int64 // bytes of header before the sample data
	factOff   int64 // offset of the fact chunk's frame count from start, 0 if none
	dataBytes int64 // sample bytes accepted so far
	buf       []byte
	err       error // sticky error
	closed    bool
}

// NewWriter writes a WAVE header for f to w and returns a Writer for its
// frames. Supported formats are 8, 16, 24 and 32-bit PCM and 32 and 64-bit
// float. WAVE_FORMAT_EXTENSIBLE is used for more than two channels or more
// than 16 bits per sample, as the specification recommends.
func NewWriter(w io.WriteSeeker, f Format) (*Writer, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	start, err := w.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("wav: write header: %w", err)
	}
	hdr, factOff := header(f)
	if _, err := w.Write(hdr); err != nil {
		return nil, fmt.Errorf("wav: write header: %w", err)
	}
	n := writeBufBytes / f.blockAlign() * f.blockAlign()
	return &Writer{
		w: w, f: f, start: start, hdrLen: int64(len(hdr)), factOff: factOff,
		buf: make([]byte, 0, n),
	}, nil
}

// header returns the bytes before the sample data, with zero sizes, and the
// offset of the fact chunk's frame count (0 when there is no fact chunk).
func header(f Format) ([]byte, int64) {
	le := binary.LittleEndian
	ext := f.Channels > 2 || f.BitsPerSample > 16
	tag := uint16(tagPCM)
	if f.Float {
		tag = tagFloat
	}
	b := make([]byte, 0, 80)
	b = append(b, "RIFF\x00\x00\x00\x00WAVEfmt "...)
	switch {
	case ext:
		b = le.AppendUint32(b, 40)
	case f.Float:
		b = le.AppendUint32(b, 18)
	default:
		b = le.AppendUint32(b, 16)
	}
	if ext {
		b = le.AppendUint16(b, tagExtensible)
	} else {
		b = le.AppendUint16(b, tag)
	}
	b = le.AppendUint16(b, uint16(f.Channels))
	b = le.AppendUint32(b, uint32(f.SampleRate))
	b = le.AppendUint32(b, uint32(f.SampleRate*f.blockAlign()))
	b = le.AppendUint16(b, uint16(f.blockAlign()))
	b = le.AppendUint16(b, uint16(f.BitsPerSample))
	switch {
	case ext:
		b = le.AppendUint16(b, 22)
		b = le.AppendUint16(b, uint16(f.BitsPerSample))
		b = le.AppendUint32(b, channelMask(f.Channels))
		b = le.AppendUint16(b, tag)
		b = append(b, guidTail...)
	case f.Float:
		b = le.AppendUint16(b, 0)
	}
	var factOff int64
	if f.Float {
		b = append(b, "fact\x04\x00\x00\x00"...)
		factOff = int64(len(b))
		b = le.AppendUint32(b, 0)
	}
	b = append(b, "data\x00\x00\x00\x00"...)
	return b, factOff
}

// channelMask returns the speaker mask for common layouts, 0 (unassigned)
// for others.
func channelMask(ch int) uint32 {
	switch ch {
	case 1:
		return 0x4 // front centre
	case 2:
		return 0x3 // front left, front right
	case 4:
		return 0x33 // quad
	case 6:
		return 0x3F // 5.1
	case 8:
		return 0x63F // 7.1
	}
	return 0
}

// Format returns the format being written.
func (w *Writer) Format() Format { return w.f }

// Write encodes one frame per index of src[0], taking channel c from src[c].
// src must hold exactly Format().Channels slices of equal length. PCM samples
// are clipped to [-1, 1] and rounded to the nearest step (NaN becomes 0);
// float samples are stored as given.
func (w *Writer) Write(src [][]float32) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("wav: write to closed Writer")
	}
	n, err := CheckFrames(src, w.f.Channels)
	if err != nil {
		return fmt.Errorf("wav: %w", err)
	}
	ba := w.f.blockAlign()
	if w.dataBytes+int64(n)*int64(ba) > maxDataBytes {
		return errors.New("wav: data exceeds the 4 GiB RIFF limit")
	}
	for i := 0; i < n; {
		room := (cap(w.buf) - len(w.buf)) / ba
		if room == 0 {
			if err := w.flush(); err != nil {
				return err
			}
			continue
		}
		k := min(room, n-i)
		w.buf = w.encode(w.buf, src, i, i+k)
		w.dataBytes += int64(k * ba)
		i += k
	}
	return nil
}

// CheckFrames checks that src holds exactly channels slices of equal length, as
// Writer.Write takes them, and returns that length (the number of frames).
func CheckFrames(src [][]float32, channels int) (int, error) {
	if len(src) != channels {
		return 0, fmt.Errorf("Write got %d channel slices for %d channels", len(src), channels)
	}
	n := len(src[0])
	for c := range src {
		if len(src[c]) != n {
			return 0, fmt.Errorf("Write got channel slices of different lengths (%d and %d)", n, len(src[c]))
		}
	}
	return n, nil
}

// flush writes the buffered bytes.
func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = fmt.Errorf("wav: write data: %w", err)
		return w.err
	}
	w.buf = w.buf[:0]
	return nil
}

// encode appends frames [from, to) of src to b.
func (w *Writer) encode(b []byte, src [][]float32, from, to int) []byte {
	le := binary.LittleEndian
	ch := w.f.Channels
	for i := from; i < to; i++ {
		for c := 0; c < ch; c++ {
			x := src[c][i]
			switch {
			case w.f.Float && w.f.BitsPerSample == 32:
				b = le.AppendUint32(b, math.Float32bits(x))
			case w.f.Float:
				b = le.AppendUint64(b, math.Float64bits(float64(x)))
			case w.f.BitsPerSample == 8:
				b = append(b, byte(quantize(x, 8)+128))
			case w.f.BitsPerSample == 16:
				b = le.AppendUint16(b, uint16(int16(quantize(x, 16))))
			case w.f.BitsPerSample == 24:
				v := uint32(quantize(x, 24))
				b = append(b, byte(v), byte(v>>8), byte(v>>16))
			default:
				b = le.AppendUint32(b, uint32(quantize(x, 32)))
			}
		}
	}
	return b
}

// quantize maps x in [-1, 1] to a signed integer of the given bits, scaling by
// 2^(bits-1) so that decoding and re-encoding integer samples is exact.
func quantize(x float32, bits uint) int64 {
	if x != x { // NaN
		return 0
	}
	scale := float64(int64(1) << (bits - 1))
	v := math.Round(float64(x) * scale)
	return int64(max(-scale, min(scale-1, v)))
}

// Close writes any buffered frames, adds the pad byte an odd-sized data chunk
// needs and patches the RIFF, fact and data sizes. It leaves the underlying
// writer positioned at the end of the file. Closing twice is a no-op.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if err := w.flush(); err != nil {
		return err
	}
	end := w.start + w.hdrLen + w.dataBytes
	if w.dataBytes&1 == 1 {
		if _, err := w.w.Write([]byte{0}); err != nil {
			w.err = fmt.Errorf("wav: write pad byte: %w", err)
			return w.err
		}
		end++
	}
	le := binary.LittleEndian
	patch := func(off int64, v uint32) error {
		if _, err := w.w.Seek(w.start+off, io.SeekStart); err != nil {
			return err
		}
		_, err := w.w.Write(le.AppendUint32(nil, v))
		return err
	}
	err := patch(4, uint32(end-w.start-8))
	if err == nil && w.factOff != 0 {
		err = patch(w.factOff, uint32(w.dataBytes/int64(w.f.blockAlign())))
	}
	if err == nil {
		err = patch(w.hdrLen-4, uint32(w.dataBytes))
	}
	if err == nil {
		_, err = w.w.Seek(end, io.SeekStart)
	}
	if err != nil {
		w.err = fmt.Errorf("wav: patch header: %w", err)
	}
	return w.err
}

// WriteFile writes samples (one slice per channel) to the named file in
// format f. It writes a temporary file in the same directory, syncs it and
// renames it over name, so name is either left as it was or fully written.
func WriteFile(name string, samples [][]float32, f Format) error {
	w, commit, abort, err := CreateAtomic(name, f)
	if err != nil {
		return err
	}
	if err := w.Write(samples); err != nil {
		abort()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return commit()
}

// CreateAtomic starts writing a WAVE file that will appear under name only
// when commit succeeds. The frames go to a temporary file in name's directory;
// commit closes the Writer, syncs and closes the file and renames it to name;
// abort closes and removes the temporary file. After commit or abort, further
// calls to either do nothing (commit returns the first result again).
func CreateAtomic(name string, f Format) (w *Writer, commit func() error, abort func(), err error) {
	if err := f.validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("create %s: %w", name, err)
	}
	file, err := atomicfile.Create(name)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create %s: %w", name, err)
	}
	if w, err = NewWriter(file, f); err != nil {
		file.Abort()
		return nil, nil, nil, fmt.Errorf("create %s: %w", name, err)
	}
	var (
		done      bool
		commitErr error
	)
	commit = func() error {
		if done {
			return commitErr
		}
		done = true
		if err := w.Close(); err != nil {
			file.Abort()
			commitErr = fmt.Errorf("write %s: %w", name, err)
		} else if err := file.Commit(); err != nil {
			commitErr = fmt.Errorf("write %s: %w", name, err)
		}
		return commitErr
	}
	abort = func() {
		done = true
		file.Abort()
	}
	return w, commit, abort, nil
}
