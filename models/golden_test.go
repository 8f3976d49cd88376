package models

import (
	"encoding/json"
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
			y := modeltest.ReadGolden(t, b, gi.Files["y"].File)
			xt := modeltest.ReadGolden(t, b, gi.Files["x_t"].File)
			tt := modeltest.ReadGolden(t, b, gi.Files["t"].File)
			n := len(y)

			eps := make([]float32, n)
			if err := m.Eps(eps, xt, y, tt[0]); err != nil {
				t.Fatal(err)
			}
			if d, at := modeltest.MaxDiff(eps, modeltest.ReadGolden(t, b, gi.Files["eps"].File)); d > tol {
				t.Errorf("denoiser: max |diff| %g at %d", d, at)
			}
			sigma := make([]float32, n)
			if err := m.Sigma(sigma, y); err != nil {
				t.Fatal(err)
			}
			if d, at := modeltest.MaxDiff(sigma, modeltest.ReadGolden(t, b, gi.Files["sigma"].File)); d > tol {
				t.Errorf("prior: max |diff| %g at %d", d, at)
			}
			noise := modeltest.ReadGolden(t, b, gi.Files["noise"].File)
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
			d, at := modeltest.MaxDiff(out, modeltest.ReadGolden(t, b, gi.Files["sample"].File))
			t.Logf("%s: %d-step sample max |Go − PyTorch| = %.3g", b.Manifest.Name, gi.Steps, d)
			if d > tol {
				t.Errorf("sample: max |diff| %g at %d", d, at)
			}
		})
	}
}
