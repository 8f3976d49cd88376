package streaming

import (
	"cmp"
	"errors"
	"fmt"
	"math"

	"github.com/restoregrad/restoregrad/dsp/spectral"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// Options configure a Processor: Noise must be set; the other fields' zero values use one
// ONNX Runtime thread on the CPU and the model's default step count.
type Options struct {
	Runtime  ort.Options // ONNX Runtime threads and execution provider
	Steps    int         // initial step count (0 = the model's default)
	MaxSteps int         // largest step count SetSteps accepts (0 = max(default, Steps))
	// Noise gives the diffusion noise (models.Runner.Noise; required). Draws are requested at the whole-file sampler's counter indices, counted from the last
	// Reset: absolute sample indices (waveform bundles) or frame-major bin indices
	// j·2F + c·F + k (STFT bundles).
	Noise sampler.Noise
}

// Processor runs a streaming bundle frame by frame; it implements engine.FrameProcessor.
//
// Each hop: the frame's y is formed (the hop's samples for a waveform bundle; for an STFT
// bundle the compressed STFT of the last n_fft samples, [2][F] values); the prior step graph
// gives σ for it; the sampler's start x = b'·y + sqrt(δ')·σ⊙z is formed; then the S reverse
// steps run in turn on this frame, each through the denoiser step graph with its own cache
// set (slot n holds the stream of reverse step n), each followed by models/sampler's step
// kernel. A waveform bundle's output hop is the input hop; an STFT bundle's frame is
// decompressed and overlap-added, which completes the hop before it (Latency = n_fft − hop).
// With the same noise draws the output equals the whole-signal run of the bundle's
// denoiser/prior graphs, to float tolerance.
//
// Step changes: SetSteps(n) re-seats the caches of the n new reverse steps from the running
// chain's step nearest in noise level (continuous training step t), so the new chain starts
// from a past of the right noise level instead of silence; no compute and no allocation.
// The chain has finite memory, so after n·Context() samples the output is again exactly the
// n-step whole-file output (tested).
//
// Process must not be called concurrently with any other method. After Process returns an
// error the caches may be part-way through a hop: call Reset.
type Processor struct {
	b        *bundle.Bundle
	c        *Contract
	hop      int
	den, pri *graph

	y, x, eps, sigma *ort.Buffer // one frame each, shared by all streams (they never run at once)
	z                []float32
	prior            *stream
	slots            []*slot        // slot n: reverse step n's stream
	samplers         *sampler.Table // the S-step chains, S = 1..maxSteps
	ts               [][]float64    // ts[S]: the S-step chain's continuous training steps
	steps, maxSteps  int
	noise            sampler.Noise
	frame            int64 // index of the next frame since the last Reset

	// STFT bundles only: the front end, one frame in and one hop out per call.
	analyzer    *spectral.CompressedAnalyzer
	synthesizer *spectral.CompressedSynthesizer
}

type slot struct {
	st *stream
	t  *ort.Buffer // [1]: this step's continuous training step
}

// Open loads a streaming bundle's step graphs and allocates every tensor it will use.
func Open(b *bundle.Bundle, opt Options) (*Processor, error) {
	m := &b.Manifest
	c, err := ParseContract(m)
	if err != nil {
		return nil, err
	}
	steps := cmp.Or(opt.Steps, m.DefaultSteps)
	maxSteps := cmp.Or(opt.MaxSteps, max(m.DefaultSteps, steps))
	samplers, err := sampler.NewTable(m.TrainingBetas, m.Schedule, m.FinalBlend, maxSteps)
	if err != nil {
		return nil, err
	}
	if _, err := samplers.Get(steps); err != nil {
		return nil, fmt.Errorf("model %s: %w", m.Name, err)
	}
	if opt.Noise == nil {
		return nil, fmt.Errorf("model %s: no diffusion noise (streaming.Options.Noise)", m.Name)
	}
	p := &Processor{b: b, c: c, hop: c.Hop, samplers: samplers, maxSteps: maxSteps, noise: opt.Noise}
	// p, not a named result: `return nil, err` must not hide it from the cleanup.
	if err := p.open(opt.Runtime, steps); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Processor) open(opt ort.Options, steps int) error {
	b, c, m := p.b, p.c, &p.b.Manifest
	p.ts = make([][]float64, p.maxSteps+1)
	for s := 1; s <= p.maxSteps; s++ {
		sm, err := p.samplers.Get(s)
		if err != nil {
			return err
		}
		p.ts[s] = sm.TrainingSteps()
	}
	shape := []int64{1, 1, int64(p.hop)}
	if m.IsSTFT() {
		front, err := m.FrontEnd()
		if err != nil {
			return err
		}
		p.analyzer, p.synthesizer = front.NewAnalyzer(), front.NewSynthesizer()
		shape = []int64{1, 2, 1, int64(m.STFT.Bins())}
	}
	var err error
	if p.den, err = openGraph(b, DenoiserStep, c.Networks[DenoiserStep], opt); err != nil {
		return err
	}
	if p.pri, err = openGraph(b, PriorStep, c.Networks[PriorStep], opt); err != nil {
		return err
	}
	for _, t := range []**ort.Buffer{&p.y, &p.x, &p.eps, &p.sigma} {
		if *t, err = ort.NewBuffer(shape...); err != nil {
			return err
		}
	}
	p.z = make([]float32, len(p.y.Data))
	if p.prior, err = p.pri.newStream([]*ort.Buffer{p.y}, p.sigma); err != nil {
		return err
	}
	p.slots = make([]*slot, p.maxSteps)
	for n := range p.slots {
		sl := &slot{}
		p.slots[n] = sl
		if sl.t, err = ort.NewBuffer(1); err != nil {
			return err
		}
		if sl.st, err = p.den.newStream([]*ort.Buffer{p.y, p.x, sl.t}, p.eps); err != nil {
			return err
		}
	}
	p.setChain(steps)
	return nil
}

// setChain writes the step inputs of an S-step chain into the slots.
func (p *Processor) setChain(steps int) {
	for n, t := range p.ts[steps] {
		p.slots[n].t.Data[0] = float32(t)
	}
	p.steps = steps
}

// Close releases the sessions and tensors. It is safe on a part-opened processor.
func (p *Processor) Close() error {
	if p.prior != nil {
		p.prior.destroy()
	}
	for _, s := range p.slots {
		if s != nil {
			if s.st != nil {
				s.st.destroy()
			}
			s.t.Close()
		}
	}
	for _, t := range []*ort.Buffer{p.y, p.x, p.eps, p.sigma} {
		t.Close()
	}
	var errs []error
	for _, g := range []*graph{p.den, p.pri} {
		if g != nil {
			errs = append(errs, g.close())
		}
	}
	p.slots, p.prior, p.den, p.pri = nil, nil, nil, nil
	return errors.Join(errs...)
}

// Bundle is the bundle the processor runs.
func (p *Processor) Bundle() *bundle.Bundle { return p.b }

// Contract is the bundle's streaming contract.
func (p *Processor) Contract() *Contract { return p.c }

// SampleRate is the model's rate.
func (p *Processor) SampleRate() int { return p.b.Manifest.SampleRate }

// FrameSize is the hop.
func (p *Processor) FrameSize() int { return p.hop }

// Latency is the delay of the output behind the input beyond the frame itself: 0 for a
// causal waveform bundle, whose look-ahead (stride − 1 samples) lies inside the hop;
// n_fft − hop for an STFT bundle (the overlap-add completes a hop one frame later).
func (p *Processor) Latency() int { return p.c.Latency }

// Lookahead is the model's look-ahead in samples (contained in the hop).
func (p *Processor) Lookahead() int { return p.c.Lookahead }

// Context is the receptive field of one network evaluation into the past, in samples.
func (p *Processor) Context() int { return p.b.Manifest.Context }

// Steps is the step count in use.
func (p *Processor) Steps() int { return p.steps }

// MaxSteps is the largest step count SetSteps accepts.
func (p *Processor) MaxSteps() int { return p.maxSteps }

// SetSteps changes the step count from the next hop on. The new chain's reverse step n
// takes over the caches of the running chain's step nearest in noise level; see Processor.
func (p *Processor) SetSteps(n int) error {
	if _, err := p.samplers.Get(n); err != nil {
		return err
	}
	if n == p.steps {
		return nil
	}
	old, next := p.ts[p.steps], p.ts[n]
	for j, t := range next {
		p.slots[j].st.stage(p.slots[nearest(old, t)].st)
	}
	for j := range next {
		p.slots[j].st.commit()
	}
	p.setChain(n)
	return nil
}

// nearest is the index of the value in ts closest to t (the first on a tie).
func nearest(ts []float64, t float64) int {
	best := 0
	for i, v := range ts {
		if math.Abs(v-t) < math.Abs(ts[best]-t) {
			best = i
		}
	}
	return best
}

// slotRun evaluates the denoiser step graph of reverse step k (sampler.Reverse's eval).
func (p *Processor) slotRun(k int) error { return p.slots[k].st.run() }

// Reset forgets the stream: caches and STFT history back to silence, noise indices back to 0.
func (p *Processor) Reset() {
	p.prior.reset()
	for _, s := range p.slots {
		s.st.reset()
	}
	if p.analyzer != nil {
		p.analyzer.Reset()
		p.synthesizer.Reset()
	}
	p.frame = 0
}

// Process enhances one hop: in and out hold FrameSize samples each; out lags in by
// Latency samples. It does not allocate.
func (p *Processor) Process(out, in []float32) error {
	if len(in) != p.hop || len(out) != p.hop {
		return fmt.Errorf("streaming: frame of %d/%d samples, want %d", len(in), len(out), p.hop)
	}
	y, x, sigma, eps, z := p.y.Data, p.x.Data, p.sigma.Data, p.eps.Data, p.z
	if p.analyzer != nil {
		if err := p.analyzer.Next(y, in); err != nil {
			return err
		}
	} else {
		copy(y, in)
	}
	if err := p.prior.run(); err != nil {
		return err
	}
	sm, err := p.samplers.Get(p.steps)
	if err != nil {
		return err
	}
	// Frame j's draws sit at counter indices j·len(y) onwards: sample indices for a
	// waveform bundle, the frame-major [T][2][F] index for an STFT one. Reverse step k
	// evaluates through slot k, whose caches and t are that step's.
	off := p.frame * int64(len(y))
	if err := sm.Reverse(x, y, sigma, eps, z, p.noise, off, p.slotRun); err != nil {
		return err
	}
	if p.synthesizer != nil {
		if err := p.synthesizer.Next(out, x); err != nil {
			return err
		}
		if p.frame == 0 {
			clear(out) // the hop before the stream began
		}
	} else {
		copy(out, x)
	}
	p.frame++
	return nil
}
