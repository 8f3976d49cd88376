// Package modeltest builds small model bundles for tests: the fixed-weight toy graphs in
// models/testdata/toy wrapped in a valid manifest, and a check that ONNX Runtime loads.
package modeltest

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/ort"
)

// RequireRuntime loads ONNX Runtime or skips the test; under CI a missing library fails it,
// because `make test` installs the library first.
func RequireRuntime(t testing.TB) {
	t.Helper()
	if err := ort.Init(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ONNX Runtime missing in CI: %v", err)
		}
		t.Skipf("ONNX Runtime not installed (run make setup): %v", err)
	}
}

// ToyManifest describes the toy graphs: eps = 0.5·(x_t − y), sigma = 0.5 + 0.5·smooth3(|y|).
func ToyManifest() bundle.Manifest {
	betas := make([]float64, 50)
	for i := range betas {
		betas[i] = 1e-4 + (0.035-1e-4)*float64(i)/49
	}
	spec := func(names ...string) []bundle.TensorSpec {
		s := make([]bundle.TensorSpec, len(names))
		for i, n := range names {
			s[i] = bundle.TensorSpec{Name: n, Shape: []int64{1, 1, -1}}
			if n == "t" {
				s[i].Shape = []int64{1}
			}
		}
		return s
	}
	return bundle.Manifest{
		Schema: 1, Name: "toy", Version: "0", Kind: bundle.KindOffline, Config: "toy", Objective: "none",
		Trained: false, Description: "fixed-weight test graphs", SampleRate: 16000, LengthMultiple: 4, Context: 1,
		TrainingBetas: betas,
		InferenceSchedules: map[string][]float64{
			"6": {1e-4, 1e-3, 0.01, 0.05, 0.2, 0.35},
			"3": {1e-4, 0.05, 0.5},
		},
		DefaultSteps: 6,
		Networks: map[string]bundle.Network{
			bundle.Denoiser: {File: "denoiser.onnx", Inputs: spec("x_t", "y", "t"), Outputs: spec("eps")},
			bundle.Prior:    {File: "prior.onnx", Inputs: spec("y"), Outputs: spec("sigma")},
		},
	}
}

// ToyBundle writes the toy bundle into dir (created) and returns dir.
func ToyBundle(t testing.TB, dir string, m bundle.Manifest) string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	toy := filepath.Join(filepath.Dir(self), "..", "testdata", "toy")
	files := map[string][]byte{}
	for _, name := range []string{bundle.Denoiser, bundle.Prior} {
		data, err := os.ReadFile(filepath.Join(toy, name+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
	}
	if err := bundle.Write(dir, m, files); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ReadGolden reads one of a bundle's golden parity tensors (golden/FILE, raw little-endian
// float32, as the exporter writes them).
func ReadGolden(t testing.TB, b *bundle.Bundle, file string) []float32 {
	t.Helper()
	raw, err := b.ReadFile(filepath.Join("golden", file))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// MaxDiff returns the largest |a[i] − b[i]| and its index (-1 when a is empty); a NaN
// difference counts as the largest.
func MaxDiff(a, b []float32) (float64, int) {
	worst, at := 0.0, -1
	for i := range a {
		d := math.Abs(float64(a[i] - b[i]))
		if d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	return worst, at
}
