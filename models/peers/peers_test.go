package peers

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/ort"
)

func open(t *testing.T, path string) *Model {
	t.Helper()
	m, err := Open(path, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// testSignal is a tone plus a faster wobble, n samples at 16 kHz.
func testSignal(n int) []float32 {
	y := make([]float32, n)
	for i := range y {
		y[i] = float32(0.2*math.Sin(2*math.Pi*440*float64(i)/16000) + 0.05*math.Sin(float64(i)*1.7))
	}
	return y
}

// TestFormatsWellFormed: names are unique, the STFT of each format inverts exactly and
// the caches have fixed sizes, so that a new format with a typo fails here.
func TestFormatsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Formats() {
		if f.Name == "" || seen[f.Name] || f.About == "" || f.Window == nil {
			t.Errorf("format %q: empty or repeated name, or no help line or window", f.Name)
		}
		seen[f.Name] = true
		if f.Rate <= 0 || f.Hop <= 0 || f.FrameLen < f.Hop || len(f.Window(f.FrameLen)) != f.FrameLen {
			t.Errorf("%s: rate %d, frame %d, hop %d", f.Name, f.Rate, f.FrameLen, f.Hop)
		}
		for _, c := range f.Caches {
			for _, d := range c.Shape {
				if d <= 0 {
					t.Errorf("%s: cache %s has shape %v, want fixed sizes", f.Name, c.Name, c.Shape)
				}
			}
		}
	}
}

func TestDetect(t *testing.T) {
	modeltest.RequireRuntime(t)
	for file, want := range map[string]string{"toy_gtcrn.onnx": "gtcrn", "toy_ulunas.onnx": "ulunas"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		f, err := Detect(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if f.Name != want {
			t.Errorf("%s: detected %q, want %q", file, f.Name, want)
		}
	}
}

// TestOpenUnknown: a graph of no known format gives one line that names the file, the
// known formats and what the graph has.
func TestOpenUnknown(t *testing.T) {
	modeltest.RequireRuntime(t)
	path := filepath.Join("testdata", "unknown.onnx")
	_, err := Open(path, ort.Options{Threads: 1})
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	t.Log(msg)
	if !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("error does not wrap ErrUnknownFormat: %v", err)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, want := range []string{path, "gtcrn", "ulunas", "x[1,-1]", "out[1,-1]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
}

func TestOpenMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.onnx")
	_, err := Open(path, ort.Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("want an error naming %s, got %v", path, err)
	}
}

// TestToyEnhance: through a graph that halves every bin, each format's STFT gives back half
// the input, aligned and at full length; and every run gets the caches of the run before.
func TestToyEnhance(t *testing.T) {
	modeltest.RequireRuntime(t)
	for _, name := range []string{"gtcrn", "ulunas"} {
		m := open(t, filepath.Join("testdata", "toy_"+name+".onnx"))
		if m.Format().Name != name {
			t.Fatalf("toy_%s.onnx detected as %s", name, m.Format().Name)
		}
		y := testSignal(20*m.f.Hop + 77)
		out, err := m.Enhance(y)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != len(y) {
			t.Fatalf("%s: %d samples out for %d", name, len(out), len(y))
		}
		worst := 0.0
		for i := range y {
			worst = max(worst, math.Abs(float64(out[i]-0.5*y[i])))
		}
		if worst > 1e-5 {
			t.Errorf("%s: output differs from 0.5·input by %g", name, worst)
		}

		st := m.newState()
		frame := make([]complex128, m.f.Bins())
		const runs = 3
		for range runs {
			if err := m.step(st, frame); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range st.caches {
			if c[0] != runs || c[len(c)-1] != runs {
				t.Errorf("%s: cache %s after %d runs holds %v…%v, want %d", name, m.f.Caches[i].Name, runs, c[0], c[len(c)-1], runs)
			}
		}
	}
}

// streamVsWhole runs y through a Stream hop by hop and returns the largest difference from
// the whole-signal output, once the stream's delay is taken off.
func streamVsWhole(t *testing.T, m *Model, y []float32) float64 {
	t.Helper()
	whole, err := m.Enhance(y)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewStream()
	hop := m.f.Hop
	var out []float32
	for i := 0; i+hop <= len(y); i += hop {
		if out, err = s.Process(out, y[i:i+hop]); err != nil {
			t.Fatal(err)
		}
	}
	d := s.Delay()
	if d <= 0 || len(out) <= d {
		t.Fatalf("delay %d for %d samples out", d, len(out))
	}
	worst := 0.0
	for i := d; i < len(out); i++ {
		worst = max(worst, math.Abs(float64(out[i]-whole[i-d])))
	}
	return worst
}

func TestToyStreamMatchesEnhance(t *testing.T) {
	modeltest.RequireRuntime(t)
	for _, name := range []string{"gtcrn", "ulunas"} {
		m := open(t, filepath.Join("testdata", "toy_"+name+".onnx"))
		if w := streamVsWhole(t, m, testSignal(40*m.f.Hop)); w > 1e-6 {
			t.Errorf("%s: stream differs from whole-signal output by %g", name, w)
		}
	}
}

// TestProcessor: the frame processor is the stream, one hop a call; it has no steps.
func TestProcessor(t *testing.T) {
	modeltest.RequireRuntime(t)
	m := open(t, filepath.Join("testdata", "toy_ulunas.onnx"))
	p := m.NewProcessor()
	if p.SampleRate() != 16000 || p.FrameSize() != 256 || p.Latency() != 256 || p.Steps() != 0 || p.SetSteps(1) == nil {
		t.Fatalf("rate %d, frame %d, latency %d, steps %d", p.SampleRate(), p.FrameSize(), p.Latency(), p.Steps())
	}
	y := testSignal(10 * 256)
	out := make([]float32, 256)
	for i := 0; i < len(y); i += 256 {
		if err := p.Process(out, y[i:i+256]); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			for j := range out {
				if want := 0.5 * y[i-256+j]; math.Abs(float64(out[j]-want)) > 1e-5 {
					t.Fatalf("sample %d: %v, want %v", i-256+j, out[j], want)
				}
			}
		}
	}
	if err := p.Process(out, y[:100]); err == nil {
		t.Error("a short frame was accepted")
	}
}
