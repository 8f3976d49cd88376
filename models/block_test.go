package models

import (
	"math"
	"testing"

	"github.com/restoregrad/restoregrad/models/sampler"
)

// stepFIR is a fake model with a finite receptive field: a symmetric FIR filter of the
// input plus noise drawn at absolute indices, like the real sampler.
type stepFIR struct {
	taps []float32 // centre at len/2
}

func (f *stepFIR) SampleRate() int      { return 16000 }
func (f *stepFIR) CheckSteps(int) error { return nil }
func (f *stepFIR) Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	r := len(f.taps) / 2
	z := make([]float32, len(y))
	noise.Fill(z, steps, offset)
	for i := range out {
		var s float32
		for j, w := range f.taps {
			if k := i + j - r; k >= 0 && k < len(y) {
				s += w * y[k]
			}
		}
		out[i] = s + 0.01*z[i]
	}
	return nil
}

// The block processor's output, delayed by its latency, equals the whole-signal output of
// a model whose receptive field fits in the margin.
func TestBlockProcessorMatchesWholeSignal(t *testing.T) {
	taps := []float32{0.1, -0.2, 0.5, 0.3, 0.05}
	enh := &stepFIR{taps: taps}
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
