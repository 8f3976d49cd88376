package eval

import (
	"context"
	"math"
	"testing"

	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// An STFT-domain streaming bundle scored frame by frame (its output one hop late) gives, once
// StreamSystem undoes the latency, the whole-file output of the same model and draws.
func TestStreamSystemSTFTBundle(t *testing.T) {
	modeltest.RequireRuntime(t)
	b, err := bundle.Load("../../models/streaming/testdata/tf-rt")
	if err != nil {
		t.Fatal(err)
	}
	r, err := models.OpenBundle(b, models.Options{Threads: 1, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := r.Frames()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := r.Offline()
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, 3*16000+77)
	for i := range y {
		y[i] = float32(0.2 * math.Sin(float64(i)*0.031) * math.Sin(float64(i)*0.0007))
	}
	sys := &StreamSystem{Name: "tf-rt", Proc: p}
	got, rate, err := sys.Enhance(context.Background(), Pair{}, y, 16000)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, len(y))
	if err := whole.Enhance(want, y, p.Steps(), sampler.CounterNoise{Seed: 4}, 0); err != nil {
		t.Fatal(err)
	}
	if rate != 16000 || len(got) != len(y) {
		t.Fatalf("%d samples at %d Hz for %d", len(got), rate, len(y))
	}
	worst := 0.0
	for i := range got {
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("frame by frame vs whole file: max |diff| %.3g", worst)
	if !(worst <= 1e-4) {
		t.Errorf("frame by frame vs whole file: max |diff| %g, want ≤ 1e-4", worst)
	}
}
