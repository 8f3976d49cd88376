// Package sampler implements RestoreGrad's reverse diffusion: CDiffuSE's interpolating
// process with noise whose per-sample standard deviation comes from a learned prior.
// models/BUNDLE.md gives the formulas; this package follows it line by line.
package sampler

import (
	"fmt"
	"math"
)

// Process holds the per-step coefficients of the interpolating forward process
// x_n = a_n·x0 + b_n·y + sqrt(δ_n)·ε for one beta schedule (index 0 = least noisy).
type Process struct {
	Betas    []float64
	AlphaBar []float64 // ᾱ_n = Π_{s≤n} (1−β_s)
	M        []float64 // interpolation weight m_n
	A, B     []float64 // weights of x0 and y
	Delta    []float64 // noise variance δ_n (times σ²)
}

// NewProcess computes the coefficients for betas, each in (0, 1).
func NewProcess(betas []float64) (Process, error) {
	if len(betas) == 0 {
		return Process{}, fmt.Errorf("empty beta schedule")
	}
	n := len(betas)
	p := Process{
		Betas:    append([]float64(nil), betas...),
		AlphaBar: make([]float64, n), M: make([]float64, n),
		A: make([]float64, n), B: make([]float64, n), Delta: make([]float64, n),
	}
	cum := 1.0
	for i, b := range betas {
		if !(b > 0 && b < 1) {
			return Process{}, fmt.Errorf("beta[%d] = %v outside (0, 1)", i, b)
		}
		cum *= 1 - b
		p.AlphaBar[i] = cum
		sq := math.Sqrt(cum)
		m := math.Sqrt(math.Min(1, (1-cum)/sq))
		p.M[i] = m
		p.A[i] = (1 - m) * sq
		p.B[i] = m * sq
		p.Delta[i] = math.Max(0, (1-cum)-m*m*cum)
	}
	return p, nil
}

// Len is the number of steps.
func (p Process) Len() int { return len(p.Betas) }

// AlignSteps maps each step of an inference process onto the continuous step index of the
// training process with the same noise level (sqrt ᾱ), as DiffWave's fast sampling does.
func AlignSteps(train, infer Process) []float64 {
	t := make([]float64, infer.Len())
	last := float64(train.Len() - 1)
	for n, ab := range infer.AlphaBar {
		s := math.Sqrt(ab)
		switch {
		case s >= math.Sqrt(train.AlphaBar[0]):
			t[n] = 0
		case s <= math.Sqrt(train.AlphaBar[train.Len()-1]):
			t[n] = last
		default:
			for i := 0; i+1 < train.Len(); i++ {
				hi, lo := math.Sqrt(train.AlphaBar[i]), math.Sqrt(train.AlphaBar[i+1])
				if lo <= s && s <= hi {
					t[n] = float64(i) + (hi-s)/(hi-lo)
					break
				}
			}
		}
	}
	return t
}
