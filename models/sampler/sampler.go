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

// Sampler runs the reverse process for one inference schedule.
type Sampler struct {
	train, infer Process
	t            []float64
	blend        float64
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
	return &Sampler{train: train, infer: infer, t: AlignSteps(train, infer), blend: blend}, nil
}

// Steps is the number of denoiser evaluations per sample.
func (s *Sampler) Steps() int { return s.infer.Len() }

// TrainingSteps gives the continuous training step fed to the denoiser at each inference step.
func (s *Sampler) TrainingSteps() []float64 { return append([]float64(nil), s.t...) }

// Sample writes the enhanced signal for y into out. sigma is the prior's per-sample
// standard deviation. Noise draws for y[i] come from noise at absolute index offset+i.
// out, y and sigma have the same length.
func (s *Sampler) Sample(out, y, sigma []float32, d Denoiser, noise Noise, offset int64) error {
	n := len(y)
	if len(out) != n || len(sigma) != n {
		return fmt.Errorf("sample: lengths out %d, y %d, sigma %d differ", len(out), n, len(sigma))
	}
	p := s.infer
	last := p.Len() - 1
	x := out
	z := make([]float32, n)
	eps := make([]float32, n)

	noise.Fill(z, p.Len(), offset)
	b, sd := float32(p.B[last]), float32(math.Sqrt(p.Delta[last]))
	for i := range x {
		x[i] = b*y[i] + sd*sigma[i]*z[i]
	}
	for k := last; k >= 0; k-- {
		if err := d.Eps(eps, x, y, float32(s.t[k])); err != nil {
			return fmt.Errorf("step %d of %d: %w", last-k+1, p.Len(), err)
		}
		ak, bk, sdk := p.A[k], p.B[k], math.Sqrt(p.Delta[k])
		if k == 0 {
			for i := range x {
				x[i] = float32((float64(x[i]) - bk*float64(y[i]) - sdk*float64(eps[i])) / ak)
			}
			break
		}
		// Posterior q(x_{k-1} | x_k, x0, y) with x0 estimated from eps.
		kk := p.A[k] / p.A[k-1]
		ck := p.B[k] - kk*p.B[k-1]
		dPrev := p.Delta[k-1]
		dTrans := math.Max(0, p.Delta[k]-kk*kk*dPrev)
		wx0 := dTrans / p.Delta[k]
		wxt := dPrev * kk / p.Delta[k]
		std := float32(math.Sqrt(dTrans * dPrev / p.Delta[k]))
		noise.Fill(z, k, offset)
		for i := range x {
			xi, yi := float64(x[i]), float64(y[i])
			x0 := (xi - bk*yi - sdk*float64(eps[i])) / ak
			mean := wx0*(p.A[k-1]*x0+p.B[k-1]*yi) + wxt*(xi-ck*yi)
			x[i] = float32(mean) + std*sigma[i]*z[i]
		}
	}
	if s.blend > 0 {
		g := float32(s.blend)
		for i := range x {
			x[i] = (1-g)*x[i] + g*y[i]
		}
	}
	return nil
}
