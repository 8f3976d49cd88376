package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/restoregrad/restoregrad/models/sampler"
)

// firEnhancer is a fake model with a finite receptive field: a symmetric FIR filter of the
// input plus noise drawn at absolute indices, like the real sampler.
type firEnhancer struct {
	taps  []float32 // centre at len/2
	calls int
}

func (f *firEnhancer) SampleRate() int { return 16000 }
func (f *firEnhancer) Context() int    { return len(f.taps) / 2 }
func (f *firEnhancer) Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	f.calls++
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

func runOffline(t *testing.T, enh Enhancer, cfg ChunkConfig, y []float32, block int, gain float32) []float32 {
	t.Helper()
	o, err := NewOffline(enh, cfg, 3, sampler.CounterNoise{Seed: 5}, gain)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	emit := func(p []float32) error { out = append(out, p...); return nil }
	for i := 0; i < len(y); i += block {
		if err := o.Write(y[i:min(len(y), i+block)], emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Flush(emit); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOfflineChunkedEqualsWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	taps := make([]float32, 31)
	for i := range taps {
		taps[i] = float32(rng.NormFloat64()) / 10
	}
	y := make([]float32, 16000*3+123)
	for i := range y {
		y[i] = float32(math.Sin(float64(i)*0.01) + 0.1*rng.NormFloat64())
	}
	whole := make([]float32, len(y))
	(&firEnhancer{taps: taps}).Enhance(whole, y, 3, sampler.CounterNoise{Seed: 5}, 0)

	for _, tc := range []struct {
		cfg   ChunkConfig
		block int
	}{
		{ChunkConfig{Chunk: 1000, Margin: 40, Crossfade: 50}, 333},
		{ChunkConfig{Chunk: 4000, Margin: 100, Crossfade: 160}, 16000},
		{ChunkConfig{Chunk: 777, Margin: 16, Crossfade: 2}, 1},
		{ChunkConfig{}, 4096},                             // defaults: one chunk for 3 s
		{ChunkConfig{Chunk: 16000 * 3, Margin: 416}, 100}, // exactly one chunk + a short tail
	} {
		enh := &firEnhancer{taps: taps}
		got := runOffline(t, enh, tc.cfg, y, tc.block, 1)
		if len(got) != len(y) {
			t.Fatalf("%+v: %d samples out, want %d", tc.cfg, len(got), len(y))
		}
		for i := range got {
			if d := math.Abs(float64(got[i] - whole[i])); d > 1e-5 {
				t.Fatalf("%+v block %d: sample %d differs by %g (chunks %d)", tc.cfg, tc.block, i, d, enh.calls)
			}
		}
	}
}

func TestOfflineGainIsUndone(t *testing.T) {
	taps := []float32{0, 1, 0} // identity plus noise
	y := make([]float32, 5000)
	for i := range y {
		y[i] = float32(math.Sin(float64(i) * 0.1))
	}
	a := runOffline(t, &firEnhancer{taps: taps}, ChunkConfig{Chunk: 1000, Margin: 10, Crossfade: 20}, y, 700, 1)
	b := runOffline(t, &firEnhancer{taps: taps}, ChunkConfig{Chunk: 1000, Margin: 10, Crossfade: 20}, y, 700, 4)
	for i := range a {
		// With gain 4 the noise is relatively 4× smaller after undoing the gain.
		if d := math.Abs(float64(b[i] - y[i])); d > 0.01 {
			t.Fatalf("gain 4: sample %d off by %g", i, d)
		}
		if d := math.Abs(float64(a[i] - y[i])); d > 0.06 {
			t.Fatalf("gain 1: sample %d off by %g", i, d)
		}
	}
}

func TestOfflineEmptyAndErrors(t *testing.T) {
	enh := &firEnhancer{taps: []float32{1}}
	if out := runOffline(t, enh, ChunkConfig{}, nil, 10, 1); len(out) != 0 || enh.calls != 0 {
		t.Fatalf("empty input gave %d samples, %d calls", len(out), enh.calls)
	}
	if _, err := NewOffline(enh, ChunkConfig{Chunk: 10, Crossfade: 20}, 1, sampler.CounterNoise{}, 1); err == nil {
		t.Error("cross-fade > chunk: want error")
	}
	if _, err := NewOffline(enh, ChunkConfig{}, 1, sampler.CounterNoise{}, 0); err == nil {
		t.Error("gain 0: want error")
	}
}
