package peers

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/metrics"
	"github.com/restoregrad/restoregrad/dsp/pesq"
	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/models/modeltest"
)

// The real peer graphs and dev pairs, present where ../shared is mounted.
const (
	sharedPeers = "../../../shared/peers"
	sharedDev   = "../../../shared/data/vbdemand-dev"
)

// sharedGraphs maps each shared graph to the format it must be detected as.
var sharedGraphs = []struct{ file, format string }{
	{"gtcrn/gtcrn_simple.onnx", "gtcrn"},
	{"gtcrn/gtcrn_vctk.onnx", "gtcrn"},
	{"ulunas/ulunas_stream_simple.onnx", "ulunas"},
}

// openShared opens a shared peer graph, or skips when ../shared is absent.
func openShared(t *testing.T, file string) *Model {
	t.Helper()
	path := filepath.Join(sharedPeers, file)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("peer graph absent (%v): ../shared is not mounted", err)
	}
	modeltest.RequireRuntime(t)
	return open(t, path)
}

func TestSharedDetect(t *testing.T) {
	for _, g := range sharedGraphs {
		t.Run(g.file, func(t *testing.T) {
			if m := openShared(t, g.file); m.Format().Name != g.format {
				t.Errorf("%s detected as %s, want %s", g.file, m.Format().Name, g.format)
			}
		})
	}
}

// TestSharedStreamMatchesEnhance: hop-by-hop streaming through the real graphs gives the
// whole-signal output delayed by Delay().
func TestSharedStreamMatchesEnhance(t *testing.T) {
	for _, g := range sharedGraphs {
		t.Run(g.file, func(t *testing.T) {
			m := openShared(t, g.file)
			if w := streamVsWhole(t, m, testSignal(40*m.f.Hop)); w > 1e-5 {
				t.Fatalf("stream differs from whole-signal output by %g", w)
			}
		})
	}
}

func readMono(t *testing.T, path string, rate int) []float32 {
	t.Helper()
	ch, f, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.SampleRate != rate {
		t.Fatalf("%s: rate %d, want %d", path, f.SampleRate, rate)
	}
	return ch[0]
}

// TestSharedImprovesDev: on a few real dev pairs every peer must raise both SI-SDR and
// PESQ-WB over the noisy input, on average (a wrong window or scale does not).
func TestSharedImprovesDev(t *testing.T) {
	files := []string{"p232_001.wav", "p232_005.wav", "p257_011.wav"}
	for _, g := range sharedGraphs {
		t.Run(g.file, func(t *testing.T) {
			m := openShared(t, g.file)
			var dSDR, dPESQ float64
			n := 0
			for _, name := range files {
				cleanPath := filepath.Join(sharedDev, "clean", name)
				if _, err := os.Stat(cleanPath); err != nil {
					continue
				}
				clean := readMono(t, cleanPath, m.SampleRate())
				noisy := readMono(t, filepath.Join(sharedDev, "noisy", name), m.SampleRate())
				enh, err := m.Enhance(noisy)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(enh) != len(noisy) {
					t.Fatalf("%s: %d samples out for %d", name, len(enh), len(noisy))
				}
				sdrN, err1 := metrics.SISDR(clean, noisy)
				sdrE, err2 := metrics.SISDR(clean, enh)
				pN, err3 := pesq.Score(clean, noisy, m.SampleRate(), pesq.WideBand)
				pE, err4 := pesq.Score(clean, enh, m.SampleRate(), pesq.WideBand)
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
			if dSDR <= 0 || dPESQ <= 0 {
				t.Fatalf("mean Δ SI-SDR %.2f dB, Δ PESQ-WB %.3f: want both positive", dSDR/float64(n), dPESQ/float64(n))
			}
		})
	}
}
