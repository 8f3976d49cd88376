package sampler

import (
	"fmt"
	"math"
)

// Denoiser predicts the diffusion noise ε from x_t, the noisy signal y and the continuous
// training-schedule step t. dst, xt and y have the same length.
type Denoiser interface {
	Eps(dst, xt, y []float32, t float32) error
}

// Sampler runs the reverse process for one inference schedule. Its elementwise kernel
// (Start, Step, Finish) is the one implementation of the reverse-diffusion arithmetic, and
// Reverse the one loop that drives it: Sample runs it over a whole signal, models' bound
// window over one block, and models/streaming over one frame at a time, in either domain
// (waveform samples or compressed STFT bins), so all of them give the same numbers.
type Sampler struct {
	train, infer    Process
	t               []float64
	blend           float64
	startB, startSD float32
	step            []stepCoef
}

// stepCoef holds reverse step k's coefficients: x0 = (x − b·y − sd·ε)/a, then (k > 0) the
// posterior mean wx0·(aPrev·x0 + bPrev·y) + wxt·(x − c·y) and standard deviation std·σ.
type stepCoef struct {
	a, b, sd               float64
	wx0, wxt, aPrev, bPrev float64
	c                      float64
	std                    float32
}

// New prepares a sampler: trainBetas is the schedule the denoiser was trained on, inferBetas
// the (usually shorter) one to sample with, blend CDiffuSE's final mix with y (0 = off).
func New(trainBetas, inferBetas []float64, blend float64) (*Sampler, error) {
	train, err := NewProcess(trainBetas)
	if err != nil {
		return nil, fmt.Errorf("training schedule: %w", err)
	}
	infer, err := NewProcess(inferBetas)
	if err != nil {
		return nil, fmt.Errorf("inference schedule: %w", err)
	}
	if blend < 0 || blend >= 1 {
		return nil, fmt.Errorf("final blend %v outside [0, 1)", blend)
	}
	last := infer.Len() - 1
	s := &Sampler{
		train: train, infer: infer, t: AlignSteps(train, infer), blend: blend,
		startB: float32(infer.B[last]), startSD: float32(math.Sqrt(infer.Delta[last])),
		step: make([]stepCoef, infer.Len()),
	}
	p := infer
	for k := range s.step {
		c := stepCoef{a: p.A[k], b: p.B[k], sd: math.Sqrt(p.Delta[k])}
		if k > 0 { // posterior q(x_{k−1} | x_k, x0, y)
			kk := p.A[k] / p.A[k-1]
			c.c = p.B[k] - kk*p.B[k-1]
			dPrev := p.Delta[k-1]
			dTrans := math.Max(0, p.Delta[k]-kk*kk*dPrev)
			c.wx0 = dTrans / p.Delta[k]
			c.wxt = dPrev * kk / p.Delta[k]
			c.aPrev, c.bPrev = p.A[k-1], p.B[k-1]
			c.std = float32(math.Sqrt(dTrans * dPrev / p.Delta[k]))
		}
		s.step[k] = c
	}
	return s, nil
}

// Steps is the number of denoiser evaluations per sample.
func (s *Sampler) Steps() int { return s.infer.Len() }

// TrainingSteps gives the continuous training step fed to the denoiser at each inference step.
func (s *Sampler) TrainingSteps() []float64 { return append([]float64(nil), s.t...) }

// T is the continuous training step fed to the denoiser at reverse step k.
func (s *Sampler) T(k int) float32 { return float32(s.t[k]) }

// Start writes the start state x = b'_{S−1}·y + sqrt(δ'_{S−1})·σ⊙z, z being the draw for
// step S. All slices have the same length; Start, Step and Finish never allocate.
func (s *Sampler) Start(x, y, sigma, z []float32) {
	b, sd := s.startB, s.startSD
	y, sigma, z = y[:len(x)], sigma[:len(x)], z[:len(x)]
	for i := range x {
		x[i] = b*y[i] + sd*sigma[i]*z[i]
	}
}

// Step advances x from reverse step k to k−1 given the denoiser's eps at step k: the x0
// estimate at k = 0 (z unused), else the posterior mean plus its standard deviation times
// σ⊙z, z being the draw for step k.
func (s *Sampler) Step(k int, x, y, eps, sigma, z []float32) {
	c := &s.step[k]
	y, eps = y[:len(x)], eps[:len(x)]
	if k == 0 {
		for i := range x {
			x[i] = float32((float64(x[i]) - c.b*float64(y[i]) - c.sd*float64(eps[i])) / c.a)
		}
		return
	}
	sigma, z = sigma[:len(x)], z[:len(x)]
	for i := range x {
		xi, yi := float64(x[i]), float64(y[i])
		x0 := (xi - c.b*yi - c.sd*float64(eps[i])) / c.a
		mean := c.wx0*(c.aPrev*x0+c.bPrev*yi) + c.wxt*(xi-c.c*yi)
		x[i] = float32(mean) + c.std*sigma[i]*z[i]
	}
}

// Finish applies the final blend x ← (1−γ)·x + γ·y.
func (s *Sampler) Finish(x, y []float32) {
	if s.blend <= 0 {
		return
	}
	g := float32(s.blend)
	y = y[:len(x)]
	for i := range x {
		x[i] = (1-g)*x[i] + g*y[i]
	}
}

// Reverse runs the reverse chain on x in place: the start state from y, sigma and the
// draw for step S, then for k = S−1 … 0 eval(k), which must leave in eps the denoiser's ε
// for x at reverse step k (training step T(k)), and Step with the draw for step k; then
// Finish. Draws for x[i] come from noise at counter index offset+i, through z, the scratch
// for one draw. All slices have x's length. Reverse allocates nothing (eval may): it is the
// one reverse-chain loop, whatever evaluates the denoiser.
func (s *Sampler) Reverse(x, y, sigma, eps, z []float32, noise Noise, offset int64, eval func(k int) error) error {
	S := s.Steps()
	noise.Fill(z, S, offset)
	s.Start(x, y, sigma, z)
	for k := S - 1; k >= 0; k-- {
		if err := eval(k); err != nil {
			return fmt.Errorf("step %d of %d: %w", S-k, S, err)
		}
		if k > 0 {
			noise.Fill(z, k, offset)
		}
		s.Step(k, x, y, eps, sigma, z)
	}
	s.Finish(x, y)
	return nil
}

// Sample writes the enhanced signal for y into out, evaluating d at each step (Reverse).
// sigma is the prior's per-element standard deviation. Noise draws for y[i] come from
// noise at absolute index offset+i. out, y and sigma have the same length.
func (s *Sampler) Sample(out, y, sigma []float32, d Denoiser, noise Noise, offset int64) error {
	n := len(y)
	if len(out) != n || len(sigma) != n {
		return fmt.Errorf("sample: lengths out %d, y %d, sigma %d differ", len(out), n, len(sigma))
	}
	z := make([]float32, n)
	eps := make([]float32, n)
	return s.Reverse(out, y, sigma, eps, z, noise, offset, func(k int) error {
		return d.Eps(eps, out, y, s.T(k))
	})
}

// Table holds a Sampler for every step count from 1 to Max: what a model needs to run at
// any step count it offers, and to change step counts without allocating.
type Table struct {
	s []*Sampler // s[n]: the n-step sampler; s[0] unused
}

// NewTable builds the samplers of 1 to maxSteps steps: schedule(n) gives the n-step
// inference betas; trainBetas and blend are as for New.
func NewTable(trainBetas []float64, schedule func(steps int) ([]float64, error), blend float64, maxSteps int) (*Table, error) {
	if maxSteps < 1 {
		return nil, fmt.Errorf("sampler table up to %d steps", maxSteps)
	}
	t := &Table{s: make([]*Sampler, maxSteps+1)}
	for n := 1; n <= maxSteps; n++ {
		betas, err := schedule(n)
		if err != nil {
			return nil, err
		}
		if t.s[n], err = New(trainBetas, betas, blend); err != nil {
			return nil, fmt.Errorf("%d-step schedule: %w", n, err)
		}
	}
	return t, nil
}

// Max is the largest step count the table holds.
func (t *Table) Max() int { return len(t.s) - 1 }

// Get is the sampler for steps, or an error when the table holds none (steps outside
// 1..Max): the one check of a step count against what a model can run.
func (t *Table) Get(steps int) (*Sampler, error) {
	if steps < 1 || steps > t.Max() {
		return nil, fmt.Errorf("steps %d outside 1..%d", steps, t.Max())
	}
	return t.s[steps], nil
}
