package bundle

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testManifest() Manifest {
	return Manifest{
		Schema: 1, Name: "test", Version: "0", Kind: KindOffline, SampleRate: 16000,
		LengthMultiple: 4, Context: 64,
		TrainingBetas:      []float64{0.01, 0.02, 0.03},
		InferenceSchedules: map[string][]float64{"2": {0.01, 0.05}},
		DefaultSteps:       2,
		Networks: map[string]Network{
			Denoiser: {File: "denoiser.onnx", Inputs: []TensorSpec{{"x_t", []int64{1, 1, -1}}}, Outputs: []TensorSpec{{"eps", []int64{1, 1, -1}}}},
			Prior:    {File: "prior.onnx", Inputs: []TensorSpec{{"y", []int64{1, 1, -1}}}, Outputs: []TensorSpec{{"sigma", []int64{1, 1, -1}}}},
		},
	}
}

func writeTest(t *testing.T, m Manifest) string {
	t.Helper()
	dir := t.TempDir()
	if err := Write(dir, m, map[string][]byte{Denoiser: []byte("den"), Prior: []byte("pri")}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadRoundTrip(t *testing.T) {
	dir := writeTest(t, testManifest())
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, n, err := b.Network(Denoiser)
	if err != nil || string(data) != "den" || n.InputNames()[0] != "x_t" {
		t.Fatalf("Network: %q %v %v", data, n, err)
	}
	if s, err := b.Manifest.Schedule(2); err != nil || len(s) != 2 {
		t.Fatalf("Schedule(2) = %v, %v", s, err)
	}
	if s, err := b.Manifest.Schedule(3); err != nil || len(s) != 3 {
		t.Fatalf("Schedule(3) (full) = %v, %v", s, err)
	}
	if _, err := b.Manifest.Schedule(4); err == nil || !strings.Contains(err.Error(), "no 4-step") {
		t.Fatalf("Schedule(4) error = %v", err)
	}
	if s, err := b.Manifest.Schedule(1); err != nil || len(s) != 1 {
		t.Fatalf("Schedule(1) (derived) = %v, %v", s, err)
	}
}

func TestChecksumMismatch(t *testing.T) {
	dir := writeTest(t, testManifest())
	if err := os.WriteFile(filepath.Join(dir, "prior.onnx"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = b.Network(Prior)
	if err == nil || !strings.Contains(err.Error(), "SHA-256") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("want SHA-256 error naming the bundle, got %v", err)
	}
}

func TestManifestErrors(t *testing.T) {
	cases := map[string]func(m *Manifest){
		"schema":          func(m *Manifest) { m.Schema = 9 },
		"kind":            func(m *Manifest) { m.Kind = "magic" },
		"sample_rate":     func(m *Manifest) { m.SampleRate = 0 },
		"length_multiple": func(m *Manifest) { m.LengthMultiple = 0 },
		"training_betas":  func(m *Manifest) { m.TrainingBetas = []float64{0.1, 1.5} },
		"inference_schedules": func(m *Manifest) {
			m.InferenceSchedules = map[string][]float64{"3": {0.1}}
		},
		"default_steps": func(m *Manifest) { m.DefaultSteps = 7 },
		"networks.prior missing": func(m *Manifest) {
			delete(m.Networks, Prior)
		},
		"plain relative name": func(m *Manifest) {
			n := m.Networks[Denoiser]
			n.File = "../escape.onnx"
			m.Networks[Denoiser] = n
		},
		"final_blend": func(m *Manifest) { m.FinalBlend = 1 },
	}
	for want, mutate := range cases {
		m := testManifest()
		mutate(&m)
		for name, n := range m.Networks {
			n.SHA256 = strings.Repeat("0", 64)
			m.Networks[name] = n
		}
		err := m.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v", want, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("absent folder: want error")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"schema":1,"bogus":true}`), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown field: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{not json`), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "manifest.json") {
		t.Errorf("bad json: %v", err)
	}
}

func TestDeriveSchedule(t *testing.T) {
	base := []float64{1e-4, 1e-3, 0.01, 0.05, 0.2, 0.35}
	abar := func(b []float64) float64 {
		p := 1.0
		for _, x := range b {
			p *= 1 - x
		}
		return p
	}
	same := DeriveSchedule(base, len(base))
	for i := range base {
		if math.Abs(same[i]-base[i]) > 1e-12 {
			t.Fatalf("n = len(base) must reproduce base: %v", same)
		}
	}
	for n := 1; n <= 10; n++ {
		s := DeriveSchedule(base, n)
		if len(s) != n || math.Abs(abar(s)-abar(base)) > 1e-12 {
			t.Fatalf("n=%d: %v keeps ᾱ_final %v, want %v", n, s, abar(s), abar(base))
		}
		for _, b := range s {
			if !(b > 0 && b < 1) {
				t.Fatalf("n=%d: beta %v outside (0,1)", n, b)
			}
		}
		if n > 1 && math.Abs(s[0]-base[0]) > 1e-12 {
			t.Fatalf("n=%d: first beta %v, want %v", n, s[0], base[0])
		}
	}
}
