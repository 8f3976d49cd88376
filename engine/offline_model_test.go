package engine_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/metrics"
	"github.com/restoregrad/restoregrad/dsp/wav"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/sampler"
	"github.com/restoregrad/restoregrad/models/zoo"
)

// With the shipped model, chunked enhancement of real noisy speech must match the
// whole-signal output closely and be no worse against the clean reference. The offline
// model's GRUs run over the whole chunk in both directions, so chunks with the bundle's
// margin cannot equal the whole file exactly; a seam, alignment or noise-offset bug costs
// far more than the model's memory does (engine's fake-model tests check the seams exactly).
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
	y, clean := readSample(t, rate, "sample-noisy.wav"), readSample(t, rate, "sample-clean.wav")
	steps := b.Manifest.DefaultSteps
	noise := sampler.CounterNoise{Seed: 9}
	whole := make([]float32, len(y))
	if err := m.Enhance(whole, y, steps, noise, 0); err != nil {
		t.Fatal(err)
	}
	o, err := engine.NewOffline(m, engine.ChunkConfig{Chunk: 3 * rate / 2}, steps, noise, 1)
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
	snr := must(metrics.SNR(whole, chunked))
	wholeSI, chunkedSI := must(metrics.SISDR(clean, whole)), must(metrics.SISDR(clean, chunked))
	t.Logf("chunked (1.5 s) vs whole: %.1f dB; SI-SDR against clean: whole %.2f dB, chunked %.2f dB", snr, wholeSI, chunkedSI)
	if snr < 20 {
		t.Errorf("chunked vs whole %.1f dB, want > 20", snr)
	}
	if chunkedSI < wholeSI-0.5 {
		t.Errorf("chunked SI-SDR %.2f dB, whole %.2f dB: chunking may cost at most 0.5 dB", chunkedSI, wholeSI)
	}
}

// readSample reads a mono 16 kHz file from the repository's testdata.
func readSample(t *testing.T, rate int, name string) []float32 {
	t.Helper()
	x, f, err := wav.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if f.SampleRate != rate || f.Channels != 1 {
		t.Fatalf("%s: %d Hz, %d channels; the test wants %d Hz mono", name, f.SampleRate, f.Channels, rate)
	}
	return x[0]
}

func must(v float64, err error) float64 {
	if err != nil {
		panic(err)
	}
	return v
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
