// Package modeltest builds small model bundles for tests: the fixed-weight toy graphs in
// models/testdata/toy wrapped in a valid manifest, and a check that ONNX Runtime loads.
package modeltest

import (
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
