package engine

import (
	"math"
	"testing"

	"github.com/restoregrad/restoregrad/models/sampler"
)

type stepFIR struct{ firEnhancer }

func (stepFIR) CheckSteps(int) error { return nil }

// The block processor's output, delayed by its latency, equals the whole-signal output of
// a model whose receptive field fits in the margin.
func TestBlockProcessorMatchesWholeSignal(t *testing.T) {
	taps := []float32{0.1, -0.2, 0.5, 0.3, 0.05}
	enh := &stepFIR{firEnhancer{taps: taps}}
	const frame, margin = 160, 40
	p, err := NewBlockProcessor(enh, frame, margin, 3, 6, sampler.CounterNoise{Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	n := frame * 50
	y := make([]float32, n)
	for i := range y {
		y[i] = float32(math.Sin(float64(i) * 0.07))
	}
	whole := make([]float32, n)
	enh.Enhance(whole, y, 3, sampler.CounterNoise{Seed: 11}, 0)
	var got []float32
	out := make([]float32, frame)
	for i := 0; i < n; i += frame {
		if err := p.Process(out, y[i:i+frame]); err != nil {
			t.Fatal(err)
		}
		got = append(got, out...)
	}
	lat := p.Latency()
	for i := 0; i+lat < n-margin; i++ {
		if d := math.Abs(float64(got[i+lat] - whole[i])); d > 1e-5 {
			t.Fatalf("sample %d: stream %v, whole %v", i, got[i+lat], whole[i])
		}
	}
	if err := p.SetSteps(7); err == nil {
		t.Error("steps above max: want error")
	}
	if err := p.Process(out[:10], y[:10]); err == nil {
		t.Error("short frame: want error")
	}
}
