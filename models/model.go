// Package models runs a RestoreGrad model bundle. Open (or OpenBundle) is the front door:
// it finds the bundle, loads ONNX Runtime, resolves the step count and, whatever the
// bundle's kind, gives a whole-signal enhancer (Runner.Offline, a *Model) and frame
// processors for live use (Runner.Frames: a streaming bundle's step graphs, or an offline
// bundle's Model run in blocks by a BlockProcessor). Model runs the sampler over a bundle's
// graphs, on waveform samples or (schema 2) on compressed STFT frames, whose analysis and
// synthesis it does. It imports nothing above it (engine, stream, cmd). Subpackages hold
// the parts: bundle (the format), ort (the runtime), sampler (the reverse diffusion),
// streaming (the frame-by-frame processor), zoo (shipped bundles) and train (the Python
// training pipeline).
package models

import (
	"fmt"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/internal/network"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// Model is an offline bundle ready to run, in either domain: waveform (schema 1) or
// compressed STFT (schema 2), whose analysis and synthesis it does around the sampler.
// Its methods are safe for concurrent use.
type Model struct {
	bundle   *bundle.Bundle
	denoiser *ort.Session
	prior    *ort.Session
	samplers *sampler.Table // every step count of the bundle's schedules
	bins     int            // STFT bins per frame; 0 for a waveform bundle
}

// openOffline loads an offline bundle's graphs (Runner.Offline).
func openOffline(b *bundle.Bundle, opt ort.Options) (*Model, error) {
	m := &b.Manifest
	if m.Kind != bundle.KindOffline {
		return nil, fmt.Errorf("model %s is a %s bundle; this needs an offline one", m.Name, m.Kind)
	}
	model := &Model{bundle: b}
	if m.IsSTFT() {
		if _, err := m.FrontEnd(); err != nil {
			return nil, err
		}
		model.bins = m.STFT.Bins()
	}
	// Every step count from 1 to T has a schedule (explicit or derived); build them all
	// now so that a live engine can change steps without allocating.
	var err error
	if model.samplers, err = sampler.NewTable(m.TrainingBetas, m.Schedule, m.FinalBlend, len(m.TrainingBetas)); err != nil {
		return nil, err
	}
	if model.denoiser, err = network.Open(b, bundle.Denoiser, opt); err != nil {
		return nil, err
	}
	if model.prior, err = network.Open(b, bundle.Prior, opt); err != nil {
		model.denoiser.Close()
		return nil, err
	}
	return model, nil
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

// PreferredChunk is the bundle's chunk length in samples (0: none named).
func (m *Model) PreferredChunk() int { return m.bundle.Manifest.Chunk }

// Provider reports where the model runs.
func (m *Model) Provider() ort.Provider { return m.denoiser.Provider() }

// shape is the graph shape of a tensor of n values: [1, 1, n] for a waveform bundle,
// [1, 2, T, F] for an STFT one (n = 2·T·F).
func (m *Model) shape(n int) ([]int64, error) {
	if m.bins == 0 {
		return []int64{1, 1, int64(n)}, nil
	}
	if n%(2*m.bins) != 0 {
		return nil, fmt.Errorf("model %s: %d values are not whole frames of 2×%d bins", m.bundle.Manifest.Name, n, m.bins)
	}
	return []int64{1, 2, int64(n / (2 * m.bins)), int64(m.bins)}, nil
}

// Eps runs the denoiser in the graph's layout: one signal (len(xt) a multiple of
// LengthMultiple) for a waveform bundle; [2][T][F] compressed bins for an STFT bundle.
func (m *Model) Eps(dst, xt, y []float32, t float32) error {
	shape, err := m.shape(len(xt))
	if err != nil {
		return err
	}
	return runInto(m.denoiser, "denoiser", dst, ort.Tensor{Shape: shape, Data: xt}, ort.Tensor{Shape: shape, Data: y}, ort.Tensor{Shape: []int64{1}, Data: []float32{t}})
}

// Sigma runs the prior in the graph's layout (see Eps).
func (m *Model) Sigma(dst, y []float32) error {
	shape, err := m.shape(len(y))
	if err != nil {
		return err
	}
	return runInto(m.prior, "prior", dst, ort.Tensor{Shape: shape, Data: y})
}

// runInto evaluates a graph with one output and copies the output into dst.
func runInto(s *ort.Session, what string, dst []float32, in ...ort.Tensor) error {
	out, err := s.Run(in)
	if err != nil {
		return err
	}
	if len(out[0].Data) != len(dst) {
		return fmt.Errorf("%s returned %d values for %d", what, len(out[0].Data), len(dst))
	}
	copy(dst, out[0].Data)
	return nil
}

// sampler is the sampler for steps, or an error naming the model when it has none.
func (m *Model) sampler(steps int) (*sampler.Sampler, error) {
	s, err := m.samplers.Get(steps)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.bundle.Manifest.Name, err)
	}
	return s, nil
}

// CheckSteps reports whether the model has a schedule for steps.
func (m *Model) CheckSteps(steps int) error {
	_, err := m.sampler(steps)
	return err
}

// Sample runs the reverse process at the given step count on the sampler's layout: the
// signal itself for a waveform bundle, frame-major [T][2][F] compressed bins for an STFT
// bundle (the layout of the noise draws; the graphs get [2][T][F]). sigma is the prior's
// output in the same layout; draws for element i come from noise at counter index
// offset+i.
func (m *Model) Sample(out, y, sigma []float32, steps int, noise sampler.Noise, offset int64) error {
	s, err := m.sampler(steps)
	if err != nil {
		return err
	}
	var d sampler.Denoiser = m
	if m.bins > 0 {
		if _, err := m.shape(len(y)); err != nil {
			return err
		}
		d = newFrameMajor(m, y)
	}
	return s.Sample(out, y, sigma, d, noise, offset)
}

// Enhance denoises y into out (same length) with the given step count. Noise for y[i] is
// drawn at absolute index offset+i (for an STFT bundle: for the frames of the absolute hop
// grid, see enhanceSTFT), so enhancing overlapping pieces of a signal draws consistent noise.
// offset may be negative: the block processor's first windows reach before the stream.
func (m *Model) Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	if err := m.CheckSteps(steps); err != nil {
		return err
	}
	if len(out) != len(y) {
		return fmt.Errorf("enhance: out has %d samples, y %d", len(out), len(y))
	}
	if len(y) == 0 {
		return nil
	}
	if m.bins > 0 {
		return m.enhanceSTFT(out, y, steps, noise, offset)
	}
	// y is zero-padded to the model's length multiple.
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
	if err := m.Sample(xp, yp, sigma, steps, noise, offset); err != nil {
		return err
	}
	if n != len(y) {
		copy(out, xp)
	}
	return nil
}

// enhanceSTFT analyses y, samples in the compressed STFT domain and synthesises out. Frames
// sit on the absolute hop grid (frame j covers absolute samples [j·hop − (n_fft−hop),
// j·hop + hop)), so every piece of a signal sees the same frames and, for frame j, the
// draws at counter indices j·2F onwards: the piece starts offset mod hop samples early,
// on zeros, which the chunker's margins keep away from the output it uses.
func (m *Model) enhanceSTFT(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	front, err := m.bundle.Manifest.FrontEnd()
	if err != nil {
		return err
	}
	hop := int64(m.bundle.Manifest.STFT.Hop)
	lead := int((offset%hop + hop) % hop) // offset may be negative (blocks before a stream)
	sig := y
	if lead > 0 {
		sig = make([]float32, lead+len(y))
		copy(sig[lead:], y)
	}
	yc := front.Forward(sig)
	g := make([]float32, len(yc))
	ToGraph(g, yc, m.bins)
	sg := make([]float32, len(yc))
	if err := m.Sigma(sg, g); err != nil {
		return err
	}
	sigma := g // y's graph copy is no longer needed
	FromGraph(sigma, sg, m.bins)
	x := sg
	first := (offset - int64(lead)) / hop
	if err := m.Sample(x, yc, sigma, steps, noise, first*int64(front.RowLen())); err != nil {
		return err
	}
	wave, err := front.Inverse(x, len(sig))
	if err != nil {
		return err
	}
	copy(out, wave[lead:])
	return nil
}
