package models_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/metrics"
	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// STFT test bundles: an offline one with bidirectional GRUs over frames, and a causal
// streaming one (opened through its whole-signal graphs).
const (
	tfOffline = "testdata/tf-offline"
	tfCausal  = "streaming/testdata/tf-rt"
)

func openSTFT(t *testing.T, dir string) *models.Model {
	t.Helper()
	modeltest.RequireRuntime(t)
	b, err := bundle.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return openOffline(t, b)
}

// openOffline opens a bundle's whole-signal model, of either kind, through the front door;
// it is closed when the test ends.
func openOffline(t testing.TB, b *bundle.Bundle) *models.Model {
	t.Helper()
	m, err := models.OpenOffline(b, models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// speech-like test signal: a modulated harmonic tone in white noise.
func testSignal(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	y := make([]float32, n)
	for i := range y {
		s := float64(i) / 16000
		env := 0.5 + 0.5*math.Sin(2*math.Pi*3*s)
		y[i] = float32(0.1*env*(math.Sin(2*math.Pi*220*s)+0.5*math.Sin(2*math.Pi*440*s)) + 0.02*rng.NormFloat64())
	}
	return y
}

func chunked(t *testing.T, m *models.Model, cfg engine.ChunkConfig, y []float32, steps int, noise sampler.Noise) []float32 {
	t.Helper()
	o, err := engine.NewOffline(m, cfg, steps, noise, 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	emit := func(p []float32) error { out = append(out, p...); return nil }
	for i := 0; i < len(y); i += 3000 {
		if err := o.Write(y[i:min(len(y), i+3000)], emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Flush(emit); err != nil {
		t.Fatal(err)
	}
	return out
}

// Chunked enhancement through engine.Offline (chunks at arbitrary sample offsets, frames on
// the absolute hop grid) against the whole-file run with the same draws: the causal model
// agrees to float tolerance wherever a chunk has a margin of its receptive field behind it;
// the bidirectional one only approximately (its GRUs see the whole chunk), and the figure
// is logged for both margins.
func TestSTFTChunkedVersusWhole(t *testing.T) {
	y := testSignal(20*16000, 5)
	noise := sampler.CounterNoise{Seed: 2}
	for _, c := range []struct {
		dir    string
		margin int     // 0: the default, max(0.5 s, context + cross-fade/2)
		minSNR float64 // required chunked-vs-whole SNR
	}{
		{tfCausal, 0, 90},
		{tfOffline, 0, 60},
		{tfOffline, 8000, 40},
	} {
		m := openSTFT(t, c.dir)
		steps := m.Manifest().DefaultSteps
		whole := make([]float32, len(y))
		if err := m.Enhance(whole, y, steps, noise, 0); err != nil {
			t.Fatal(err)
		}
		got := chunked(t, m, engine.ChunkConfig{Margin: c.margin}, y, steps, noise)
		if len(got) != len(y) {
			t.Fatalf("%d samples out for %d", len(got), len(y))
		}
		d, at := modeltest.MaxDiff(got, whole)
		s, err := metrics.SNR(whole, got)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s (context %d), 8 s chunks, margin %d: chunked vs whole %.1f dB, max |diff| %.3g at %.2f s (|whole| ≤ %.3g)",
			m.Manifest().Name, m.Context(), c.margin, s, d, float64(at)/16000, peak(whole))
		if !(s >= c.minSNR) {
			t.Errorf("%s margin %d: chunked vs whole %.1f dB, want ≥ %.0f", m.Manifest().Name, c.margin, s, c.minSNR)
		}
	}
}

func peak(x []float32) float64 {
	p := 0.0
	for _, v := range x {
		p = math.Max(p, math.Abs(float64(v)))
	}
	return p
}

// A piece enhanced at an offset that is not a multiple of the hop uses the frames (and the
// draws) of the absolute grid: with the causal model its output converges to the whole-file
// output once the piece's zero start is behind it. A misaligned grid or noise would leave
// a difference at the level of the signal.
func TestSTFTOffsetUsesAbsoluteGrid(t *testing.T) {
	m := openSTFT(t, tfCausal)
	y := testSignal(6*16000, 8)
	noise := sampler.CounterNoise{Seed: 3}
	steps := m.Manifest().DefaultSteps
	// base < 0: the block processor's first windows start before the stream.
	for _, base := range []int64{0, -(256*7 + 13)} {
		whole := make([]float32, len(y))
		if err := m.Enhance(whole, y, steps, noise, base); err != nil {
			t.Fatal(err)
		}
		for _, lo := range []int{256 * 10, 256*10 + 1, 256*10 + 100, 256*11 - 1} {
			part := make([]float32, len(y)-lo)
			if err := m.Enhance(part, y[lo:], steps, noise, base+int64(lo)); err != nil {
				t.Fatal(err)
			}
			tail := len(y) - 2*16000 // the last 2 s, 3.5 s after the piece's start
			d, _ := modeltest.MaxDiff(part[tail-lo:], whole[tail:])
			t.Logf("offset %d: last 2 s differ from the whole-file run by %.3g", base+int64(lo), d)
			if !(d <= 1e-4) {
				t.Errorf("offset %d: last 2 s differ from the whole-file run by %g", base+int64(lo), d)
			}
		}
	}
}

func TestSTFTEnhanceErrors(t *testing.T) {
	m := openSTFT(t, tfOffline)
	if err := m.Eps(make([]float32, 10), make([]float32, 10), make([]float32, 10), 0); err == nil {
		t.Error("Eps on a partial frame: want error")
	}
	out := make([]float32, 5)
	if err := m.Enhance(out, []float32{0.1, -0.2, 0.3, 0, 0.5}, 2, sampler.CounterNoise{}, 7); err != nil {
		t.Errorf("5 samples at offset 7: %v", err)
	}
}
