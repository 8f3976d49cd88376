package peers

import (
	"fmt"

	"github.com/restoregrad/restoregrad/dsp/spectral"
)

// Stream enhances a signal as it arrives, Hop samples at a time.
type Stream struct {
	m     *Model
	st    *state
	ana   *spectral.Analyzer
	syn   *spectral.Synthesizer
	frame []complex128
}

// NewStream starts a stream with zero caches.
func (m *Model) NewStream() *Stream {
	s := m.newSTFT()
	return &Stream{m: m, st: m.newState(), ana: s.NewAnalyzer(), syn: s.NewSynthesizer(), frame: make([]complex128, m.f.Bins())}
}

// Process takes exactly Hop input samples and appends Hop output samples to dst. The
// output is the enhanced input delayed by Delay() samples.
func (s *Stream) Process(dst, hop []float32) ([]float32, error) {
	f, err := s.ana.Next(s.frame, hop)
	if err != nil {
		return dst, err
	}
	if err := s.m.step(s.st, f); err != nil {
		return dst, err
	}
	return s.syn.Next(dst, f)
}

// Delay is the shift, in samples, between a Stream's input and its output.
func (s *Stream) Delay() int { return s.syn.Latency() }

// Processor runs a Stream with the shape of engine.FrameProcessor: one Hop of samples per
// call, output lagging by Latency(). Peers have no diffusion steps: Steps and MaxSteps
// are 0 and SetSteps fails. Process allocates (ONNX Runtime tensors) on every call.
type Processor struct {
	m   *Model
	s   *Stream
	buf []float32
}

// NewProcessor starts a processor with zero caches.
func (m *Model) NewProcessor() *Processor {
	return &Processor{m: m, s: m.NewStream(), buf: make([]float32, 0, m.f.Hop)}
}

// SampleRate is the format's rate.
func (p *Processor) SampleRate() int { return p.m.f.Rate }

// FrameSize is the hop.
func (p *Processor) FrameSize() int { return p.m.f.Hop }

// Latency is the output lag behind the input, in samples (the synthesis overlap).
func (p *Processor) Latency() int { return p.s.Delay() }

// Process enhances one hop of samples.
func (p *Processor) Process(out, in []float32) error {
	hop := p.m.f.Hop
	if len(in) != hop || len(out) != hop {
		return fmt.Errorf("%s: frames of %d samples, got in %d out %d", p.m.f.Name, hop, len(in), len(out))
	}
	r, err := p.s.Process(p.buf[:0], in)
	if err != nil {
		return err
	}
	copy(out, r)
	return nil
}

// Steps is 0: a peer is not a diffusion model.
func (p *Processor) Steps() int { return 0 }

// MaxSteps is 0.
func (p *Processor) MaxSteps() int { return 0 }

// SetSteps always fails: a peer has no steps to set.
func (p *Processor) SetSteps(n int) error {
	return fmt.Errorf("%s has no diffusion steps", p.m.f.Name)
}

// Reset clears the caches and the STFT state.
func (p *Processor) Reset() { p.s = p.m.NewStream() }
