package engine

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
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

// safeFIR is firEnhancer without the call counter, safe for concurrent use, and slow
// enough per chunk that several chunks overlap in time.
type safeFIR struct{ taps []float32 }

func (f safeFIR) SampleRate() int { return 16000 }
func (f safeFIR) Context() int    { return len(f.taps) / 2 }
func (f safeFIR) Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	return (&firEnhancer{taps: f.taps}).Enhance(out, y, steps, noise, offset)
}

// Chunks enhanced on several goroutines give the sequential run's output bit for bit.
func TestOfflineWorkersEqualSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	taps := make([]float32, 63)
	for i := range taps {
		taps[i] = float32(rng.NormFloat64()) / 10
	}
	y := make([]float32, 16000*10+77)
	for i := range y {
		y[i] = float32(math.Sin(float64(i)*0.003) + 0.2*rng.NormFloat64())
	}
	for _, cfg := range []ChunkConfig{
		{Chunk: 1000, Margin: 64, Crossfade: 50},
		{Chunk: 16000, Margin: 800, Crossfade: 800},
		{},
	} {
		seq := runOffline(t, safeFIR{taps}, cfg, y, 4096, 0.7)
		for _, w := range []int{2, 3, 8} {
			c := cfg
			c.Workers = w
			par := runOffline(t, safeFIR{taps}, c, y, 4096, 0.7)
			if len(par) != len(seq) {
				t.Fatalf("%+v: %d samples, sequential %d", c, len(par), len(seq))
			}
			for i := range seq {
				if math.Float32bits(par[i]) != math.Float32bits(seq[i]) {
					t.Fatalf("%+v: sample %d = %v, sequential %v", c, i, par[i], seq[i])
				}
			}
		}
	}
}

// failAt fails on the chunk that starts at a given offset.
type failAt struct {
	safeFIR
	offset int64
}

func (f failAt) Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	if offset == f.offset {
		return errors.New("model exploded")
	}
	return f.safeFIR.Enhance(out, y, steps, noise, offset)
}

func TestOfflineWorkersReportTheFirstError(t *testing.T) {
	enh := failAt{safeFIR{[]float32{1}}, 3*1000 - 10}
	o, err := NewOffline(enh, ChunkConfig{Chunk: 1000, Margin: 10, Crossfade: 10, Workers: 4}, 1, sampler.CounterNoise{Seed: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var emitted int
	emit := func(p []float32) error { emitted += len(p); return nil }
	err = o.Write(make([]float32, 20000), emit)
	if err == nil {
		err = o.Flush(emit)
	}
	if err == nil || !strings.Contains(err.Error(), "chunk 3") {
		t.Fatalf("want the error of chunk 3, got %v", err)
	}
	if emitted > 3*1000 {
		t.Fatalf("emitted %d samples, past the failed chunk", emitted)
	}
}

// preferringEnhancer names its own chunk length, like a bundle with "chunk".
type preferringEnhancer struct {
	*firEnhancer
	chunk int
}

func (p preferringEnhancer) PreferredChunk() int { return p.chunk }

// The zero ChunkConfig takes the Enhancer's preferred chunk, also through an attenuation
// limit; an explicit Chunk wins over it.
func TestOfflineUsesPreferredChunk(t *testing.T) {
	y := make([]float32, 16000*3+123)
	for i := range y {
		y[i] = float32(math.Sin(float64(i) * 0.01))
	}
	for _, tc := range []struct {
		cfg   ChunkConfig
		limit bool
		calls int
	}{
		{ChunkConfig{}, false, 3},             // 1 s chunks; the last takes the 123-sample tail
		{ChunkConfig{}, true, 3},              // the same through LimitEnhancer
		{ChunkConfig{Chunk: 32000}, false, 2}, // the caller's chunk wins
	} {
		fir := &firEnhancer{taps: []float32{0.5, 1, 0.5}}
		var enh Enhancer = preferringEnhancer{fir, 16000}
		if tc.limit {
			var err error
			if enh, err = LimitEnhancer(enh, 12); err != nil {
				t.Fatal(err)
			}
		}
		runOffline(t, enh, tc.cfg, y, 4096, 1)
		if fir.calls != tc.calls {
			t.Errorf("%+v (limit %v): %d chunks, want %d", tc.cfg, tc.limit, fir.calls, tc.calls)
		}
	}
}
