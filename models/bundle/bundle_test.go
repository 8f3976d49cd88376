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
			Denoiser: {File: "denoiser.onnx", Inputs: []TensorSpec{{"x_t", []int64{1, 1, -1}}, {"y", []int64{1, 1, -1}}, {"t", []int64{1}}}, Outputs: []TensorSpec{{"eps", []int64{1, 1, -1}}}},
			Prior:    {File: "prior.onnx", Inputs: []TensorSpec{{"y", []int64{1, 1, -1}}}, Outputs: []TensorSpec{{"sigma", []int64{1, 1, -1}}}},
		},
	}
}

// stftManifest is testManifest in the STFT domain (schema 2, 512/256).
func stftManifest() Manifest {
	m := testManifest()
	m.Schema, m.Domain, m.LengthMultiple = 2, DomainSTFT, 256
	m.STFT = &STFT{NFFT: 512, Hop: 256, Window: WindowSqrtHann, Compress: 0.3, Scale: 1}
	m.Networks = map[string]Network{}
	for name, n := range m.WholeSignalSpecs() {
		n.File = name + ".onnx"
		m.Networks[name] = n
	}
	return m
}

func TestSchema2(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, stftManifest(), map[string][]byte{Denoiser: []byte("den"), Prior: []byte("pri")}); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := &b.Manifest
	if !m.IsSTFT() || m.STFT.Bins() != 257 || m.Networks[Denoiser].Inputs[0].Shape[3] != 257 {
		t.Fatalf("schema 2 manifest read as %+v", m)
	}
	if w := testManifest(); w.IsSTFT() {
		t.Fatal("schema 1 manifest is not in the STFT domain")
	}
	cases := map[string]func(m *Manifest){
		"needs schema 2":     func(m *Manifest) { m.Schema = 1 },
		"without an stft":    func(m *Manifest) { m.STFT = nil },
		"stft.hop":           func(m *Manifest) { m.STFT.Hop = 128 },
		"stft.n_fft":         func(m *Manifest) { m.STFT.NFFT, m.STFT.Hop = 511, 255 },
		"stft.window":        func(m *Manifest) { m.STFT.Window = "hann" },
		"stft.compress":      func(m *Manifest) { m.STFT.Compress = 0 },
		"stft.scale":         func(m *Manifest) { m.STFT.Scale = -1 },
		"length_multiple":    func(m *Manifest) { m.LengthMultiple = 8 },
		"domain \"time\"":    func(m *Manifest) { m.Domain = "time" },
		"stft given":         func(m *Manifest) { m.Domain = "" },
		"schema 3":           func(m *Manifest) { m.Schema = 3 },
		"networks.denoiser:": func(m *Manifest) { m.Networks[Denoiser].Inputs[0].Shape[3] = 256 },
		"networks.prior:": func(m *Manifest) {
			n := m.Networks[Prior]
			n.Outputs = []TensorSpec{{"sigma", []int64{1, 1, -1}}}
			m.Networks[Prior] = n
		},
	}
	checkInvalid(t, stftManifest, cases)
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
		"networks.denoiser: inputs": func(m *Manifest) {
			n := m.Networks[Denoiser]
			n.Inputs = []TensorSpec{n.Inputs[1], n.Inputs[0], n.Inputs[2]} // y before x_t
			m.Networks[Denoiser] = n
		},
	}
	checkInvalid(t, testManifest, cases)
}

// checkInvalid applies each case's mutation to a fresh base manifest (its networks given
// checksums) and wants Validate to fail with an error that contains the case's key.
func checkInvalid(t *testing.T, base func() Manifest, cases map[string]func(m *Manifest)) {
	t.Helper()
	for want, mutate := range cases {
		m := base()
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
