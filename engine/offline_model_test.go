package engine_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/sampler"
	"github.com/restoregrad/restoregrad/models/zoo"
)

// With the shipped model, chunked enhancement must match whole-signal enhancement on the
// same noise draws closely. The shipped offline model's GRUs run over the whole chunk in both
// directions, so a chunk with 3 s of margin cannot equal the whole file exactly: 23 dB on this
// stationary tone (the worst case for a recurrent memory); a seam or alignment bug gives < 10.
func TestOfflineSeamsWithShippedModel(t *testing.T) {
	modeltest.RequireRuntime(t)
	b, err := zoo.Find(zoo.DefaultOffline)
	if err != nil {
		t.Skipf("no shipped offline model: %v", err)
	}
	m, err := models.OpenOffline(b, models.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rate := m.SampleRate()
	rng := rand.New(rand.NewPCG(3, 4))
	y := make([]float32, 12*rate)
	for i := range y {
		env := 0.5 + 0.5*math.Sin(2*math.Pi*3*float64(i)/float64(rate))
		y[i] = float32(0.1*env*math.Sin(2*math.Pi*220*float64(i)/float64(rate)) + 0.02*rng.NormFloat64())
	}
	steps := b.Manifest.DefaultSteps
	noise := sampler.CounterNoise{Seed: 9}
	whole := make([]float32, len(y))
	if err := m.Enhance(whole, y, steps, noise, 0); err != nil {
		t.Fatal(err)
	}
	o, err := engine.NewOffline(m, engine.ChunkConfig{Chunk: 3 * rate}, steps, noise, 1)
	if err != nil {
		t.Fatal(err)
	}
	var chunked []float32
	emit := func(p []float32) error { chunked = append(chunked, p...); return nil }
	for i := 0; i < len(y); i += 4000 {
		if err := o.Write(y[i:min(len(y), i+4000)], emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Flush(emit); err != nil {
		t.Fatal(err)
	}
	var num, den float64
	for i := range whole {
		d := float64(chunked[i] - whole[i])
		num += d * d
		den += float64(whole[i]) * float64(whole[i])
	}
	snr := 10 * math.Log10(den/num)
	t.Logf("chunked (3 s) vs whole: %.1f dB", snr)
	if snr < 20 {
		t.Fatalf("chunked vs whole %.1f dB, want > 20", snr)
	}
}

// With the shipped model and ONNX Runtime sessions shared by the workers, chunks enhanced
// in parallel give the sequential output bit for bit.
func TestOfflineWorkersWithShippedModel(t *testing.T) {
	modeltest.RequireRuntime(t)
	b, err := zoo.Find(zoo.DefaultOffline)
	if err != nil {
		t.Skipf("no shipped offline model: %v", err)
	}
	m, err := models.OpenOffline(b, models.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rate := m.SampleRate()
	rng := rand.New(rand.NewPCG(5, 6))
	y := make([]float32, 20*rate+321)
	for i := range y {
		y[i] = float32(0.1*math.Sin(2*math.Pi*180*float64(i)/float64(rate)) + 0.03*rng.NormFloat64())
	}
	run := func(workers int) []float32 {
		o, err := engine.NewOffline(m, engine.ChunkConfig{Chunk: 3 * rate, Workers: workers}, b.Manifest.DefaultSteps, sampler.CounterNoise{Seed: 2}, 1.5)
		if err != nil {
			t.Fatal(err)
		}
		var out []float32
		emit := func(p []float32) error { out = append(out, p...); return nil }
		for i := 0; i < len(y); i += 5000 {
			if err := o.Write(y[i:min(len(y), i+5000)], emit); err != nil {
				t.Fatal(err)
			}
		}
		if err := o.Flush(emit); err != nil {
			t.Fatal(err)
		}
		return out
	}
	seq, par := run(1), run(2)
	if len(seq) != len(par) {
		t.Fatalf("%d samples with 2 workers, %d with 1", len(par), len(seq))
	}
	for i := range seq {
		if math.Float32bits(seq[i]) != math.Float32bits(par[i]) {
			t.Fatalf("sample %d: %v with 2 workers, %v with 1", i, par[i], seq[i])
		}
	}
}
