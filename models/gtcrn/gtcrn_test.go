package gtcrn

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/metrics"
	"github.com/restoregrad/restoregrad/dsp/pesq"
	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/models/ort"
)

const (
	sharedModel = "../../../shared/peers/gtcrn/gtcrn_simple.onnx"
	sharedDev   = "../../../shared/data/vbdemand-dev"
)

func openShared(t *testing.T) *Model {
	t.Helper()
	if _, err := os.Stat(sharedModel); err != nil {
		t.Skipf("GTCRN model absent (%v): ../shared is not mounted", err)
	}
	if err := ort.Init(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ONNX Runtime missing in CI: %v", err)
		}
		t.Skipf("ONNX Runtime not installed (run make setup): %v", err)
	}
	m, err := Open(sharedModel, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func readMono(t *testing.T, path string) []float32 {
	t.Helper()
	ch, f, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.SampleRate != Rate {
		t.Fatalf("%s: rate %d", path, f.SampleRate)
	}
	return ch[0]
}

// TestImprovesDev: on a few real dev pairs GTCRN must raise SI-SDR or PESQ-WB over the
// noisy input (on average).
func TestImprovesDev(t *testing.T) {
	m := openShared(t)
	files := []string{"p232_001.wav", "p232_005.wav", "p257_011.wav"}
	var dSDR, dPESQ float64
	n := 0
	for _, name := range files {
		cleanPath := filepath.Join(sharedDev, "clean", name)
		if _, err := os.Stat(cleanPath); err != nil {
			continue
		}
		clean := readMono(t, cleanPath)
		noisy := readMono(t, filepath.Join(sharedDev, "noisy", name))
		enh, err := m.Enhance(noisy)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(enh) != len(noisy) {
			t.Fatalf("%s: %d samples out for %d", name, len(enh), len(noisy))
		}
		sdrN, err1 := metrics.SISDR(clean, noisy)
		sdrE, err2 := metrics.SISDR(clean, enh)
		pN, err3 := pesq.Score(clean, noisy, Rate, pesq.WideBand)
		pE, err4 := pesq.Score(clean, enh, Rate, pesq.WideBand)
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		t.Logf("%s: SI-SDR %.2f → %.2f dB, PESQ-WB %.3f → %.3f", name, sdrN, sdrE, pN, pE)
		dSDR += sdrE - sdrN
		dPESQ += pE - pN
		n++
	}
	if n == 0 {
		t.Skip("no dev pairs found")
	}
	if dSDR <= 0 && dPESQ <= 0 {
		t.Fatalf("GTCRN improved neither SI-SDR (mean Δ %.2f dB) nor PESQ (mean Δ %.3f)", dSDR/float64(n), dPESQ/float64(n))
	}
}

// TestStreamMatchesEnhance: hop-by-hop streaming gives the whole-signal output delayed
// by Delay().
func TestStreamMatchesEnhance(t *testing.T) {
	m := openShared(t)
	y := make([]float32, 40*Hop)
	for i := range y {
		y[i] = float32(0.2*math.Sin(2*math.Pi*440*float64(i)/Rate) + 0.05*math.Sin(float64(i)*1.7))
	}
	whole, err := m.Enhance(y)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewStream()
	var out []float32
	for i := 0; i+Hop <= len(y); i += Hop {
		if out, err = s.Process(out, y[i:i+Hop]); err != nil {
			t.Fatal(err)
		}
	}
	d := s.Delay()
	worst := 0.0
	for i := d; i < len(out); i++ {
		worst = max(worst, math.Abs(float64(out[i]-whole[i-d])))
	}
	if worst > 1e-5 {
		t.Fatalf("stream differs from whole-signal output by %g", worst)
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "none.onnx"), ort.Options{}); err == nil {
		t.Fatal("want error")
	}
}
