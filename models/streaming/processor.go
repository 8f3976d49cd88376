package streaming

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// Options configure a Processor. The zero value uses one ONNX Runtime thread, the model's
// default step count and noise seed 0.
type Options struct {
	Threads  int // ONNX Runtime intra-op threads (0 = 1)
	Steps    int // initial step count (0 = the model's default)
	MaxSteps int // largest step count SetSteps accepts (0 = max(default, Steps))
	Seed     uint64
	// Noise overrides the counter noise of Seed (tests replay fixed draws with it). Draws
	// are requested at absolute sample indices from the last Reset, as the whole-file
	// sampler requests them from index 0.
	Noise sampler.Noise
}

// Processor runs a streaming bundle frame by frame; it implements engine.FrameProcessor.
//
// Each hop: the prior step graph gives σ for the hop; the sampler's start x = b'·y +
// sqrt(δ')·σ⊙z is formed; then the S reverse steps run in turn on this hop, each through
// the denoiser step graph with its own cache set (slot n holds the stream of reverse step
// n), each followed by the posterior update of models/BUNDLE.md. The output hop is the
// input hop (no delay beyond the frame). With the same noise draws the output equals the
// whole-signal run of the bundle's denoiser/prior graphs, to float tolerance.
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

	y, x, eps, sigma *tensor // shared by all streams (they never run at once)
	z                []float32
	prior            *stream
	slots            []*slot // slot n: reverse step n's stream
	chains           []chain // chains[S]: S-step schedule
	steps, maxSteps  int
	noise            sampler.Noise
	pos              int64 // absolute index of the next hop's first sample
	timing           frameTimes
}

type slot struct {
	st *stream
	t  *tensor // [1]: this step's continuous training step
}

// chain is the sampler for one step count: models/sampler's Process coefficients and
// aligned steps, arranged per reverse step exactly as sampler.Sampler.Sample uses them.
type chain struct {
	startB, startSD float32
	t               []float64
	step            []stepCoef
	blend           float32
}

type stepCoef struct {
	a, b, sd               float64 // x0 = (x − b·y − sd·ε)/a
	wx0, wxt, aPrev, bPrev float64
	c                      float64
	std                    float32
}

// Open loads a streaming bundle's step graphs and allocates every tensor it will use.
func Open(b *bundle.Bundle, opt Options) (p *Processor, err error) {
	m := &b.Manifest
	c, err := ParseContract(m)
	if err != nil {
		return nil, err
	}
	steps := opt.Steps
	if steps == 0 {
		steps = m.DefaultSteps
	}
	maxSteps := opt.MaxSteps
	if maxSteps == 0 {
		maxSteps = max(m.DefaultSteps, steps)
	}
	if steps < 1 || steps > maxSteps || maxSteps > len(m.TrainingBetas) {
		return nil, fmt.Errorf("model %s: steps %d, max steps %d: want 1 ≤ steps ≤ max ≤ %d", m.Name, steps, maxSteps, len(m.TrainingBetas))
	}
	p = &Processor{b: b, c: c, hop: c.Hop, maxSteps: maxSteps, noise: opt.Noise}
	if p.noise == nil {
		p.noise = sampler.CounterNoise{Seed: opt.Seed}
	}
	defer func() {
		if err != nil {
			p.Close()
			p = nil
		}
	}()
	train, err := sampler.NewProcess(m.TrainingBetas)
	if err != nil {
		return nil, fmt.Errorf("model %s: training schedule: %w", m.Name, err)
	}
	p.chains = make([]chain, maxSteps+1)
	for s := 1; s <= maxSteps; s++ {
		betas, err := m.Schedule(s)
		if err != nil {
			return nil, err
		}
		if p.chains[s], err = newChain(train, betas, m.FinalBlend); err != nil {
			return nil, fmt.Errorf("model %s: %d-step schedule: %w", m.Name, s, err)
		}
	}
	if p.den, err = openGraph(b, DenoiserStep, c.Networks[DenoiserStep], opt.Threads); err != nil {
		return nil, err
	}
	if p.pri, err = openGraph(b, PriorStep, c.Networks[PriorStep], opt.Threads); err != nil {
		return nil, err
	}
	h := int64(p.hop)
	for _, t := range []**tensor{&p.y, &p.x, &p.eps, &p.sigma} {
		if *t, err = newTensor(1, 1, h); err != nil {
			return nil, err
		}
	}
	p.z = make([]float32, p.hop)
	if p.prior, err = p.pri.newStream([]*tensor{p.y}, p.sigma); err != nil {
		return nil, err
	}
	p.slots = make([]*slot, maxSteps)
	for n := range p.slots {
		sl := &slot{}
		if sl.t, err = newTensor(1); err != nil {
			return nil, err
		}
		p.slots[n] = sl
		if sl.st, err = p.den.newStream([]*tensor{p.y, p.x, sl.t}, p.eps); err != nil {
			return nil, err
		}
	}
	p.setChain(steps)
	p.timing.init(1 << 14)
	return p, nil
}

func newChain(train sampler.Process, betas []float64, blend float64) (chain, error) {
	if blend < 0 || blend >= 1 {
		return chain{}, fmt.Errorf("final blend %v outside [0, 1)", blend)
	}
	p, err := sampler.NewProcess(betas)
	if err != nil {
		return chain{}, err
	}
	last := p.Len() - 1
	c := chain{
		startB: float32(p.B[last]), startSD: float32(math.Sqrt(p.Delta[last])),
		t: sampler.AlignSteps(train, p), step: make([]stepCoef, p.Len()), blend: float32(blend),
	}
	for k := range c.step {
		s := stepCoef{a: p.A[k], b: p.B[k], sd: math.Sqrt(p.Delta[k])}
		if k > 0 { // posterior q(x_{k−1} | x_k, x0, y): the terms sampler.Sample forms
			kk := p.A[k] / p.A[k-1]
			s.c = p.B[k] - kk*p.B[k-1]
			dPrev := p.Delta[k-1]
			dTrans := math.Max(0, p.Delta[k]-kk*kk*dPrev)
			s.wx0 = dTrans / p.Delta[k]
			s.wxt = dPrev * kk / p.Delta[k]
			s.aPrev, s.bPrev = p.A[k-1], p.B[k-1]
			s.std = float32(math.Sqrt(dTrans * dPrev / p.Delta[k]))
		}
		c.step[k] = s
	}
	return c, nil
}

// setChain writes the step inputs of an S-step chain into the slots.
func (p *Processor) setChain(steps int) {
	for n, t := range p.chains[steps].t {
		p.slots[n].t.data[0] = float32(t)
	}
	p.steps = steps
}

// Close releases the sessions and tensors.
func (p *Processor) Close() error {
	if p.prior != nil {
		p.prior.destroy()
	}
	for _, s := range p.slots {
		if s != nil {
			if s.st != nil {
				s.st.destroy()
			}
			s.t.destroy()
		}
	}
	for _, t := range []*tensor{p.y, p.x, p.eps, p.sigma} {
		t.destroy()
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
// causal bundle, whose look-ahead (stride − 1 samples) lies inside the hop.
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
	if n < 1 || n > p.maxSteps {
		return fmt.Errorf("steps %d outside 1..%d", n, p.maxSteps)
	}
	if n == p.steps {
		return nil
	}
	old, next := p.chains[p.steps].t, p.chains[n].t
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

// Reset forgets the stream: caches back to silence, noise indices back to 0.
func (p *Processor) Reset() {
	p.prior.reset()
	for _, s := range p.slots {
		s.st.reset()
	}
	p.pos = 0
}

// Process enhances one hop: in and out hold FrameSize samples each, out[i] is in[i]
// enhanced. It does not allocate.
func (p *Processor) Process(out, in []float32) error {
	if len(in) != p.hop || len(out) != p.hop {
		return fmt.Errorf("streaming: frame of %d/%d samples, want %d", len(in), len(out), p.hop)
	}
	start := time.Now()
	y, x, sigma, eps, z := p.y.data, p.x.data, p.sigma.data, p.eps.data, p.z
	copy(y, in)
	if err := p.prior.run(); err != nil {
		return err
	}
	ch := &p.chains[p.steps]
	S := len(ch.step)
	// The same arithmetic, in the same order, as sampler.Sampler.Sample.
	p.noise.Fill(z, S, p.pos)
	b, sd := ch.startB, ch.startSD
	for i := range x {
		x[i] = b*y[i] + sd*sigma[i]*z[i]
	}
	for k := S - 1; k >= 0; k-- {
		if err := p.slots[k].st.run(); err != nil {
			return fmt.Errorf("step %d of %d: %w", S-k, S, err)
		}
		s := &ch.step[k]
		if k == 0 {
			for i := range x {
				x[i] = float32((float64(x[i]) - s.b*float64(y[i]) - s.sd*float64(eps[i])) / s.a)
			}
			break
		}
		p.noise.Fill(z, k, p.pos)
		for i := range x {
			xi, yi := float64(x[i]), float64(y[i])
			x0 := (xi - s.b*yi - s.sd*float64(eps[i])) / s.a
			mean := s.wx0*(s.aPrev*x0+s.bPrev*yi) + s.wxt*(xi-s.c*yi)
			x[i] = float32(mean) + s.std*sigma[i]*z[i]
		}
	}
	if g := ch.blend; g > 0 {
		for i := range x {
			x[i] = (1-g)*x[i] + g*y[i]
		}
	}
	copy(out, x)
	p.pos += int64(p.hop)
	p.timing.add(time.Since(start))
	return nil
}

// FrameStats summarises the time Process took per frame.
type FrameStats struct {
	Frames        int
	P50, P99, Max time.Duration
	Mean          time.Duration
}

// FrameStats reports per-frame processing times over the last 16384 frames (up to 2.7
// minutes at a 10 ms hop) since ResetFrameStats; it allocates and may be slow.
func (p *Processor) FrameStats() FrameStats { return p.timing.stats() }

// ResetFrameStats forgets the recorded frame times.
func (p *Processor) ResetFrameStats() { p.timing.n = 0 }

// frameTimes is a ring of the most recent per-frame durations.
type frameTimes struct {
	ring []time.Duration
	n    int // frames recorded
}

func (f *frameTimes) init(size int) { f.ring = make([]time.Duration, size) }

func (f *frameTimes) add(d time.Duration) {
	f.ring[f.n%len(f.ring)] = d
	f.n++
}

func (f *frameTimes) stats() FrameStats {
	k := min(f.n, len(f.ring))
	if k == 0 {
		return FrameStats{}
	}
	d := slices.Clone(f.ring[:k])
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	q := func(p float64) time.Duration { return d[min(k-1, int(math.Ceil(p*float64(k)))-1)] }
	return FrameStats{Frames: f.n, P50: q(0.50), P99: q(0.99), Max: d[k-1], Mean: sum / time.Duration(k)}
}
