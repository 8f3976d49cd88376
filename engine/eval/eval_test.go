package eval

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/wav"
)

const rate = 16000

// speechLike is a deterministic voiced signal with syllable-like bursts and pauses, so
// that PESQ's voice activity detection finds utterances.
func speechLike(seconds float64, seed uint64) []float32 {
	n := int(seconds * rate)
	x := make([]float32, n)
	r := rand.New(rand.NewPCG(seed, 1))
	f0 := 110 + 40*r.Float64()
	for i := range x {
		t := float64(i) / rate
		env := math.Max(0, math.Sin(2*math.Pi*2.5*t)) // 0.2 s bursts, 0.2 s pauses
		v := 0.0
		for h := 1; h <= 12; h++ {
			v += math.Sin(2*math.Pi*f0*float64(h)*t+float64(h)) / float64(h)
		}
		x[i] = float32(0.15 * env * v)
	}
	return x
}

// addNoise returns x plus white noise scaled to the given SNR.
func addNoise(x []float32, snrDB float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	noise := make([]float64, len(x))
	var ps, pn float64
	for i, v := range x {
		noise[i] = r.NormFloat64()
		ps += float64(v) * float64(v)
		pn += noise[i] * noise[i]
	}
	g := math.Sqrt(ps / pn / math.Pow(10, snrDB/10))
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = v + float32(g*noise[i])
	}
	return y
}

func writeWAV(t *testing.T, path string, x []float32) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := wav.WriteFile(path, [][]float32{x}, wav.Format{SampleRate: rate, Channels: 1, BitsPerSample: 32, Float: true}); err != nil {
		t.Fatal(err)
	}
}

// dataset writes clean/ and noisy/ with n pairs at the given SNR and returns the root.
func dataset(t *testing.T, n int, snrDB float64) string {
	t.Helper()
	root := t.TempDir()
	for i := 0; i < n; i++ {
		name := []string{"a.wav", "b.wav", "c.wav", "d.wav"}[i]
		clean := speechLike(2.5, uint64(i))
		writeWAV(t, filepath.Join(root, "clean", name), clean)
		writeWAV(t, filepath.Join(root, "noisy", name), addNoise(clean, snrDB, uint64(i)))
	}
	return root
}

func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestIdenticalSignals(t *testing.T) {
	root := t.TempDir()
	x := speechLike(2.5, 7)
	writeWAV(t, filepath.Join(root, "clean", "a.wav"), x)
	writeWAV(t, filepath.Join(root, "noisy", "a.wav"), x)
	pairs, _, err := PairDirs(filepath.Join(root, "clean"), filepath.Join(root, "noisy"), 0)
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, Config{Pairs: pairs, Systems: []System{Noisy()}})
	v := res.Files[0][0].Values
	if v[SISDR] < 100 || v[SNR] < 100 {
		t.Errorf("SI-SDR %v, SNR %v for identical signals, want ≥ 100 dB", v[SISDR], v[SNR])
	}
	if v[PESQWB] < 4.5 || v[STOI] < 0.999 || v[ESTOI] < 0.999 {
		t.Errorf("PESQ-WB %v STOI %v ESTOI %v for identical signals", v[PESQWB], v[STOI], v[ESTOI])
	}
	if !math.IsNaN(v[RTF]) || !math.IsNaN(v[DNSMOSOVRL]) {
		t.Errorf("RTF %v and DNSMOS %v of the untimed input without DNSMOS should be NaN", v[RTF], v[DNSMOSOVRL])
	}
}

func TestKnownSNR(t *testing.T) {
	for _, snr := range []float64{0, 10, 20} {
		root := dataset(t, 2, snr)
		pairs, _, err := PairDirs(filepath.Join(root, "clean"), filepath.Join(root, "noisy"), 0)
		if err != nil {
			t.Fatal(err)
		}
		res := run(t, Config{Pairs: pairs, Systems: []System{Noisy()}, Jobs: 2})
		for _, f := range res.Files[0] {
			if f.Lag != 0 {
				t.Errorf("SNR %v %s: lag %d, want 0", snr, f.File, f.Lag)
			}
			if math.Abs(f.Values[SNR]-snr) > 0.05 || math.Abs(f.Values[SISDR]-snr) > 0.2 {
				t.Errorf("SNR %v %s: measured SNR %.3f SI-SDR %.3f", snr, f.File, f.Values[SNR], f.Values[SISDR])
			}
		}
	}
}

// delayedSystem returns the clean signal shifted by lag samples (positive: late).
type delayedSystem struct {
	lag   int
	clean map[string][]float32
}

func (d delayedSystem) Info() SystemInfo {
	return SystemInfo{Name: "delayed", Kind: KindPeer, Timed: true}
}
func (d delayedSystem) Enhance(_ context.Context, p Pair, _ []float32, r int) ([]float32, int, error) {
	c := d.clean[p.Name]
	out := make([]float32, len(c))
	for i := range out {
		if j := i - d.lag; j >= 0 && j < len(c) {
			out[i] = c[j]
		}
	}
	return out, r, nil
}

func TestKnownDelays(t *testing.T) {
	root := dataset(t, 1, 10)
	pairs, _, err := PairDirs(filepath.Join(root, "clean"), filepath.Join(root, "noisy"), 0)
	if err != nil {
		t.Fatal(err)
	}
	clean, _, err := readMono(pairs[0].Clean)
	if err != nil {
		t.Fatal(err)
	}
	for _, lag := range []int{37, -120, 800} {
		sys := delayedSystem{lag: lag, clean: map[string][]float32{pairs[0].Name: clean}}
		res := run(t, Config{Pairs: pairs, Systems: []System{Noisy(), sys}})
		f := res.Files[1][0]
		if f.Lag != lag {
			t.Errorf("delay %d: aligned lag %d", lag, f.Lag)
		}
		if f.Values[SISDR] < 100 {
			t.Errorf("delay %d: SI-SDR %.1f after alignment, want ≥ 100", lag, f.Values[SISDR])
		}
		if math.IsNaN(f.Values[RTF]) || f.Values[RTF] < 0 {
			t.Errorf("delay %d: RTF %v of a timed system", lag, f.Values[RTF])
		}
	}
	// Alignment off: the delayed output scores badly.
	sys := delayedSystem{lag: 37, clean: map[string][]float32{pairs[0].Name: clean}}
	res := run(t, Config{Pairs: pairs, Systems: []System{sys}, MaxLag: -1})
	if v := res.Files[0][0].Values[SISDR]; v > 20 {
		t.Errorf("alignment disabled: SI-SDR %.1f, want poor", v)
	}
}

func TestAlignLengths(t *testing.T) {
	ref := speechLike(1, 3)
	est := append(make([]float32, 50), ref...)
	est = append(est, make([]float32, 300)...)
	r, e, lag := Align(ref, est, 1000)
	if lag != 50 || len(r) != len(e) || len(r) != len(ref) {
		t.Fatalf("lag %d, lengths %d %d (ref %d)", lag, len(r), len(e), len(ref))
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{1, 2, 3, 4, 5, math.NaN()})
	// sd = sqrt(2.5), t(0.975, 4) = 2.7764451
	want := 2.7764451 * math.Sqrt(2.5) / math.Sqrt(5)
	if s.N != 5 || s.Mean != 3 || math.Abs(s.CI95-want) > 1e-6 {
		t.Fatalf("Summarize = %+v, want mean 3 ci %.6f n 5", s, want)
	}
	if s := Summarize([]float64{math.NaN()}); s.N != 0 || !math.IsNaN(s.Mean) {
		t.Fatalf("all NaN: %+v", s)
	}
	if s := Summarize([]float64{2}); s.Mean != 2 || !math.IsNaN(s.CI95) {
		t.Fatalf("one value: %+v", s)
	}
}

func TestOutputsShape(t *testing.T) {
	root := dataset(t, 3, 5)
	writeWAV(t, filepath.Join(root, "noisy", "orphan.wav"), speechLike(1, 9))
	pairs, missing, err := PairDirs(filepath.Join(root, "clean"), filepath.Join(root, "noisy"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 3 || len(missing) != 1 || missing[0] != "orphan.wav" {
		t.Fatalf("pairs %v missing %v", pairs, missing)
	}
	// A ready-made folder: the clean files themselves.
	report := filepath.Join(t.TempDir(), "report")
	res := run(t, Config{
		Pairs:     pairs,
		Systems:   []System{Noisy(), &DirSystem{Name: "oracle", Dir: filepath.Join(root, "clean")}},
		Jobs:      2,
		ReportDir: report,
	})

	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "PESQ-WB") || !strings.HasPrefix(strings.TrimSpace(lines[1]), "noisy") || !strings.Contains(lines[2], "oracle") {
		t.Fatalf("table:\n%s", table.String())
	}
	if !strings.Contains(lines[1], "±") {
		t.Errorf("no confidence interval in %q", lines[1])
	}

	var buf bytes.Buffer
	if err := res.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+2*3 {
		t.Fatalf("%d CSV rows, want 7", len(rows))
	}
	if rows[0][0] != "system" || rows[0][2] != "file" || len(rows[0]) != 6+NumMetrics {
		t.Fatalf("CSV header %v", rows[0])
	}
	if rows[1][0] != "noisy" || rows[4][0] != "oracle" {
		t.Fatalf("CSV order: %v / %v", rows[1][:3], rows[4][:3])
	}

	buf.Reset()
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Systems []map[string]any `json:"systems"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, buf.String())
	}
	if len(doc.Systems) != 2 || doc.Systems[0]["name"] != "noisy" {
		t.Fatalf("JSON systems %v", doc.Systems)
	}
	for _, key := range []string{"name", "steps", "files", "pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr", "ssnr", "csig", "cbak", "covl", "dnsmos_ovrl", "rtf"} {
		if _, ok := doc.Systems[1][key]; !ok {
			t.Errorf("JSON system lacks %q", key)
		}
	}
	if doc.Systems[1]["files"].(float64) != 3 || doc.Systems[1]["si_sdr"].(float64) < 100 {
		t.Errorf("oracle: %v", doc.Systems[1])
	}
	if doc.Systems[0]["dnsmos_ovrl"] != nil || doc.Systems[0]["rtf"] != nil {
		t.Errorf("metrics not computed must be null: dnsmos_ovrl %v rtf %v", doc.Systems[0]["dnsmos_ovrl"], doc.Systems[0]["rtf"])
	}

	index, err := res.WriteReport()
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		for _, slug := range []string{"clean", "s00-noisy", "s01-oracle"} {
			img := filepath.Join(report, "spec", slug, strings.TrimSuffix(p.Name, ".wav")+".png")
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := png.DecodeConfig(f)
			f.Close()
			if err != nil || cfg.Width < 10 || cfg.Height != 256 {
				t.Fatalf("%s: %+v %v", img, cfg, err)
			}
			audio := filepath.Join(report, "audio", slug, p.Name)
			if _, _, err := wav.ReadFile(audio); err != nil {
				t.Fatal(err)
			}
			rel := "spec/" + slug + "/" + strings.TrimSuffix(p.Name, ".wav") + ".png"
			if !bytes.Contains(html, []byte(rel)) || !bytes.Contains(html, []byte("audio/"+slug+"/"+p.Name)) {
				t.Errorf("index.html does not reference %s and its audio", rel)
			}
		}
	}
	if !bytes.Contains(html, []byte("<audio")) || !bytes.Contains(html, []byte("oracle")) {
		t.Error("index.html lacks players or the system table")
	}
}

func TestErrorNamesFile(t *testing.T) {
	root := dataset(t, 2, 5)
	bad := filepath.Join(root, "noisy", "b.wav")
	if err := os.WriteFile(bad, []byte("RIFF junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	pairs, _, err := PairDirs(filepath.Join(root, "clean"), filepath.Join(root, "noisy"), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Config{Pairs: pairs, Systems: []System{Noisy()}})
	if err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v does not name %s on one line", err, bad)
	}
	// A ready-made folder missing a file.
	pairs = pairs[:1]
	_, err = Run(context.Background(), Config{Pairs: pairs, Systems: []System{&DirSystem{Name: "x", Dir: t.TempDir()}}})
	if err == nil || !strings.Contains(err.Error(), "a.wav") {
		t.Fatalf("error %v does not name the missing output", err)
	}
}

func TestPairDirsLimit(t *testing.T) {
	root := dataset(t, 3, 5)
	pairs, _, err := PairDirs(filepath.Join(root, "clean"), filepath.Join(root, "noisy"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 2 || pairs[0].Name != "a.wav" || pairs[1].Name != "b.wav" {
		t.Fatalf("pairs %v", pairs)
	}
	if _, _, err := PairDirs(filepath.Join(root, "noisy"), t.TempDir(), 0); err == nil {
		t.Fatal("empty noisy folder: want error")
	}
}
