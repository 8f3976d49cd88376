package audiofile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"

	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
	"github.com/mewkiz/flac/meta"
	"github.com/mewkiz/pkg/errutil"

	"github.com/restoregrad/restoregrad/dsp/wav"
)

// FLAC limits: the format's channel count, and the depths and rates this package writes
// (the encoder's frame headers carry at most 24 bits; STREAMINFO's rate field 20 bits).
const (
	flacMaxChannels = 8
	flacMaxBits     = 24
	flacMaxRate     = 655350
	flacBlock       = 4096 // frames per FLAC frame written, as the reference encoder's default
)

// flacDecoder decodes FLAC frames one at a time.
type flacDecoder struct {
	s     *flac.Stream
	ch    int
	bits  int
	scale float32 // 1 / 2^(bits-1)
	cur   *frame.Frame
	pos   int   // next sample of cur
	done  int64 // samples per channel returned so far
	want  int64 // samples per channel STREAMINFO announces; 0 when unknown
	err   error
}

func newFLACDecoder(r io.Reader) (*flacDecoder, Format, int64, error) {
	s, err := flac.New(r)
	if err != nil {
		return nil, Format{}, 0, flacErr(err)
	}
	info := s.Info
	f := Format{Codec: FLAC, SampleRate: int(info.SampleRate), Channels: int(info.NChannels), BitsPerSample: int(info.BitsPerSample)}
	switch {
	case f.Channels < 1 || f.Channels > flacMaxChannels:
		return nil, Format{}, 0, fmt.Errorf("flac: %d channels", f.Channels)
	case f.BitsPerSample < 4 || f.BitsPerSample > 32:
		return nil, Format{}, 0, fmt.Errorf("flac: unsupported bit depth %d", f.BitsPerSample)
	case f.SampleRate < 1:
		return nil, Format{}, 0, errors.New("flac: sample rate 0")
	}
	frames := int64(info.NSamples)
	if frames == 0 {
		frames = -1
	}
	d := &flacDecoder{
		s: s, ch: f.Channels, bits: f.BitsPerSample,
		scale: float32(1 / math.Ldexp(1, f.BitsPerSample-1)),
		want:  int64(info.NSamples),
	}
	return d, f, frames, nil
}

func (d *flacDecoder) Read(dst [][]float32) (int, error) {
	want := math.MaxInt
	for c := 0; c < d.ch; c++ {
		want = min(want, len(dst[c]))
	}
	done := 0
	for done < want && d.err == nil {
		if d.cur == nil || d.pos == len(d.cur.Subframes[0].Samples) {
			if d.err = d.next(); d.err != nil {
				break
			}
			continue
		}
		k := min(want-done, len(d.cur.Subframes[0].Samples)-d.pos)
		for c := 0; c < d.ch; c++ {
			out := dst[c][done : done+k]
			for i, v := range d.cur.Subframes[c].Samples[d.pos : d.pos+k] {
				out[i] = float32(v) * d.scale
			}
		}
		d.pos += k
		done += k
		d.done += int64(k)
	}
	if done > 0 {
		return done, nil
	}
	return 0, d.err
}

// next parses the next frame into cur; it returns io.EOF after the last.
func (d *flacDecoder) next() error {
	d.cur = nil
	f, err := d.s.Next()
	if err == io.EOF {
		if d.want > 0 && d.done != d.want {
			return fmt.Errorf("flac: stream holds %d frames but its header says %d (truncated?)", d.done, d.want)
		}
		return io.EOF
	}
	if err != nil {
		return flacErr(err)
	}
	if f.BitsPerSample == 0 { // "see STREAMINFO", which the frame parser does not see
		f.BitsPerSample = uint8(d.bits)
	}
	if int(f.BitsPerSample) != d.bits {
		return fmt.Errorf("flac: a frame of %d bits in a %d-bit stream", f.BitsPerSample, d.bits)
	}
	if n := f.Channels.Count(); n != d.ch {
		return fmt.Errorf("flac: a frame of %d channels in a %d-channel stream", n, d.ch)
	}
	if err := f.Parse(); err != nil {
		return flacErr(err)
	}
	for _, sf := range f.Subframes {
		if len(sf.Samples) != int(f.BlockSize) {
			return fmt.Errorf("flac: a subframe of %d samples in a frame of %d", len(sf.Samples), f.BlockSize)
		}
	}
	d.cur, d.pos = f, 0
	return nil
}

// callerPrefix matches the "pkg.Func: " that mewkiz/flac puts before its messages.
var callerPrefix = regexp.MustCompile(`^([A-Za-z0-9_]+\.)+[A-Za-z0-9_]+: `)

// flacErr turns a mewkiz/flac error into one line starting "flac: ", without the source
// positions and terminal colours its errutil adds.
func flacErr(err error) error {
	for {
		var e *errutil.ErrInfo
		if !errors.As(err, &e) || e.Err == nil {
			break
		}
		err = e.Err
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("flac: truncated stream")
	}
	msg := oneLine(err.Error())
	for callerPrefix.MatchString(msg) {
		msg = callerPrefix.ReplaceAllString(msg, "")
	}
	return errors.New("flac: " + msg)
}

// flacWriter encodes blocks of flacBlock frames as FLAC frames.
type flacWriter struct {
	w     io.WriteSeeker
	enc   *flac.Encoder
	f     Format
	total int64  // frames written
	rate  uint32 // the rate in frame headers; 0 sends readers to STREAMINFO
	block [][]int32
	n     int // frames in block
	err   error
}

// seeker hides an *os.File's Close from the encoder, whose Close would close it: the
// caller syncs and renames the file after.
type seeker struct{ io.WriteSeeker }

func newFLACWriter(w io.WriteSeeker, f Format) (*flacWriter, error) {
	info := &meta.StreamInfo{
		BlockSizeMin:  16,
		BlockSizeMax:  flacBlock,
		SampleRate:    uint32(f.SampleRate),
		NChannels:     uint8(f.Channels),
		BitsPerSample: uint8(f.BitsPerSample),
	}
	enc, err := flac.NewEncoder(seeker{w}, info)
	if err != nil {
		return nil, flacErr(err)
	}
	fw := &flacWriter{w: w, enc: enc, f: f, block: make([][]int32, f.Channels)}
	for c := range fw.block {
		fw.block[c] = make([]int32, flacBlock)
	}
	// Rates the frame header can hold (else it says "see STREAMINFO").
	if r := f.SampleRate; r <= 65535 || r%10 == 0 {
		fw.rate = uint32(r)
	}
	return fw, nil
}

// Write quantises src as dsp/wav does (clipped to [-1, 1], rounded, NaN as 0).
func (w *flacWriter) Write(src [][]float32) error {
	if w.err != nil {
		return w.err
	}
	n, err := wav.CheckFrames(src, w.f.Channels)
	if err != nil {
		return fmt.Errorf("flac: %w", err)
	}
	scale := math.Ldexp(1, w.f.BitsPerSample-1)
	for i := 0; i < n; {
		k := min(n-i, flacBlock-w.n)
		for c := range src {
			for j, x := range src[c][i : i+k] {
				w.block[c][w.n+j] = quantize(x, scale)
			}
		}
		w.n += k
		i += k
		if w.n == flacBlock {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// quantize maps x in [-1, 1] to an integer sample of full scale scale (2^(bits-1)).
func quantize(x float32, scale float64) int32 {
	if x != x {
		return 0
	}
	v := math.Round(float64(x) * scale)
	return int32(max(-scale, min(scale-1, v)))
}

// flush encodes the frames in block.
func (w *flacWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	fr := &frame.Frame{
		Header: frame.Header{
			HasFixedBlockSize: true,
			BlockSize:         uint16(w.n),
			SampleRate:        w.rate,
			Channels:          frame.Channels(w.f.Channels - 1), // independent channels
			BitsPerSample:     uint8(w.f.BitsPerSample),
		},
		Subframes: make([]*frame.Subframe, w.f.Channels),
	}
	for c := range fr.Subframes {
		fr.Subframes[c] = &frame.Subframe{
			SubHeader: frame.SubHeader{Pred: frame.PredVerbatim}, // the encoder picks a predictor
			Samples:   w.block[c][:w.n],
			NSamples:  w.n,
		}
	}
	if err := w.enc.WriteFrame(fr); err != nil {
		w.err = flacErr(err)
		return w.err
	}
	w.total += int64(w.n)
	w.n = 0
	return nil
}

// Close encodes the last, partial block and rewrites STREAMINFO with the length, block
// sizes and MD5 sum.
func (w *flacWriter) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.enc.Close(); err != nil {
		w.err = flacErr(err)
		return w.err
	}
	// The encoder records the shortest block, the last, as STREAMINFO's minimum block size,
	// which readers (mewkiz/flac among them) reject below 16: the format excludes the last
	// block from it. A fixed-size stream's minimum and maximum are its block size.
	bs := uint16(flacBlock)
	if w.total < flacBlock {
		bs = uint16(max(16, w.total))
	}
	var b [4]byte
	binary.BigEndian.PutUint16(b[0:], bs)
	binary.BigEndian.PutUint16(b[2:], bs)
	if _, err := w.w.Seek(8, io.SeekStart); err != nil { // after "fLaC" and the block header
		w.err = fmt.Errorf("flac: patch STREAMINFO: %w", err)
		return w.err
	}
	if _, err := w.w.Write(b[:]); err != nil {
		w.err = fmt.Errorf("flac: patch STREAMINFO: %w", err)
	}
	return w.err
}
