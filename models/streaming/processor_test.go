package streaming

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// testdata/rt-tiny is an untrained, random-weight `rt` bundle at reduced width, written by
// /usr/bin/python3 -m models.train.export --config rt (the command is in its CARD.md).
const tinyDir = "testdata/rt-tiny"

// tfDir is an untrained STFT-domain (schema 2) `tf-rt` bundle: GRUs over frames, 512/256,
// written by /usr/bin/python3 -m models.train.export --untrained --config tf-rt.
const tfDir = "testdata/tf-rt"

// shippedStreaming lists the streaming bundles the CLI embeds; the equivalence tests run on
// them too, since a trained network (x0 head, large ε at small t) is not a random one.
func shippedStreaming(t *testing.T) []string {
	dirs, _ := filepath.Glob("../zoo/*")
	var out []string
	for _, d := range dirs {
		if b, err := bundle.Load(d); err == nil && b.Manifest.Kind == bundle.KindStreaming {
			out = append(out, d)
		}
	}
	return out
}

func loadTiny(t testing.TB) *bundle.Bundle { return loadBundle(t, tinyDir) }

func loadBundle(t testing.TB, dir string) *bundle.Bundle {
	t.Helper()
	modeltest.RequireRuntime(t)
	b, err := bundle.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openTiny(t testing.TB, opt Options) *Processor { return openBundle(t, loadTiny(t), opt) }

// openBundle opens b with opt, with the noise of seed 0 when opt names none.
func openBundle(t testing.TB, b *bundle.Bundle, opt Options) *Processor {
	t.Helper()
	if opt.Noise == nil {
		opt.Noise = sampler.CounterNoise{}
	}
	p, err := Open(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// forBundles runs f on the test bundles (waveform and STFT) and on every shipped streaming
// bundle.
func forBundles(t *testing.T, f func(t *testing.T, b *bundle.Bundle)) {
	for _, dir := range append([]string{tinyDir, tfDir}, shippedStreaming(t)...) {
		t.Run(dir, func(t *testing.T) { f(t, loadBundle(t, dir)) })
	}
}

// signal is a deterministic noisy-speech stand-in: two modulated tones, white noise, and
// a stretch of exact silence.
func signal(n int) []float32 {
	y := make([]float32, n)
	var lcg uint32 = 12345
	for i := range y {
		lcg = lcg*1664525 + 1013904223
		w := float64(lcg>>8)/(1<<24) - 0.5
		s := float64(i) / 16000
		v := 0.4*math.Sin(2*math.Pi*180*s)*math.Max(0, math.Sin(2*math.Pi*2.5*s)) +
			0.2*math.Sin(2*math.Pi*1100*s+3*math.Sin(2*math.Pi*5*s)) + 0.15*w
		if s > 3 && s < 3.7 {
			v = 0
		}
		y[i] = float32(v)
	}
	return y
}

// runStream runs y (zero-padded to whole hops past the latency) through p and returns the
// len(y) output samples aligned with y.
func runStream(t testing.TB, p *Processor, y []float32) []float32 {
	t.Helper()
	h, lat := p.FrameSize(), p.Latency()
	n := (len(y) + lat + h - 1) / h * h
	in := make([]float32, n)
	copy(in, y)
	out := make([]float32, n)
	for i := 0; i < n; i += h {
		if err := p.Process(out[i:i+h], in[i:i+h]); err != nil {
			t.Fatalf("frame at %d: %v", i, err)
		}
	}
	return out[lat : lat+len(y)]
}

func checkFinite(t *testing.T, name string, x []float32) {
	t.Helper()
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("%s: sample %d is %v", name, i, v)
		}
	}
}

func TestContract(t *testing.T) {
	b := loadTiny(t)
	c, err := ParseContract(&b.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hop != 160 || c.Lookahead != 7 || c.Latency != 0 || c.AlgorithmicLatency != 160 {
		t.Errorf("contract %+v", c)
	}
	if n := len(c.Networks[DenoiserStep].Caches); n != 9 {
		t.Errorf("denoiser_step has %d caches, want 9 (2 encoders, 6 layers, decoder)", n)
	}
	off := b.Manifest
	off.Kind = bundle.KindOffline
	if _, err := ParseContract(&off); err == nil {
		t.Error("offline manifest: want error")
	}
	var raw map[string]any
	json.Unmarshal(b.Manifest.Streaming, &raw)
	raw["hop"] = 100 // not a multiple of 8 and not the graphs' hop
	bad := b.Manifest
	bad.Streaming, _ = json.Marshal(raw)
	if _, err := ParseContract(&bad); err == nil {
		t.Error("hop 100: want error")
	}
}

func peak(x []float32) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

// The exporter's golden run (PyTorch, whole signal, fixed draws) reproduced frame by frame.
func TestGoldenStreamed(t *testing.T) { forBundles(t, goldenStreamed) }

func goldenStreamed(t *testing.T, b *bundle.Bundle) {
	in, want, row := "y.f32", "sample.f32", 0
	if b.Manifest.IsSTFT() {
		in, want = "wave_y.f32", "wave_out.f32"
		row = 2 * b.Manifest.STFT.Bins() * ((len(modeltest.ReadGolden(t, b, in))+b.Manifest.STFT.Hop-1)/b.Manifest.STFT.Hop + 1)
	}
	y, noise, sample := modeltest.ReadGolden(t, b, in), modeltest.ReadGolden(t, b, "noise.f32"), modeltest.ReadGolden(t, b, want)
	if row == 0 {
		row = len(y)
	}
	steps := len(noise) / row
	draws := make([][]float32, steps)
	for k := range draws {
		// Rows padded with zeros past their end, for the zero-padded last hop.
		draws[k] = make([]float32, row+1024)
		copy(draws[k], noise[k*row:(k+1)*row])
	}
	p := openBundle(t, b, Options{Steps: steps, Noise: &sampler.FixedNoise{Draws: draws}})
	got := runStream(t, p, y)
	d, at := modeltest.MaxDiff(got, sample)
	t.Logf("golden: max |stream − PyTorch %s| = %.3g", want, d)
	if !(d <= 1e-4) {
		t.Errorf("max |stream − golden %s| = %g at %d, want ≤ 1e-4", want, d, at)
	}
}

func TestResetRepeats(t *testing.T) {
	p := openTiny(t, Options{Noise: sampler.CounterNoise{Seed: 9}})
	a := signal(2 * 16000)
	first := runStream(t, p, a)
	p.Reset()
	runStream(t, p, signal(16000)[:8000]) // another utterance in between
	p.Reset()
	second := runStream(t, p, a)
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("after Reset sample %d differs: %v vs %v", i, first[i], second[i])
		}
	}
	fresh := runStream(t, openTiny(t, Options{Noise: sampler.CounterNoise{Seed: 9}}), a)
	if d, _ := modeltest.MaxDiff(fresh, first); d != 0 {
		t.Errorf("fresh processor differs from reset one by %g", d)
	}
}

func TestExtremeInputs(t *testing.T) {
	p := openTiny(t, Options{Noise: sampler.CounterNoise{Seed: 2}})
	n := 2 * 16000
	silent, square, loud := make([]float32, n), make([]float32, n), make([]float32, n)
	var lcg uint32 = 7
	for i := range square {
		square[i] = 1
		if (i/40)%2 == 1 { // 200 Hz, clipped at ±1
			square[i] = -1
		}
		lcg = lcg*1664525 + 1013904223
		loud[i] = float32(math.Copysign(1, float64(int32(lcg))))
	}
	for name, x := range map[string][]float32{"silence": silent, "square ±1": square, "clipped noise ±1": loud} {
		for _, steps := range []int{6, 1} {
			p.Reset()
			if err := p.SetSteps(steps); err != nil {
				t.Fatal(err)
			}
			out := runStream(t, p, x)
			checkFinite(t, name, out)
		}
	}
}

func TestNoAllocations(t *testing.T) {
	for _, dir := range []string{tinyDir, tfDir} {
		t.Run(dir, func(t *testing.T) { noAllocations(t, loadBundle(t, dir)) })
	}
}

func noAllocations(t *testing.T, b *bundle.Bundle) {
	p := openBundle(t, b, Options{MaxSteps: 6})
	in, out := signal(p.FrameSize()), make([]float32, p.FrameSize())
	if err := p.Process(out, in); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(50, func() { p.Process(out, in) })
	t.Logf("%s: %v allocations per frame", b.Manifest.Name, n)
	if n != 0 {
		t.Errorf("Process: %v allocations per frame, want 0", n)
	}
	steps := []int{3, 6, 1, 4}
	k := 0
	if n := testing.AllocsPerRun(20, func() {
		p.SetSteps(steps[k%len(steps)])
		k++
		p.Process(out, in)
	}); n != 0 {
		t.Errorf("SetSteps+Process: %v allocations, want 0", n)
	}
}

func TestFrameErrors(t *testing.T) {
	p := openTiny(t, Options{})
	if err := p.Process(make([]float32, 160), make([]float32, 100)); err == nil {
		t.Error("short frame: want error")
	}
	if err := p.SetSteps(7); err == nil {
		t.Error("steps 7 > max 6: want error")
	}
	if p.Latency() != 0 || p.FrameSize() != 160 || p.SampleRate() != 16000 || p.MaxSteps() != 6 {
		t.Errorf("latency %d frame %d rate %d max steps %d", p.Latency(), p.FrameSize(), p.SampleRate(), p.MaxSteps())
	}
}

// An STFT bundle's stream: hop 256, output one hop late (latency 256, algorithmic 512 =
// 32 ms), lookahead 0, and silence for the hop before the stream began.
func TestSTFTContract(t *testing.T) {
	p := openBundle(t, loadBundle(t, tfDir), Options{})
	c := p.Contract()
	if p.FrameSize() != 256 || p.Latency() != 256 || c.AlgorithmicLatency != 512 || p.Lookahead() != 0 {
		t.Errorf("frame %d latency %d algorithmic %d lookahead %d, want 256, 256, 512, 0",
			p.FrameSize(), p.Latency(), c.AlgorithmicLatency, p.Lookahead())
	}
	out := make([]float32, 256)
	if err := p.Process(out, signal(256)); err != nil {
		t.Fatal(err)
	}
	if d, _ := modeltest.MaxDiff(out, make([]float32, 256)); d != 0 {
		t.Errorf("first hop (before the stream) is not silent: %g", d)
	}
	var raw map[string]any
	json.Unmarshal(p.Bundle().Manifest.Streaming, &raw)
	raw["latency"], raw["algorithmic_latency"] = 0, 256
	bad := p.Bundle().Manifest
	bad.Streaming, _ = json.Marshal(raw)
	if _, err := ParseContract(&bad); err == nil || !strings.Contains(err.Error(), "n_fft") {
		t.Errorf("STFT stream with latency 0: error %v", err)
	}
}

// copyBundle copies a bundle folder (no subfolders) into a temporary one.
func copyBundle(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// Issue 15 item 1: a streaming bundle whose step graph cannot load gives an error (naming
// the bundle and the graph), not a panic in Open's cleanup.
func TestOpenFailsCleanly(t *testing.T) {
	modeltest.RequireRuntime(t)
	for _, c := range []struct {
		name, want string
		spoil      func(t *testing.T, dir string, m *bundle.Manifest)
	}{
		{"changed file", "SHA-256", func(t *testing.T, dir string, m *bundle.Manifest) {
			os.WriteFile(filepath.Join(dir, "denoiser_step.onnx"), []byte("not a graph"), 0o644)
		}},
		{"corrupt graph", "denoiser_step.onnx", func(t *testing.T, dir string, m *bundle.Manifest) {
			rewrite(t, dir, m, map[string][]byte{DenoiserStep: []byte("not a graph")})
		}},
		{"graph inputs differ from the manifest", "prior_step.onnx does not match manifest.json", func(t *testing.T, dir string, m *bundle.Manifest) {
			// Rename a cache consistently in the manifest: the graph still calls it c_sigma.
			var raw map[string]any
			json.Unmarshal(m.Streaming, &raw)
			c := raw["networks"].(map[string]any)[PriorStep].(map[string]any)["caches"].([]any)[0].(map[string]any)
			c["input"] = "c_renamed"
			m.Streaming, _ = json.Marshal(raw)
			n := m.Networks[PriorStep]
			n.Inputs[1].Name = "c_renamed"
			m.Networks[PriorStep] = n
			rewrite(t, dir, m, nil)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyBundle(t, tfDir)
			b, err := bundle.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			c.spoil(t, dir, &b.Manifest)
			if b, err = bundle.Load(dir); err != nil {
				t.Fatal(err)
			}
			p, err := Open(b, Options{Noise: sampler.CounterNoise{}})
			if err == nil {
				p.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), b.Manifest.Name) && !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q, want it to name the bundle and mention %q", err, c.want)
			}
		})
	}
}

// rewrite writes the manifest m into dir with the given graphs replaced (hashes updated).
func rewrite(t *testing.T, dir string, m *bundle.Manifest, graphs map[string][]byte) {
	t.Helper()
	all := map[string][]byte{}
	for name, n := range m.Networks {
		data, err := os.ReadFile(filepath.Join(dir, n.File))
		if err != nil {
			t.Fatal(err)
		}
		all[name] = data
	}
	for name, data := range graphs {
		all[name] = data
	}
	if err := bundle.Write(dir, *m, all); err != nil {
		t.Fatal(err)
	}
}

// The noise comes from the caller (models.Runner.Noise, where the seed becomes noise):
// a processor without one is refused, not run on a seed of its own.
func TestOpenWithoutNoise(t *testing.T) {
	p, err := Open(loadTiny(t), Options{})
	if err == nil {
		p.Close()
		t.Fatal("Open without noise succeeded")
	}
}
