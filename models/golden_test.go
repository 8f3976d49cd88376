package models

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/sampler"
)

type goldenIndex struct {
	Steps     int     `json:"steps"`
	Tolerance float64 `json:"tolerance"`
	Files     map[string]struct {
		File  string  `json:"file"`
		Shape []int64 `json:"shape"`
	} `json:"files"`
}

func readF32(t *testing.T, b *bundle.Bundle, name string) []float32 {
	t.Helper()
	raw, err := b.ReadFile(filepath.Join("golden", name))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

func maxDiff(a, b []float32) (float64, int) {
	d, at := 0.0, -1
	for i := range a {
		if v := math.Abs(float64(a[i] - b[i])); v > d || math.IsNaN(v) {
			d, at = v, i
		}
	}
	return d, at
}

// Every shipped offline bundle reproduces the PyTorch exporter's golden tensors through
// ONNX Runtime and the Go sampler: one denoiser call, the prior, and a full few-step run
// with the exporter's noise draws.
func TestShippedBundlesMatchGoldenTensors(t *testing.T) {
	modeltest.RequireRuntime(t)
	dirs, _ := filepath.Glob(filepath.Join("zoo", "*", "golden", "index.json"))
	if len(dirs) == 0 {
		t.Skip("no shipped bundle with golden tensors")
	}
	for _, idx := range dirs {
		dir := filepath.Dir(filepath.Dir(idx))
		t.Run(filepath.Base(dir), func(t *testing.T) {
			b, err := bundle.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if b.Manifest.Kind != bundle.KindOffline {
				t.Skipf("%s bundle: covered by models/streaming", b.Manifest.Kind)
			}
			raw, err := os.ReadFile(idx)
			if err != nil {
				t.Fatal(err)
			}
			var gi goldenIndex
			if err := json.Unmarshal(raw, &gi); err != nil {
				t.Fatal(err)
			}
			tol := 1e-4
			m, err := Open(b, ort.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			y := readF32(t, b, gi.Files["y"].File)
			xt := readF32(t, b, gi.Files["x_t"].File)
			tt := readF32(t, b, gi.Files["t"].File)
			n := len(y)

			eps := make([]float32, n)
			if err := m.Eps(eps, xt, y, tt[0]); err != nil {
				t.Fatal(err)
			}
			if d, at := maxDiff(eps, readF32(t, b, gi.Files["eps"].File)); d > tol {
				t.Errorf("denoiser: max |diff| %g at %d", d, at)
			}
			sigma := make([]float32, n)
			if err := m.Sigma(sigma, y); err != nil {
				t.Fatal(err)
			}
			if d, at := maxDiff(sigma, readF32(t, b, gi.Files["sigma"].File)); d > tol {
				t.Errorf("prior: max |diff| %g at %d", d, at)
			}
			noise := readF32(t, b, gi.Files["noise"].File)
			draws := make([][]float32, gi.Steps)
			for k := range draws {
				draws[k] = noise[k*n : (k+1)*n]
			}
			betas, err := b.Manifest.Schedule(gi.Steps)
			if err != nil {
				t.Fatal(err)
			}
			s, err := sampler.New(b.Manifest.TrainingBetas, betas, b.Manifest.FinalBlend)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, n)
			if err := s.Sample(out, y, sigma, m, &sampler.FixedNoise{Draws: draws}, 0); err != nil {
				t.Fatal(err)
			}
			d, at := maxDiff(out, readF32(t, b, gi.Files["sample"].File))
			t.Logf("%s: %d-step sample max |Go − PyTorch| = %.3g", b.Manifest.Name, gi.Steps, d)
			if d > tol {
				t.Errorf("sample: max |diff| %g at %d", d, at)
			}
		})
	}
}
