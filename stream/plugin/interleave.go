package plugin

import (
	"fmt"

	"github.com/restoregrad/restoregrad/engine"
)

// interleaved runs one model processor per channel as a single engine.FrameProcessor over
// interleaved frames, so that one deadline controller (engine.Realtime) decides for all
// channels together. Its rate is channels × the model rate and its latency channels × the
// model's, so Realtime's frame period, fade lengths and aligned dry path come out right
// per channel.
type interleaved struct {
	ms      []engine.FrameProcessor
	n       int // samples per channel per frame
	in, out [][]float32
}

func newInterleaved(ms []engine.FrameProcessor) (*interleaved, error) {
	m0 := ms[0]
	for _, m := range ms[1:] {
		if m.SampleRate() != m0.SampleRate() || m.FrameSize() != m0.FrameSize() || m.Latency() != m0.Latency() {
			return nil, fmt.Errorf("channel models differ: rate %d/%d, frame %d/%d, latency %d/%d",
				m0.SampleRate(), m.SampleRate(), m0.FrameSize(), m.FrameSize(), m0.Latency(), m.Latency())
		}
	}
	p := &interleaved{ms: ms, n: m0.FrameSize()}
	for range ms {
		p.in = append(p.in, make([]float32, p.n))
		p.out = append(p.out, make([]float32, p.n))
	}
	return p, nil
}

func (p *interleaved) SampleRate() int { return len(p.ms) * p.ms[0].SampleRate() }
func (p *interleaved) FrameSize() int  { return len(p.ms) * p.n }
func (p *interleaved) Latency() int    { return len(p.ms) * p.ms[0].Latency() }
func (p *interleaved) Steps() int      { return p.ms[0].Steps() }

// MaxSteps is the most steps every channel takes.
func (p *interleaved) MaxSteps() int {
	n := p.ms[0].MaxSteps()
	for _, m := range p.ms[1:] {
		n = min(n, m.MaxSteps())
	}
	return n
}

// SetSteps changes every channel's step count, or none: when a channel refuses n, the
// channels already changed go back to the count they all ran, so that the channels never
// run different step counts.
func (p *interleaved) SetSteps(n int) error {
	old := p.Steps()
	for c, m := range p.ms {
		if err := m.SetSteps(n); err != nil {
			for _, done := range p.ms[:c] {
				done.SetSteps(old) // it ran old until now
			}
			return fmt.Errorf("channel %d: %w", c, err)
		}
	}
	return nil
}

func (p *interleaved) Reset() {
	for _, m := range p.ms {
		m.Reset()
	}
}

func (p *interleaved) Process(out, in []float32) error {
	ch := len(p.ms)
	if len(in) != ch*p.n || len(out) != ch*p.n {
		return fmt.Errorf("interleaved: frame of %d in, %d out, want %d", len(in), len(out), ch*p.n)
	}
	for c, m := range p.ms {
		for i := range p.in[c] {
			p.in[c][i] = in[i*ch+c]
		}
		if err := m.Process(p.out[c], p.in[c]); err != nil {
			return fmt.Errorf("channel %d: %w", c, err)
		}
		for i, v := range p.out[c] {
			out[i*ch+c] = v
		}
	}
	return nil
}
