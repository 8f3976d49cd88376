package plugin

import (
	"fmt"
	"testing"

	"github.com/restoregrad/restoregrad/engine"
)

// stepProc is a frame processor that only counts steps, up to max.
type stepProc struct{ steps, max int }

func (*stepProc) SampleRate() int                 { return 16000 }
func (*stepProc) FrameSize() int                  { return 160 }
func (*stepProc) Latency() int                    { return 0 }
func (*stepProc) Process(out, in []float32) error { copy(out, in); return nil }
func (p *stepProc) Steps() int                    { return p.steps }
func (p *stepProc) MaxSteps() int                 { return p.max }
func (*stepProc) Reset()                          {}
func (p *stepProc) SetSteps(n int) error {
	if n < 1 || n > p.max {
		return fmt.Errorf("steps %d outside 1..%d", n, p.max)
	}
	p.steps = n
	return nil
}

// A step count one channel refuses changes no channel (issue 25: the channels before it
// had changed, leaving the channels on different step counts).
func TestInterleavedSetStepsAllOrNone(t *testing.T) {
	a, b, c := &stepProc{steps: 2, max: 4}, &stepProc{steps: 2, max: 4}, &stepProc{steps: 2, max: 3}
	p, err := newInterleaved([]engine.FrameProcessor{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxSteps() != 3 {
		t.Errorf("MaxSteps %d, want 3 (what every channel takes)", p.MaxSteps())
	}
	if err := p.SetSteps(4); err == nil {
		t.Fatal("4 steps, which channel 2 refuses: want an error")
	}
	for i, m := range []*stepProc{a, b, c} {
		if m.steps != 2 {
			t.Errorf("channel %d at %d steps after a refused change, want 2", i, m.steps)
		}
	}
	if err := p.SetSteps(3); err != nil {
		t.Fatal(err)
	}
	for i, m := range []*stepProc{a, b, c} {
		if m.steps != 3 {
			t.Errorf("channel %d at %d steps, want 3", i, m.steps)
		}
	}
}
