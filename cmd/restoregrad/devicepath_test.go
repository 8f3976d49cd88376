package main

import (
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/metrics"
	"github.com/restoregrad/restoregrad/dsp/resample"
	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/zoo"
)

// Live, virtual-mic and plugin users reach the streaming model through a 44.1 or 48 kHz
// device: the project's resampler takes their audio to 16 kHz and back. That round trip
// changes the model's input by only -41 to -51 dB (its passband ends at 7.2 kHz), so a
// model that does no harm gives nearly the same output both ways, and leaves clean speech
// nearly as it was. The models before issue 22 keyed on the top band and did neither.
//
// The signals: wideband speech from espeak-ng (synthetic, so nothing is copied into the
// tree; the test skips without it), alone and with white noise at 10 dB SNR, and the
// demo's sample (G.722 prompts, band-limited at 7 kHz), noisy and clean, each also at a
// quiet talker's level (x0.05, -26 dB). Measured (this test's log lines), restoregrad-rt
// before issue 22 (0.5) / after (recipe v2, models/results/RESULTS.md 0.6):
//
//	outputs at 16 kHz vs via 48 kHz, noisy input     3.8-21.9 dB / 24.2-28.0 dB
//	outputs at 16 kHz vs via 48 kHz, clean input     2.4-25.3 dB / 31.8-34.9 dB
//	clean sample, output vs input (16 kHz, 48 kHz)   0.7-17.0 dB / 18.1-18.4 dB
//
// The bounds sit 2-4 dB below the new model's lowest figure (room for other ONNX Runtime
// builds and CPUs; the noise draws are seeded) and above the old model's worst. The clean
// bound is a waveform SNR, which the 0.2 final blend and the model's phase estimate cap
// near 18 dB even when nothing audible changes (dev clean files in: PESQ-WB 4.32, ESTOI
// 0.987).
const (
	minDeviceAgreementDB = 22.0
	minCleanAgreementDB  = 28.0
	minCleanSNRDB        = 16.0
)

func TestStreamingModelThroughDevicePath(t *testing.T) {
	if testing.Short() {
		t.Skip("enhances speech eight times with the shipped model")
	}
	modeltest.RequireRuntime(t)
	if _, err := zoo.Find(zoo.DefaultStreaming); err != nil {
		t.Skipf("no shipped streaming model: %v", err)
	}
	speech := espeak(t, "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore.")
	noisy := withWhiteNoise(speech, 10)
	sample := readTestdata(t, "sample-noisy.wav")
	cleanSample := readTestdata(t, "sample-clean.wav")
	for _, tc := range []struct {
		name  string
		x     []float32
		agree float64 // least agreement of the outputs at 16 kHz and via 48 kHz, dB
		clean bool    // do no harm: the output must also stay within minCleanSNRDB of the input
	}{
		{"espeak+noise", noisy, minDeviceAgreementDB, false},
		{"espeak+noise-quiet", scaled(noisy, 0.05), minDeviceAgreementDB, false},
		{"sample-noisy", sample, minDeviceAgreementDB, false},
		{"espeak-clean", speech, minCleanAgreementDB, false},
		{"espeak-clean-quiet", scaled(speech, 0.05), minCleanAgreementDB, false},
		{"sample-clean", cleanSample, minCleanAgreementDB, true},
		{"sample-clean-quiet", scaled(cleanSample, 0.05), minCleanAgreementDB, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			direct := enhanceWith(t, tc.x, 16000)
			via48 := roundTrip(t, enhanceWith(t, roundTrip(t, tc.x, 16000, 48000), 48000), 48000, 16000)
			agree := snrDB(t, direct, via48)
			t.Logf("%s: outputs at 16 kHz and via 48 kHz agree to %.1f dB", tc.name, agree)
			if agree < tc.agree {
				t.Errorf("%s: outputs at 16 kHz and via 48 kHz agree to %.1f dB, want >= %.0f", tc.name, agree, tc.agree)
			}
			if !tc.clean {
				return
			}
			for _, out := range []struct {
				path string
				y    []float32
			}{{"16 kHz", direct}, {"via 48 kHz", via48}} {
				got := snrDB(t, tc.x, out.y)
				t.Logf("%s, %s: output %.1f dB SNR from the input", tc.name, out.path, got)
				if got < minCleanSNRDB {
					t.Errorf("%s, %s: output %.1f dB SNR from the clean input, want >= %.0f", tc.name, out.path, got, minCleanSNRDB)
				}
			}
		})
	}
}

// espeak synthesises text with espeak-ng at 16 kHz, peak at -6 dBFS; the test skips
// without espeak-ng.
func espeak(t *testing.T, text string) []float32 {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng not installed (make setup installs it)")
	}
	path := filepath.Join(t.TempDir(), "speech.wav")
	if out, err := exec.Command("espeak-ng", "-v", "en-us", "-s", "150", "-w", path, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, out)
	}
	x, f, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	y := roundTrip(t, x[0], f.SampleRate, 16000)
	peak := float32(0)
	for _, v := range y {
		peak = max(peak, v, -v)
	}
	for i := range y {
		y[i] *= 0.5 / peak
	}
	return y
}

// withWhiteNoise adds reproducible white noise at snr dB below x's power.
func withWhiteNoise(x []float32, snr float64) []float32 {
	rng := rand.New(rand.NewPCG(22, 48))
	var p float64
	for _, v := range x {
		p += float64(v) * float64(v)
	}
	sd := math.Sqrt(p / float64(len(x)) / math.Pow(10, snr/10))
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = v + float32(sd*rng.NormFloat64())
	}
	return y
}

// scaled is x times g (a quieter talker: -32 dBFS peak for g = 0.05 of the -6 dBFS speech).
func scaled(x []float32, g float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = g * v
	}
	return y
}

func readTestdata(t *testing.T, name string) []float32 {
	t.Helper()
	x, _, err := wav.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return x[0]
}

// enhanceWith writes x at rate, runs `restoregrad enhance --model restoregrad-rt` on it and
// returns the output.
func enhanceWith(t *testing.T, x []float32, rate int) []float32 {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
	if err := wav.WriteFile(in, [][]float32{x}, wav.Format{SampleRate: rate, Channels: 1, BitsPerSample: 32, Float: true}); err != nil {
		t.Fatal(err)
	}
	if err := runEnhance([]string{in, "-o", out, "--model", zoo.DefaultStreaming, "--quiet"}); err != nil {
		t.Fatal(err)
	}
	y, _, err := wav.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return y[0]
}

func roundTrip(t *testing.T, x []float32, from, to int) []float32 {
	t.Helper()
	y := resample.Resample(x, from, to)
	if y == nil {
		t.Fatalf("resample %d -> %d Hz refused", from, to)
	}
	return y
}

func snrDB(t *testing.T, ref, est []float32) float64 {
	t.Helper()
	n := min(len(ref), len(est))
	v, err := metrics.SNR(ref[:n], est[:n])
	if err != nil {
		t.Fatal(err)
	}
	return v
}
