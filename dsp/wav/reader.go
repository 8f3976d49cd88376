package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// unknownSize is the data-chunk size that streaming writers leave in place
// when they cannot seek back; the Reader then reads to the end of input.
const unknownSize = 0xFFFFFFFF

// readBufBytes bounds the Reader's internal buffer.
const readBufBytes = 64 << 10

// A Reader decodes the sample data of a WAVE stream.
//
// NewReader consumes the input only up to the start of the data chunk, and
// Read consumes it only as far as the frames it returns need, so a Reader over
// a long file holds a bounded amount of memory.
type Reader struct {
	r      io.Reader
	f      Format
	frames int64 // frames in the data chunk, -1 when unknown
	left   int64 // data bytes not yet read, -1 when reading to EOF
	buf    []byte
	err    error // sticky error, io.EOF once the data is exhausted
}

// NewReader parses the RIFF header of r, up to and including the header of
// the data chunk, and returns a Reader positioned at the first frame.
//
// Chunks other than "fmt " and "data" are skipped. A data chunk whose size is
// 0 or 0xFFFFFFFF (as left by writers that stream to a pipe) is read to the
// end of input; any other size that exceeds the remaining input is an error,
// reported here when r is an io.Seeker and by Read otherwise.
func NewReader(r io.Reader) (*Reader, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, headerErr("RIFF header", err)
	}
	switch string(hdr[0:4]) {
	case "RIFF":
	case "RF64", "BW64":
		return nil, fmt.Errorf("wav: %s files are not supported", hdr[0:4])
	default:
		return nil, errors.New("wav: not a RIFF file")
	}
	if string(hdr[8:12]) != "WAVE" {
		return nil, errors.New("wav: RIFF file is not WAVE")
	}

	var (
		f       Format
		haveFmt bool
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if err == io.EOF {
				return nil, errors.New("wav: no data chunk")
			}
			return nil, headerErr("chunk header", err)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if haveFmt {
				return nil, errors.New("wav: duplicate fmt chunk")
			}
			if size < 16 || size > maxFmtSize {
				return nil, fmt.Errorf("wav: fmt chunk size %d is invalid", size)
			}
			body := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, body); err != nil {
				return nil, headerErr("fmt chunk", err)
			}
			var err error
			if f, err = parseFmt(body[:size]); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, errors.New("wav: data chunk before fmt chunk")
			}
			return newDataReader(r, f, size)
		default:
			if err := skip(r, size+size&1); err != nil {
				return nil, headerErr(fmt.Sprintf("%q chunk", id), err)
			}
		}
	}
}

// newDataReader returns the Reader for a data chunk of the given size whose
// first byte is the next byte of r.
func newDataReader(r io.Reader, f Format, size int64) (*Reader, error) {
	ba := int64(f.blockAlign())
	rd := &Reader{r: r, f: f, frames: -1, left: -1}
	if size != 0 && size != unknownSize {
		if s, ok := r.(io.Seeker); ok {
			if remain, err := remaining(s); err == nil && size > remain {
				return nil, fmt.Errorf("wav: data chunk claims %d bytes but only %d remain", size, remain)
			}
		}
		rd.frames = size / ba
		rd.left = rd.frames * ba
	}
	n := readBufBytes / ba * ba
	if n == 0 {
		n = ba
	}
	rd.buf = make([]byte, n)
	return rd, nil
}

// remaining returns the bytes between the current offset of s and its end,
// leaving the offset unchanged.
func remaining(s io.Seeker) (int64, error) {
	cur, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if _, err := s.Seek(cur, io.SeekStart); err != nil {
		return 0, err
	}
	return end - cur, nil
}

// skip discards n bytes of r.
func skip(r io.Reader, n int64) error {
	got, err := io.CopyN(io.Discard, r, n)
	if got == n {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// headerErr wraps a failure to read part of the header.
func headerErr(what string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("wav: truncated %s", what)
	}
	return fmt.Errorf("wav: read %s: %w", what, err)
}

// parseFmt decodes and validates the body of a fmt chunk.
func parseFmt(b []byte) (Format, error) {
	le := binary.LittleEndian
	tag := le.Uint16(b[0:2])
	f := Format{
		Channels:      int(le.Uint16(b[2:4])),
		SampleRate:    int(le.Uint32(b[4:8])),
		BitsPerSample: int(le.Uint16(b[14:16])),
	}
	blockAlign := int(le.Uint16(b[12:14]))
	if tag == tagExtensible {
		if len(b) < 40 || le.Uint16(b[16:18]) < 22 {
			return Format{}, errors.New("wav: extensible fmt chunk is too short")
		}
		valid := int(le.Uint16(b[18:20]))
		if valid > f.BitsPerSample {
			return Format{}, fmt.Errorf("wav: %d valid bits in a %d-bit container", valid, f.BitsPerSample)
		}
		if string(b[26:40]) != guidTail {
			return Format{}, errors.New("wav: unknown extensible subformat GUID")
		}
		tag = le.Uint16(b[24:26])
	}
	switch tag {
	case tagPCM:
	case tagFloat:
		f.Float = true
	default:
		return Format{}, fmt.Errorf("wav: unsupported format tag 0x%04X", tag)
	}
	if err := f.validate(); err != nil {
		return Format{}, err
	}
	if blockAlign != f.blockAlign() {
		return Format{}, fmt.Errorf("wav: block align %d does not match %d channels of %d bits", blockAlign, f.Channels, f.BitsPerSample)
	}
	return f, nil
}

// Format returns the sample layout of the stream.
func (r *Reader) Format() Format { return r.f }

// Frames returns the number of frames in the data chunk, or -1 when the
// header does not say (the stream is then read to its end).
func (r *Reader) Frames() int64 { return r.frames }

// Read decodes up to n frames into dst, where n is the smallest len(dst[c])
// over the channels, and stores channel c of frame i in dst[c][i]. dst must
// hold at least Format().Channels slices; extra slices are left untouched.
//
// Read returns n > 0 and a nil error while frames remain, and 0, io.EOF at the
// end of the data. A data chunk that ends early, or any read error, is
// returned after the frames decoded before it. A trailing partial frame is
// ignored.
func (r *Reader) Read(dst [][]float32) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	ch := r.f.Channels
	if len(dst) < ch {
		return 0, fmt.Errorf("wav: Read got %d channel slices for %d channels", len(dst), ch)
	}
	want := math.MaxInt
	for c := 0; c < ch; c++ {
		want = min(want, len(dst[c]))
	}
	if want == 0 {
		return 0, nil
	}
	ba := r.f.blockAlign()
	done := 0
	for done < want {
		nb := min(want-done, len(r.buf)/ba) * ba
		if r.left >= 0 {
			nb = int(min(int64(nb), r.left))
		}
		if nb == 0 {
			r.err = io.EOF
			break
		}
		got, err := io.ReadFull(r.r, r.buf[:nb])
		frames := got / ba
		r.decode(dst, done, r.buf[:frames*ba])
		done += frames
		if r.left >= 0 {
			r.left -= int64(got)
		}
		if err != nil {
			switch {
			case r.left < 0 && (err == io.EOF || err == io.ErrUnexpectedEOF):
				r.err = io.EOF // streamed data: the end of input is the end of data
			case err == io.EOF || err == io.ErrUnexpectedEOF:
				r.err = fmt.Errorf("wav: data chunk truncated: %d bytes missing", r.left)
			default:
				r.err = fmt.Errorf("wav: read data: %w", err)
			}
			break
		}
	}
	if done > 0 {
		return done, nil
	}
	return 0, r.err
}

// decode converts whole frames in b into dst starting at frame offset off.
func (r *Reader) decode(dst [][]float32, off int, b []byte) {
	ch := r.f.Channels
	le := binary.LittleEndian
	switch {
	case r.f.Float && r.f.BitsPerSample == 32:
		for i := 0; len(b) > 0; i++ {
			for c := 0; c < ch; c++ {
				dst[c][off+i] = math.Float32frombits(le.Uint32(b))
				b = b[4:]
			}
		}
	case r.f.Float:
		for i := 0; len(b) > 0; i++ {
			for c := 0; c < ch; c++ {
				dst[c][off+i] = float32(math.Float64frombits(le.Uint64(b)))
				b = b[8:]
			}
		}
	case r.f.BitsPerSample == 8:
		for i := 0; len(b) > 0; i++ {
			for c := 0; c < ch; c++ {
				dst[c][off+i] = float32(int(b[0])-128) / (1 << 7)
				b = b[1:]
			}
		}
	case r.f.BitsPerSample == 16:
		for i := 0; len(b) > 0; i++ {
			for c := 0; c < ch; c++ {
				dst[c][off+i] = float32(int16(le.Uint16(b))) / (1 << 15)
				b = b[2:]
			}
		}
	case r.f.BitsPerSample == 24:
		for i := 0; len(b) > 0; i++ {
			for c := 0; c < ch; c++ {
				v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
				dst[c][off+i] = float32(v) / (1 << 23)
				b = b[3:]
			}
		}
	default: // 32-bit PCM
		for i := 0; len(b) > 0; i++ {
			for c := 0; c < ch; c++ {
				dst[c][off+i] = float32(float64(int32(le.Uint32(b))) / (1 << 31))
				b = b[4:]
			}
		}
	}
}

// ReadFile reads the whole of the named WAVE file and returns its samples,
// one slice per channel, and its format.
func ReadFile(name string) (samples [][]float32, f Format, err error) {
	file, err := os.Open(name)
	if err != nil {
		return nil, Format{}, err
	}
	defer file.Close()
	r, err := NewReader(file)
	if err != nil {
		return nil, Format{}, fmt.Errorf("read %s: %w", name, err)
	}
	f = r.Format()
	samples = make([][]float32, f.Channels)
	if n := r.Frames(); n >= 0 {
		if n > math.MaxInt32 {
			return nil, Format{}, fmt.Errorf("read %s: %d frames is too long to hold in memory", name, n)
		}
		for c := range samples {
			samples[c] = make([]float32, n)
		}
		got := 0
		for got < int(n) {
			k, err := r.Read(sliceFrom(samples, got))
			got += k
			if err != nil {
				return nil, Format{}, fmt.Errorf("read %s: %w", name, err)
			}
		}
		return samples, f, nil
	}
	// Unknown length: grow in blocks.
	if samples, err = ReadAll(r, samples); err != nil {
		return nil, Format{}, fmt.Errorf("read %s: %w", name, err)
	}
	return samples, f, nil
}

// A FrameReader reads deinterleaved frames as Reader.Read does: n > 0 and a nil error
// while frames remain, 0 and io.EOF at the end.
type FrameReader interface {
	Read(dst [][]float32) (n int, err error)
}

// ReadAll reads r to io.EOF in blocks, appending channel c of every frame to dst[c]
// (dst holds one slice per channel of r), and returns the grown slices. A nil error
// means r reached io.EOF.
func ReadAll(r FrameReader, dst [][]float32) ([][]float32, error) {
	const block = 1 << 14
	tmp := make([][]float32, len(dst))
	for c := range tmp {
		tmp[c] = make([]float32, block)
	}
	for {
		k, err := r.Read(tmp)
		for c := range dst {
			dst[c] = append(dst[c], tmp[c][:k]...)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// sliceFrom returns s with every channel resliced from frame off.
func sliceFrom(s [][]float32, off int) [][]float32 {
	out := make([][]float32, len(s))
	for c := range s {
		out[c] = s[c][off:]
	}
	return out
}
