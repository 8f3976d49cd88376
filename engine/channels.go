package engine

import (
	"errors"
	"fmt"
)

// Channels is one FrameProcessor per channel, run as one: they agree on rate, frame size
// and latency, always run the same step count, and reset together. Realtime runs its
// channels as one; a caller without the deadline controller (an offline plugin host) runs
// them with ProcessChannels.
type Channels []FrameProcessor

// NewChannels checks that the processors agree and groups them.
func NewChannels(ps []FrameProcessor) (Channels, error) {
	if len(ps) == 0 {
		return nil, errors.New("no processor")
	}
	for _, p := range ps {
		if p == nil {
			return nil, errors.New("nil processor")
		}
	}
	p0 := ps[0]
	for c, p := range ps[1:] {
		if p.SampleRate() != p0.SampleRate() || p.FrameSize() != p0.FrameSize() || p.Latency() != p0.Latency() {
			return nil, fmt.Errorf("channel %d differs from channel 0: rate %d/%d, frame %d/%d, latency %d/%d", c+1,
				p.SampleRate(), p0.SampleRate(), p.FrameSize(), p0.FrameSize(), p.Latency(), p0.Latency())
		}
	}
	return Channels(ps), nil
}

// SampleRate, FrameSize, Latency and Steps are every channel's.
func (cs Channels) SampleRate() int { return cs[0].SampleRate() }
func (cs Channels) FrameSize() int  { return cs[0].FrameSize() }
func (cs Channels) Latency() int    { return cs[0].Latency() }
func (cs Channels) Steps() int      { return cs[0].Steps() }

// MaxSteps is the most steps every channel takes.
func (cs Channels) MaxSteps() int {
	n := cs[0].MaxSteps()
	for _, p := range cs[1:] {
		n = min(n, p.MaxSteps())
	}
	return n
}

// SetSteps changes every channel's step count, or none: when a channel refuses n, the
// channels already changed go back to the count they all ran, so that the channels never
// run different step counts.
func (cs Channels) SetSteps(n int) error {
	old := cs.Steps()
	for c, p := range cs {
		if err := p.SetSteps(n); err != nil {
			for _, done := range cs[:c] {
				done.SetSteps(old) // it ran old until now
			}
			if len(cs) == 1 {
				return err
			}
			return fmt.Errorf("channel %d: %w", c, err)
		}
	}
	return nil
}

// Reset resets every channel.
func (cs Channels) Reset() {
	for _, p := range cs {
		p.Reset()
	}
}

// ProcessChannels runs every channel's frame (in[c] to out[c]) and returns the first
// error; the other channels still run, so that their streams stay in step.
func (cs Channels) ProcessChannels(out, in [][]float32) error {
	var first error
	for c, p := range cs {
		if err := p.Process(out[c], in[c]); err != nil && first == nil {
			first = err
			if len(cs) > 1 {
				first = fmt.Errorf("channel %d: %w", c, err)
			}
		}
	}
	return first
}
