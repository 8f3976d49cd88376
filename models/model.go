// Package models runs a RestoreGrad model bundle: it loads the bundle's ONNX graphs into
// ONNX Runtime sessions and drives the sampler over them. Subpackages hold the parts:
// bundle (the format), ort (the runtime), sampler (the reverse diffusion), zoo (shipped
// bundles) and train (the Python training pipeline).
package models

import (
	"fmt"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// Model is an offline bundle ready to run. Its methods are safe for concurrent use.
type Model struct {
	bundle   *bundle.Bundle
	denoiser *ort.Session
	prior    *ort.Session
	samplers map[int]*sampler.Sampler
}

// Open loads an offline bundle's graphs.
func Open(b *bundle.Bundle, opt ort.Options) (*Model, error) {
	m := &b.Manifest
	if m.Kind != bundle.KindOffline {
		return nil, fmt.Errorf("model %s is a %s bundle; this needs an offline one", m.Name, m.Kind)
	}
	model := &Model{bundle: b, samplers: map[int]*sampler.Sampler{}}
	// Every step count from 1 to T has a schedule (explicit or derived); build them all
	// now so that a live engine can change steps without allocating.
	for steps := 1; steps <= len(m.TrainingBetas); steps++ {
		betas, err := m.Schedule(steps)
		if err != nil {
			return nil, err
		}
		s, err := sampler.New(m.TrainingBetas, betas, m.FinalBlend)
		if err != nil {
			return nil, fmt.Errorf("model %s: %d-step schedule: %w", m.Name, steps, err)
		}
		model.samplers[steps] = s
	}
	var err error
	if model.denoiser, err = openNetwork(b, bundle.Denoiser, opt); err != nil {
		return nil, err
	}
	if model.prior, err = openNetwork(b, bundle.Prior, opt); err != nil {
		model.denoiser.Close()
		return nil, err
	}
	return model, nil
}

func openNetwork(b *bundle.Bundle, name string, opt ort.Options) (*ort.Session, error) {
	data, n, err := b.Network(name)
	if err != nil {
		return nil, err
	}
	s, err := ort.NewSession(b.Source+"/"+n.File, data, n.InputNames(), n.OutputNames(), opt)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", b.Manifest.Name, err)
	}
	return s, nil
}

// Close releases the sessions.
func (m *Model) Close() error {
	err1 := m.denoiser.Close()
	err2 := m.prior.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// Manifest describes the model.
func (m *Model) Manifest() *bundle.Manifest { return &m.bundle.Manifest }

// Bundle is the bundle the model was opened from.
func (m *Model) Bundle() *bundle.Bundle { return m.bundle }

// SampleRate is the rate the model works at.
func (m *Model) SampleRate() int { return m.bundle.Manifest.SampleRate }

// Context is the receptive field, in samples, on each side of an output sample for one
// network evaluation.
func (m *Model) Context() int { return m.bundle.Manifest.Context }

// Provider reports where the model runs.
func (m *Model) Provider() ort.Provider { return m.denoiser.Provider() }

// Eps runs the denoiser on one signal; len(xt) must be a multiple of LengthMultiple.
func (m *Model) Eps(dst, xt, y []float32, t float32) error {
	shape := []int64{1, 1, int64(len(xt))}
	out, err := m.denoiser.Run([]ort.Tensor{{Shape: shape, Data: xt}, {Shape: shape, Data: y}, {Shape: []int64{1}, Data: []float32{t}}})
	if err != nil {
		return err
	}
	if len(out[0].Data) != len(dst) {
		return fmt.Errorf("denoiser returned %d samples for %d", len(out[0].Data), len(dst))
	}
	copy(dst, out[0].Data)
	return nil
}

// Sigma runs the prior on one signal; len(y) must be a multiple of LengthMultiple.
func (m *Model) Sigma(dst, y []float32) error {
	out, err := m.prior.Run([]ort.Tensor{{Shape: []int64{1, 1, int64(len(y))}, Data: y}})
	if err != nil {
		return err
	}
	if len(out[0].Data) != len(dst) {
		return fmt.Errorf("prior returned %d samples for %d", len(out[0].Data), len(dst))
	}
	copy(dst, out[0].Data)
	return nil
}

// CheckSteps reports whether the model has a schedule for steps.
func (m *Model) CheckSteps(steps int) error {
	if _, ok := m.samplers[steps]; !ok {
		if _, err := m.bundle.Manifest.Schedule(steps); err != nil {
			return err
		}
		return fmt.Errorf("model %s: no sampler for %d steps", m.bundle.Manifest.Name, steps)
	}
	return nil
}

// Enhance denoises y into out (same length) with the given step count. y is zero-padded
// to the model's length multiple internally. Noise for y[i] is drawn at absolute index
// offset+i, so enhancing overlapping pieces of a signal draws consistent noise.
func (m *Model) Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	s, ok := m.samplers[steps]
	if !ok {
		return m.CheckSteps(steps)
	}
	if len(out) != len(y) {
		return fmt.Errorf("enhance: out has %d samples, y %d", len(out), len(y))
	}
	if len(y) == 0 {
		return nil
	}
	mult := m.bundle.Manifest.LengthMultiple
	n := (len(y) + mult - 1) / mult * mult
	yp, xp := y, out
	if n != len(y) {
		yp = make([]float32, n)
		copy(yp, y)
		xp = make([]float32, n)
	}
	sigma := make([]float32, n)
	if err := m.Sigma(sigma, yp); err != nil {
		return err
	}
	if err := s.Sample(xp, yp, sigma, m, noise, offset); err != nil {
		return err
	}
	if n != len(y) {
		copy(out, xp)
	}
	return nil
}
