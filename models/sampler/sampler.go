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
// (Start, Step, Finish) is the one implementation of the reverse-diffusion arithmetic:
// Sample drives it over a whole signal and models/streaming over one frame at a time, in
// either domain (waveform samples or compressed STFT bins), so both give the same numbers.
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

// Sample writes the enhanced signal for y into out. sigma is the prior's per-element
// standard deviation. Noise draws for y[i] come from noise at absolute index offset+i.
// out, y and sigma have the same length.
func (s *Sampler) Sample(out, y, sigma []float32, d Denoiser, noise Noise, offset int64) error {
	n := len(y)
	if len(out) != n || len(sigma) != n {
		return fmt.Errorf("sample: lengths out %d, y %d, sigma %d differ", len(out), n, len(sigma))
	}
	S := s.Steps()
	x := out
	z := make([]float32, n)
	eps := make([]float32, n)
	noise.Fill(z, S, offset)
	s.Start(x, y, sigma, z)
	for k := S - 1; k >= 0; k-- {
		if err := d.Eps(eps, x, y, s.T(k)); err != nil {
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
