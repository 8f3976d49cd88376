package models

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// goToy computes the toy graphs in Go.
type goToy struct{}

func (goToy) Eps(dst, xt, y []float32, t float32) error {
	for i := range dst {
		dst[i] = 0.5 * (xt[i] - y[i])
	}
	return nil
}

func toySigma(y []float32) []float32 {
	s := make([]float32, len(y))
	for i := range y {
		var sum float32
		for j := i - 1; j <= i+1; j++ {
			if j >= 0 && j < len(y) {
				sum += float32(math.Abs(float64(y[j])))
			}
		}
		s[i] = 0.5 + 0.5*sum/3
	}
	return s
}

func openToy(t *testing.T) *Model {
	t.Helper()
	modeltest.RequireRuntime(t)
	dir := modeltest.ToyBundle(t, filepath.Join(t.TempDir(), "toy"), modeltest.ToyManifest())
	b, err := bundle.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := openOffline(b, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestEnhanceMatchesGoReference(t *testing.T) {
	m := openToy(t)
	for _, n := range []int{8, 1001, 16000} { // 1001 is not a multiple of 4: padded
		y := make([]float32, n)
		for i := range y {
			y[i] = float32(0.4 * math.Sin(float64(i)*0.03))
		}
		for _, steps := range []int{6, 3, 50, 4, 1} {
			got := make([]float32, n)
			noise := sampler.CounterNoise{Seed: 3}
			if err := m.Enhance(got, y, steps, noise, 100); err != nil {
				t.Fatal(err)
			}
			// Reference: pad like the model does, sample in Go.
			pn := (n + 3) / 4 * 4
			yp := make([]float32, pn)
			copy(yp, y)
			betas, _ := m.Manifest().Schedule(steps)
			s, err := sampler.New(m.Manifest().TrainingBetas, betas, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, pn)
			if err := s.Sample(want, yp, toySigma(yp), goToy{}, noise, 100); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
					t.Fatalf("n=%d steps=%d: sample %d: %v vs %v", n, steps, i, got[i], want[i])
				}
			}
		}
	}
}

func TestStepsAndErrors(t *testing.T) {
	m := openToy(t)
	if err := m.CheckSteps(6); err != nil {
		t.Fatal(err)
	}
	if err := m.CheckSteps(51); err == nil {
		t.Fatal("51 steps: want error (T = 50)")
	}
	if err := m.Enhance(make([]float32, 4), make([]float32, 4), 0, sampler.CounterNoise{}, 0); err == nil {
		t.Fatal("Enhance with 0 steps: want error")
	}
	if err := m.Enhance(make([]float32, 3), make([]float32, 4), 6, sampler.CounterNoise{}, 0); err == nil {
		t.Fatal("length mismatch: want error")
	}
	if m.SampleRate() != 16000 || m.Context() != 1 {
		t.Fatalf("rate %d context %d", m.SampleRate(), m.Context())
	}
}

func TestOpenRejectsStreamingAndTamperedBundles(t *testing.T) {
	modeltest.RequireRuntime(t)
	man := modeltest.ToyManifest()
	man.Kind = bundle.KindStreaming
	dir := modeltest.ToyBundle(t, filepath.Join(t.TempDir(), "s"), man)
	b, err := bundle.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openOffline(b, ort.Options{}); err == nil {
		t.Fatal("streaming bundle opened as offline")
	}
}

// A graph whose inputs and outputs are not the manifest's fails when the bundle opens,
// with an error naming the bundle and the graph (issue 15 item 7), not on the first file.
func TestOpenChecksGraphPorts(t *testing.T) {
	modeltest.RequireRuntime(t)
	src := modeltest.ToyBundle(t, filepath.Join(t.TempDir(), "toy"), modeltest.ToyManifest())
	den, err := os.ReadFile(filepath.Join(src, "denoiser.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	pri, err := os.ReadFile(filepath.Join(src, "prior.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "swapped")
	// Each graph stored under the other's name: valid ONNX, wrong inputs and outputs.
	if err := bundle.Write(dir, modeltest.ToyManifest(), map[string][]byte{bundle.Denoiser: pri, bundle.Prior: den}); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = openOffline(b, ort.Options{})
	if err == nil {
		t.Fatal("swapped graphs opened")
	}
	t.Log(err)
	for _, want := range []string{dir, "denoiser.onnx", "does not match manifest.json", `no input "x_t"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
