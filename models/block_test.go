package models

import (
	"math"
	"testing"

	"github.com/restoregrad/restoregrad/models/sampler"
)

// smoother is a fake model with a receptive field of one sample on each side: the
// three-point average of the input (zero outside it) plus noise drawn at absolute
// indices, like the real sampler.
type smoother struct{}

func (smoother) SampleRate() int      { return 16000 }
func (smoother) CheckSteps(int) error { return nil }
func (smoother) Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	noise.Fill(out, steps, offset)
	at := func(i int) float32 {
		if i < 0 || i >= len(y) {
			return 0
		}
		return y[i]
	}
	for i := range out {
		out[i] = (at(i-1)+at(i)+at(i+1))/3 + 0.01*out[i]
	}
	return nil
}

// The block processor's output, delayed by its latency, equals the whole-signal output of
// a model whose receptive field fits in the margin.
func TestBlockProcessorMatchesWholeSignal(t *testing.T) {
	enh := smoother{}
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
