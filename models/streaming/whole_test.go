package streaming_test

import (
	"testing"

	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/sampler"
	"github.com/restoregrad/restoregrad/models/streaming"
)

// A Processor is what Runner.Frames returns for a streaming bundle, and what engine.Realtime
// wraps (engine.FrameProcessor is models.FrameProcessor).
var _ models.FrameProcessor = (*streaming.Processor)(nil)

// openWhole opens a streaming bundle's whole-signal graphs through the front door.
func openWhole(t testing.TB, b *bundle.Bundle) *models.Model {
	t.Helper()
	m, err := models.OpenOffline(b, models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// The acceptance test: 10 s streamed frame by frame equals the whole-file run of
// the same model's whole-signal graphs with the same counter-noise draws.
func TestStreamEqualsWholeFile(t *testing.T) { streaming.ForBundles(t, streamEqualsWholeFile) }

func streamEqualsWholeFile(t *testing.T, b *bundle.Bundle) {
	whole := openWhole(t, b)
	y := streaming.Signal(10 * 16000)
	for _, steps := range []int{6, 3, 1} {
		want := make([]float32, len(y))
		if err := whole.Enhance(want, y, steps, sampler.CounterNoise{Seed: 5}, 0); err != nil {
			t.Fatal(err)
		}
		p := streaming.OpenBundle(t, b, streaming.Options{Steps: steps, Noise: sampler.CounterNoise{Seed: 5}})
		got := streaming.RunStream(t, p, y)
		d, at := modeltest.MaxDiff(got, want)
		t.Logf("steps %d: max |stream − whole| = %.3g (at %d; |whole| ≤ %.3g)", steps, d, at, streaming.Peak(want))
		if !(d <= 1e-4) { // NaN fails too
			t.Errorf("steps %d: max |stream − whole| = %g at sample %d, want ≤ 1e-4", steps, d, at)
		}
	}
}

// A step change mid-stream hands the caches over and, once the chain's finite memory has
// passed (S·context samples), gives exactly the whole-file output of the new step count.
func TestSetStepsMidStream(t *testing.T) {
	b := streaming.LoadTiny(t)
	whole := openWhole(t, b)
	y := streaming.Signal(4 * 16000)
	p := streaming.OpenTiny(t, streaming.Options{Steps: 6, Noise: sampler.CounterNoise{Seed: 4}})
	h := p.FrameSize()
	for _, c := range []struct{ from, to int }{{6, 3}, {3, 6}, {6, 1}, {2, 5}} {
		p.Reset()
		if err := p.SetSteps(c.from); err != nil {
			t.Fatal(err)
		}
		switchAt := 100 * h
		out := make([]float32, len(y))
		for i := 0; i < len(y); i += h {
			if i == switchAt {
				if err := p.SetSteps(c.to); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Process(out[i:i+h], y[i:i+h]); err != nil {
				t.Fatal(err)
			}
		}
		streaming.CheckFinite(t, "after switch", out)
		want := make([]float32, len(y))
		if err := whole.Enhance(want, y, c.to, sampler.CounterNoise{Seed: 4}, 0); err != nil {
			t.Fatal(err)
		}
		settle := switchAt + c.to*p.Context() + h
		d, _ := modeltest.MaxDiff(out[settle:], want[settle:])
		dj, _ := modeltest.MaxDiff(out[switchAt:switchAt+h], want[switchAt:switchAt+h])
		t.Logf("%d→%d steps: first hop after the switch differs from the %d-step whole-file run by %.3g; from +%d ms on by %.3g",
			c.from, c.to, c.to, dj, (settle-switchAt)/16, d)
		if !(d <= 1e-4) {
			t.Errorf("%d→%d: %g from the %d-step whole-file output after settling, want ≤ 1e-4", c.from, c.to, d, c.to)
		}
	}
}
