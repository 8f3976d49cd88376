package models_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/modeltest"
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

// goldenDirs are the folders searched for bundles with golden tensors: every shipped bundle
// (whatever the lead ships next is picked up without edits) and the test bundles.
var goldenDirs = []string{"zoo/*", "testdata/*", "streaming/testdata/*"}

// Every bundle with golden tensors, offline or streaming (its whole-signal graphs), in
// either domain, reproduces the PyTorch exporter's tensors through ONNX Runtime and the Go
// sampler: one denoiser call, the prior, and a full run with the exporter's noise draws;
// for STFT bundles also the analysis (wave_y → y) and the synthesis (sample → wave_out).
func TestBundlesMatchGoldenTensors(t *testing.T) {
	modeltest.RequireRuntime(t)
	var found []string
	for _, g := range goldenDirs {
		idx, _ := filepath.Glob(filepath.Join(g, "golden", "index.json"))
		found = append(found, idx...)
	}
	if len(found) == 0 {
		t.Skip("no bundle with golden tensors")
	}
	for _, idx := range found {
		dir := filepath.Dir(filepath.Dir(idx))
		t.Run(dir, func(t *testing.T) {
			b, err := bundle.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(idx)
			if err != nil {
				t.Fatal(err)
			}
			var gi goldenIndex
			if err := json.Unmarshal(raw, &gi); err != nil {
				t.Fatalf("%s: %v", idx, err)
			}
			m := openOffline(t, b)
			g := golden{t: t, b: b, gi: gi, tol: 1e-4}
			if b.Manifest.IsSTFT() {
				goldenSTFT(g, m)
			} else {
				goldenWave(g, m)
			}
		})
	}
}

type golden struct {
	t   *testing.T
	b   *bundle.Bundle
	gi  goldenIndex
	tol float64
}

func (g golden) read(name string) []float32 {
	f, ok := g.gi.Files[name]
	if !ok {
		g.t.Fatalf("golden/index.json lists no %q", name)
	}
	return modeltest.ReadGolden(g.t, g.b, f.File)
}

// check compares got with golden tensor name and logs the difference.
func (g golden) check(what string, got []float32, name string) {
	g.t.Helper()
	want := g.read(name)
	if len(got) != len(want) {
		g.t.Errorf("%s: %d values, golden %s has %d", what, len(got), name, len(want))
		return
	}
	d, at := modeltest.MaxDiff(got, want)
	g.t.Logf("%s %s: max |Go − PyTorch| = %.3g", g.b.Manifest.Name, what, d)
	if !(d <= g.tol) {
		g.t.Errorf("%s: max |diff| %g at %d, want ≤ %g", what, d, at, g.tol)
	}
}

// draws splits the golden noise [S, ...] into the sampler's rows.
func (g golden) draws(rowLen int) *sampler.FixedNoise {
	noise := g.read("noise")
	d := make([][]float32, g.gi.Steps)
	for k := range d {
		d[k] = noise[k*rowLen : (k+1)*rowLen]
	}
	return &sampler.FixedNoise{Draws: d}
}

// networks runs the denoiser and the prior on the golden inputs and checks their outputs
// against the exporter's; it returns the input y (graph layout) and the prior's sigma.
func (g golden) networks(m *models.Model) (y, sigma []float32) {
	t := g.t
	y, xt, tt := g.read("y"), g.read("x_t"), g.read("t")
	eps := make([]float32, len(y))
	if err := m.Eps(eps, xt, y, tt[0]); err != nil {
		t.Fatal(err)
	}
	g.check("denoiser", eps, "eps")
	sigma = make([]float32, len(y))
	if err := m.Sigma(sigma, y); err != nil {
		t.Fatal(err)
	}
	g.check("prior", sigma, "sigma")
	return y, sigma
}

func goldenWave(g golden, m *models.Model) {
	y, sigma := g.networks(m)
	n := len(y)
	out := make([]float32, n)
	if err := m.Sample(out, y, sigma, g.gi.Steps, g.draws(n), 0); err != nil {
		g.t.Fatal(err)
	}
	g.check("sample", out, "sample")
}

func goldenSTFT(g golden, m *models.Model) {
	t := g.t
	bins := g.b.Manifest.STFT.Bins()
	front, err := g.b.Manifest.FrontEnd()
	if err != nil {
		t.Fatal(err)
	}
	wave := g.read("wave_y")
	yc := front.Forward(wave) // frame-major
	yg := make([]float32, len(yc))
	models.ToGraph(yg, yc, bins)
	g.check("analysis (wave_y → y)", yg, "y")

	y, sg := g.networks(m)
	n := len(y)

	yf, sf, out := make([]float32, n), make([]float32, n), make([]float32, n)
	models.FromGraph(yf, y, bins)
	models.FromGraph(sf, sg, bins)
	if err := m.Sample(out, yf, sf, g.gi.Steps, g.draws(n), 0); err != nil {
		t.Fatal(err)
	}
	og := make([]float32, n)
	models.ToGraph(og, out, bins)
	g.check("sample", og, "sample")
	w, err := front.Inverse(out, len(wave))
	if err != nil {
		t.Fatal(err)
	}
	g.check("synthesis (sample → wave_out)", w, "wave_out")

	// The whole path an Enhancer user takes: waveform in, waveform out.
	enh := make([]float32, len(wave))
	if err := m.Enhance(enh, wave, g.gi.Steps, g.draws(n), 0); err != nil {
		t.Fatal(err)
	}
	g.check("Enhance (wave_y → wave_out)", enh, "wave_out")
}
