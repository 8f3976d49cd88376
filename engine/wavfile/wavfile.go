// Package wavfile enhances audio files (WAV, FLAC, MP3: whatever dsp/audiofile reads) of
// any rate and channel count with the offline engine, in bounded memory: it streams the
// input, resamples each channel to the model's rate and back, and writes the result
// atomically in the codec the output's name asks for (dsp/audiofile: .wav or .flac) and
// the input's rate, channels and sample format as far as that codec holds it.
package wavfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/restoregrad/restoregrad/dsp/audiofile"
	"github.com/restoregrad/restoregrad/dsp/sanitize"
	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// Options control one file's enhancement.
type Options struct {
	Steps int
	// Noise is the diffusion noise of each channel (models.Runner.Noise); channel c's
	// output equals the whole-signal run of channel c with Noise(c).
	Noise    func(channel uint64) sampler.Noise
	Chunk    engine.ChunkConfig
	InputRMS float64 // when > 0, scale each channel to this RMS before enhancing (undone after)
	// Progress, when set, is called with input frames done and the total.
	Progress func(done, total int64)
}

// Result describes an enhanced file.
type Result struct {
	Format  audiofile.Format // the input's
	Output  audiofile.Format // what was written
	Frames  int64
	Seconds float64
	// Replaced counts the input samples that were NaN, infinite or beyond full scale (only
	// a float WAV can hold them): they were enhanced as 0 or ±1 (dsp/sanitize).
	Replaced int64
}

// blockFrames is how many input frames are read at a time.
const blockFrames = 1 << 15

// Enhance reads in, enhances every channel, and writes out atomically: on any error no
// file is left at out. in and out must differ.
func Enhance(ctx context.Context, enh engine.Enhancer, in, out string, opt Options) (Result, error) {
	if opt.Noise == nil {
		return Result{}, errors.New("wavfile: no noise (Options.Noise)")
	}
	if same, err := sameFile(in, out); err != nil {
		return Result{}, err
	} else if same {
		return Result{}, fmt.Errorf("%s: output would overwrite the input", out)
	}
	r, err := audiofile.Open(in)
	if err != nil {
		return Result{}, err
	}
	defer r.Close()
	format := r.Format()
	total := r.Frames()
	if total == 0 {
		return Result{}, fmt.Errorf("%s: no audio", in)
	}
	gains := make([]float32, format.Channels)
	for c := range gains {
		gains[c] = 1
	}
	if opt.InputRMS > 0 { // otherwise every gain is 1 (engine.InputGain): skip the pass over the file
		if gains, err = channelGains(in, opt.InputRMS); err != nil {
			return Result{}, err
		}
	}

	outFormat, err := audiofile.OutputFormat(out, format)
	if err != nil {
		return Result{}, err
	}
	w, err := audiofile.Create(out, outFormat)
	if err != nil {
		return Result{}, err
	}
	defer w.Abort() // after Commit, nothing

	chans := make([]*channel, format.Channels)
	for c := range chans {
		if chans[c], err = newChannel(enh, format.SampleRate, opt, uint64(c), gains[c]); err != nil {
			return Result{}, fmt.Errorf("%s: %w", in, err)
		}
	}
	block := make([][]float32, format.Channels)
	for c := range block {
		block[c] = make([]float32, blockFrames)
	}
	var done, replaced int64
	for {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		n, rerr := r.Read(block)
		if n > 0 {
			for c, ch := range chans {
				replaced += int64(sanitize.Samples(block[c][:n]))
				if err := ch.write(block[c][:n]); err != nil {
					return Result{}, fmt.Errorf("%s: %w", in, err)
				}
			}
			if err := writeReady(w, chans, false); err != nil {
				return Result{}, err
			}
			done += int64(n)
			if opt.Progress != nil {
				opt.Progress(done, max(total, done))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return Result{}, rerr // names the file
		}
	}
	if done == 0 {
		return Result{}, fmt.Errorf("%s: no audio", in)
	}
	for _, ch := range chans {
		if err := ch.flush(done); err != nil {
			return Result{}, fmt.Errorf("%s: %w", in, err)
		}
	}
	if err := writeReady(w, chans, true); err != nil {
		return Result{}, err
	}
	if err := w.Commit(); err != nil {
		return Result{}, err
	}
	return Result{
		Format: format, Output: outFormat, Frames: done, Replaced: replaced,
		Seconds: float64(done) / float64(format.SampleRate),
	}, nil
}

// writeReady writes the frames every channel has ready. Writer errors name the file.
func writeReady(w *audiofile.Writer, chans []*channel, final bool) error {
	n := len(chans[0].out)
	for _, ch := range chans[1:] {
		n = min(n, len(ch.out))
	}
	if final {
		for _, ch := range chans {
			if len(ch.out) != n {
				return fmt.Errorf("internal: channel lengths differ at the end (%d vs %d)", len(ch.out), n)
			}
		}
	}
	if n == 0 {
		return nil
	}
	frames := make([][]float32, len(chans))
	for c, ch := range chans {
		frames[c] = ch.out[:n]
	}
	if err := w.Write(frames); err != nil {
		return err
	}
	for _, ch := range chans {
		ch.out = append(ch.out[:0], ch.out[n:]...)
	}
	return nil
}

// channel carries one channel through resample → enhance → resample.
type channel struct {
	down, up *aligned
	off      *engine.Offline
	out      []float32 // output frames not yet written
	produced int64     // output frames made so far, written or not
	scratch  []float32
}

func newChannel(enh engine.Enhancer, rate int, opt Options, stream uint64, gain float32) (*channel, error) {
	down, err := newAligned(rate, enh.SampleRate())
	if err != nil {
		return nil, err
	}
	up, err := newAligned(enh.SampleRate(), rate)
	if err != nil {
		return nil, err
	}
	off, err := engine.NewOffline(enh, opt.Chunk, opt.Steps, opt.Noise(stream), gain)
	if err != nil {
		return nil, err
	}
	return &channel{down: down, up: up, off: off}, nil
}

func (c *channel) emit(p []float32) error {
	n := len(c.out)
	c.out = c.up.process(c.out, p)
	c.produced += int64(len(c.out) - n)
	return nil
}

func (c *channel) write(x []float32) error {
	c.scratch = c.down.process(c.scratch[:0], x)
	return c.off.Write(c.scratch, c.emit)
}

// flush drains every stage; frames is the input length, which the output matches.
func (c *channel) flush(frames int64) error {
	c.scratch = c.down.flush(c.scratch[:0])
	if err := c.off.Write(c.scratch, c.emit); err != nil {
		return err
	}
	if err := c.off.Flush(c.emit); err != nil {
		return err
	}
	n := len(c.out)
	c.out = c.up.flush(c.out)
	c.produced += int64(len(c.out) - n)
	// Rounding up in both conversions can leave a frame or two extra; the output has
	// exactly the input's length.
	excess := c.produced - frames
	if excess < 0 || excess > int64(len(c.out)) {
		return fmt.Errorf("internal: %d output frames for %d input frames", c.produced, frames)
	}
	c.out = c.out[:int64(len(c.out))-excess]
	c.produced = frames
	return nil
}

// channelGains measures each channel's RMS in a first pass and returns the gain that
// brings it to target (capped so near-silence is not blown up).
func channelGains(name string, target float64) ([]float32, error) {
	r, err := audiofile.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ch := r.Format().Channels
	sums := make([]float64, ch)
	var n int64
	block := make([][]float32, ch)
	for c := range block {
		block[c] = make([]float32, blockFrames)
	}
	for {
		k, err := r.Read(block)
		for c := range block {
			sanitize.Samples(block[c][:k]) // as Enhance will see them
			for _, v := range block[c][:k] {
				sums[c] += float64(v) * float64(v)
			}
		}
		n += int64(k)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	gains := make([]float32, ch)
	for c := range gains {
		rms := math.Sqrt(sums[c] / math.Max(1, float64(n)))
		gains[c] = engine.InputGain(rms, target)
	}
	return gains, nil
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
