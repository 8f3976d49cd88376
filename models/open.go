package models

import (
	"errors"
	"fmt"
	"io"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/sampler"
	"github.com/restoregrad/restoregrad/models/streaming"
	"github.com/restoregrad/restoregrad/models/zoo"
)

// Options say how to run a model. The zero value runs the bundle's default step count on
// one CPU thread, with the ONNX Runtime library ort.LibraryPath finds and noise seed 0.
type Options struct {
	Steps int // reverse diffusion steps; 0: the bundle's default
	// MaxSteps is the largest step count a frame processor may switch to; it is lowered to
	// the most steps the bundle has (its full schedule), then raised to Steps and to the
	// bundle's default.
	MaxSteps    int
	Threads     int          // ONNX Runtime intra-op threads per session (0: 1)
	Provider    ort.Provider // "" or ort.CPU, or ort.CUDA
	CPUFallback bool         // with ort.CUDA: run on the CPU when CUDA is unavailable
	// ORTLib is the ONNX Runtime library to load ("": $ORT_LIB, then ort.LibraryPath's
	// search). The first load in a process wins; asking for another library then fails.
	ORTLib string
	Seed   uint64 // seed of the diffusion noise
}

// Runtime loads ONNX Runtime (once per process) and returns the session options, for
// graphs that are not bundles (peers, judges). A failure to load it is a *RuntimeError.
func (o Options) Runtime() (ort.Options, error) {
	if err := ort.Init(o.ORTLib); err != nil {
		return ort.Options{}, &RuntimeError{err}
	}
	return ort.Options{Threads: o.Threads, Provider: o.Provider, CPUFallback: o.CPUFallback}, nil
}

// RuntimeError says that ONNX Runtime could not be loaded, so that a caller which knows
// where the library should be (the plugin, for its own folder) can say so.
type RuntimeError struct{ Err error }

func (e *RuntimeError) Error() string { return e.Err.Error() }
func (e *RuntimeError) Unwrap() error { return e.Err }

// Runner is a model bundle opened for use, whatever its kind: Offline gives the
// whole-signal enhancer (for a streaming bundle, its whole-signal graphs), Frames a frame
// processor for live use (for an offline bundle, the whole-signal model run in blocks).
// Close releases everything it opened. A Runner's methods are for one goroutine; the Model
// it gives is safe for concurrent use, each frame processor for one goroutine.
type Runner struct {
	b       *bundle.Bundle
	opt     Options // Steps and MaxSteps resolved
	rt      ort.Options
	whole   *Model
	closers []io.Closer
}

// Open finds the bundle spec names (a shipped or user bundle, or a bundle folder's path;
// see zoo.Find) and opens it with opt.
func Open(spec string, opt Options) (*Runner, error) {
	b, err := zoo.Find(spec)
	if err != nil {
		return nil, err
	}
	return OpenBundle(b, opt)
}

// OpenBundle opens a loaded bundle with opt: it loads ONNX Runtime and resolves the step
// counts; the graphs are loaded by Offline, Frames and ChannelFrames.
func OpenBundle(b *bundle.Bundle, opt Options) (*Runner, error) {
	m := &b.Manifest
	if m.Kind != bundle.KindOffline && m.Kind != bundle.KindStreaming {
		return nil, fmt.Errorf("model %s: %s bundles are not supported by this build", m.Name, m.Kind)
	}
	if m.Kind == bundle.KindStreaming {
		if _, err := streaming.ParseContract(m); err != nil {
			return nil, err
		}
	}
	var err error
	if opt.Steps, err = m.ResolveSteps(opt.Steps); err != nil {
		return nil, err
	}
	opt.MaxSteps = max(min(opt.MaxSteps, len(m.TrainingBetas)), opt.Steps, m.DefaultSteps)
	if _, err := m.Schedule(opt.MaxSteps); err != nil {
		return nil, err
	}
	rt, err := opt.Runtime()
	if err != nil {
		return nil, err
	}
	return &Runner{b: b, opt: opt, rt: rt}, nil
}

// OpenOffline is OpenBundle followed by Runner.Offline, for callers that need only the
// whole-signal model (of either kind of bundle); closing the model releases it.
func OpenOffline(b *bundle.Bundle, opt Options) (*Model, error) {
	r, err := OpenBundle(b, opt)
	if err != nil {
		return nil, err
	}
	return r.Offline()
}

// Bundle is the opened bundle.
func (r *Runner) Bundle() *bundle.Bundle { return r.b }

// Manifest describes the model.
func (r *Runner) Manifest() *bundle.Manifest { return &r.b.Manifest }

// Options are the options the runner was opened with, Steps and MaxSteps resolved.
func (r *Runner) Options() Options { return r.opt }

// Steps is the step count to run at: Options.Steps, or the bundle's default.
func (r *Runner) Steps() int { return r.opt.Steps }

// StepList resolves a list of requested step counts as Steps does each one; an empty list
// means the step count the runner was opened with.
func (r *Runner) StepList(list []int) ([]int, error) {
	if len(list) == 0 {
		return []int{r.opt.Steps}, nil
	}
	out := make([]int, len(list))
	for i, s := range list {
		var err error
		if out[i], err = r.b.Manifest.ResolveSteps(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Noise is the diffusion noise of the runner's seed (Options.Seed) for one stream of it,
// one per channel of a signal: the one place the seed becomes noise, so that enhancing a
// file, scoring it and running it frame by frame draw the same numbers for a channel.
func (r *Runner) Noise(stream uint64) sampler.Noise {
	return sampler.CounterNoise{Seed: r.opt.Seed, Stream: stream}
}

// InputRMS is the level whole-signal use scales its input to before enhancing (undone
// after); 0: none. See engine.InputGain.
func (r *Runner) InputRMS() float64 { return r.b.Manifest.InputRMS }

// Offline returns the whole-signal enhancer, loading it on the first call: an offline
// bundle's graphs, or a streaming bundle's whole-signal ones (the same network, so a file
// enhanced by it equals the stream up to float error).
func (r *Runner) Offline() (*Model, error) {
	if r.whole != nil {
		return r.whole, nil
	}
	b := r.b
	if b.Manifest.Kind == bundle.KindStreaming {
		off := *b
		off.Manifest.Kind = bundle.KindOffline
		b = &off
	}
	m, err := openOffline(b, r.rt)
	if err != nil {
		return nil, err
	}
	r.whole = m
	return m, nil
}

// NativeFrames reports whether Frames runs frame-step graphs (a streaming bundle) rather
// than the whole-signal model in blocks.
func (r *Runner) NativeFrames() bool { return r.b.Manifest.Kind == bundle.KindStreaming }

// FrameProcessor is what Frames returns, and what engine.Realtime and engine.Limited wrap
// (engine.FrameProcessor is this type): a mono stream at SampleRate, one FrameSize frame per
// Process call. Process writes out from in (they do not alias); out lags in by Latency
// samples, which is how far a dry path is delayed to stay aligned. SetSteps changes the
// reverse step count from the next frame on (1 ≤ n ≤ MaxSteps, Steps the current one);
// engine's controller lowers it under load. Reset forgets the stream state, as at the start
// of a new utterance. All calls come from one goroutine. It is declared here, not in engine,
// so that the runtime imports nothing above it.
type FrameProcessor interface {
	SampleRate() int
	FrameSize() int
	Latency() int
	Process(out, in []float32) error
	Steps() int
	MaxSteps() int
	SetSteps(n int) error
	Reset()
}

// Block sizes for running an offline bundle live: each 100 ms frame is enhanced inside a
// window with context on each side, at least 50 ms and at least the bundle's receptive field
// (Context), so that every output sample sees what it sees in whole-signal use. The margin
// is also the added latency, and the compute is (frame + 2·margin)/frame times whole-file
// use: 2× for a bundle with up to 50 ms of context, 11× and 500 ms of latency for
// restoregrad-offline (Context 0.5 s). live reports the latency in its status line.
const (
	blockFrameSeconds  = 0.100
	blockMarginSeconds = 0.050
)

// Frames returns a new frame processor at Steps (switchable up to MaxSteps) with its own
// stream state: a streaming bundle's frame-step graphs, one hop per frame with no latency
// beyond the hop; an offline bundle's model run in 100 ms blocks with max(Context, 50 ms)
// of context on each side (that much more latency; see blockFrameSeconds). Process
// allocates nothing, except for an offline STFT-domain bundle, whose analysis and
// synthesis allocate per block. It draws the noise of a signal's first channel: a mono
// signal's output equals whole-signal use. A bundle that scales its input by the whole
// signal's RMS (input_rms > 0) has no frame processor: Frames fails.
func (r *Runner) Frames() (FrameProcessor, error) { return r.frames(0) }

// ChannelFrames returns one frame processor per channel of a signal, each as Frames makes
// it but drawing its noise from its own stream of Seed, as enhancing a file does for its
// channels (engine/wavfile): channel c's output equals enhance's for channel c. On an
// error, the processors already opened are released by Close.
func (r *Runner) ChannelFrames(channels int) ([]FrameProcessor, error) {
	ps := make([]FrameProcessor, channels)
	for c := range ps {
		p, err := r.frames(uint64(c))
		if err != nil {
			return nil, fmt.Errorf("channel %d: %w", c, err)
		}
		ps[c] = p
	}
	return ps, nil
}

// frames opens a frame processor drawing noise stream stream of Seed.
func (r *Runner) frames(stream uint64) (FrameProcessor, error) {
	noise := r.Noise(stream)
	if r.NativeFrames() {
		p, err := streaming.Open(r.b, streaming.Options{Runtime: r.rt, Steps: r.opt.Steps, MaxSteps: r.opt.MaxSteps, Noise: noise})
		if err != nil {
			return nil, err
		}
		r.closers = append(r.closers, p)
		return p, nil
	}
	if rms := r.InputRMS(); rms > 0 {
		// Whole-signal use scales the input to input_rms by the whole signal's RMS, which a
		// stream does not know: frames would differ from enhance's output.
		return nil, fmt.Errorf("model %s scales its input to RMS %g over the whole signal (input_rms), which a stream cannot; it runs on files only (enhance)", r.b.Manifest.Name, rms)
	}
	m, err := r.Offline()
	if err != nil {
		return nil, err
	}
	rate := float64(m.SampleRate())
	frame := int(blockFrameSeconds * rate)
	margin := max(m.Context(), int(blockMarginSeconds*rate))
	var enh StepEnhancer = m
	if !m.Manifest().IsSTFT() { // a waveform model runs its fixed window allocation-free
		w, err := newWindow(m, frame+2*margin)
		if err != nil {
			return nil, err
		}
		r.closers = append(r.closers, w)
		enh = w
	}
	return NewBlockProcessor(enh, frame, margin, r.opt.Steps, r.opt.MaxSteps, noise)
}

// Close releases every session the runner opened.
func (r *Runner) Close() error {
	var errs []error
	for _, c := range r.closers {
		errs = append(errs, c.Close())
	}
	if r.whole != nil {
		errs = append(errs, r.whole.Close())
	}
	r.closers, r.whole = nil, nil
	return errors.Join(errs...)
}
