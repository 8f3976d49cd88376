package eval

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/dnsmos"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/peers"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// tinyModel opens the fixed-weight bundle of testdata/make_tiny.py.
func tinyModel(t *testing.T) *models.Model {
	t.Helper()
	modeltest.RequireRuntime(t)
	nets := map[string][]byte{}
	for _, n := range []string{bundle.Denoiser, bundle.Prior} {
		data, err := os.ReadFile(filepath.Join("testdata", n+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		nets[n] = data
	}
	betas := make([]float64, 50)
	for i := range betas {
		betas[i] = 1e-4 + (0.035-1e-4)*float64(i)/49
	}
	m := bundle.Manifest{
		Schema: 1, Name: "tiny", Version: "0", Kind: bundle.KindOffline, Objective: "test",
		SampleRate: 16000, LengthMultiple: 8, Context: 0,
		TrainingBetas: betas,
		InferenceSchedules: map[string][]float64{
			"6": {1e-4, 1e-3, 0.01, 0.05, 0.2, 0.35},
			"3": {1e-4, 0.01, 0.35},
		},
		DefaultSteps: 6,
		Networks: map[string]bundle.Network{
			bundle.Denoiser: {File: "denoiser.onnx",
				Inputs:  []bundle.TensorSpec{{Name: "x_t", Shape: []int64{1, 1, -1}}, {Name: "y", Shape: []int64{1, 1, -1}}, {Name: "t", Shape: []int64{1}}},
				Outputs: []bundle.TensorSpec{{Name: "eps", Shape: []int64{1, 1, -1}}}},
			bundle.Prior: {File: "prior.onnx",
				Inputs:  []bundle.TensorSpec{{Name: "y", Shape: []int64{1, 1, -1}}},
				Outputs: []bundle.TensorSpec{{Name: "sigma", Shape: []int64{1, 1, -1}}}},
		},
	}
	dir := t.TempDir()
	if err := bundle.Write(dir, m, nets); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	model, err := models.OpenOffline(b, models.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { model.Close() })
	return model
}

func TestModelSystems(t *testing.T) {
	m := tinyModel(t)
	root := dataset(t, 2, 10)
	pairs, _, err := PairDirs(filepath.Join(root, "clean"), filepath.Join(root, "noisy"), 0)
	if err != nil {
		t.Fatal(err)
	}
	systems := []System{Noisy()}
	for _, steps := range []int{3, 6} {
		systems = append(systems, &ModelSystem{Name: "tiny", Enh: m, Steps: steps, Noise: sampler.CounterNoise{Seed: 1}, InputRMS: 0.05})
	}
	res := run(t, Config{Pairs: pairs, Systems: systems, Jobs: 2})
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	sums := res.Summaries()
	for _, s := range sums[1:] {
		if s.System.Steps == 0 || math.IsNaN(s.RTFTotal) || s.RTFTotal <= 0 {
			t.Errorf("%s: steps %d, RTF %v", s.System.Label(), s.System.Steps, s.RTFTotal)
		}
		if math.IsNaN(s.Stats[SISDR].Mean) {
			t.Errorf("%s: no SI-SDR", s.System.Label())
		}
	}
	if !strings.Contains(table.String(), "tiny") {
		t.Errorf("table lacks the model rows")
	}
	// Same label twice is refused.
	if _, err := Run(context.Background(), Config{Pairs: pairs, Systems: []System{systems[1], systems[1]}}); err == nil {
		t.Error("duplicate system: want error")
	}
}

func TestBenchOffline(t *testing.T) {
	m := tinyModel(t)
	x := BenchSignal(2, 16000)
	r, err := BenchOffline("tiny", m, 3, 1, x, 5, sampler.CounterNoise{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Runs != 5 || r.RTF <= 0 || r.RTFMin > r.RTF || r.RTF > r.RTFMax || r.PeakRSSMB <= 0 {
		t.Fatalf("%+v", r)
	}
	// A 2 s file is shorter than one 8 s chunk: the first output needs the whole file.
	if math.Abs(r.LatencyMS-2000) > 1e-6 {
		t.Errorf("latency %.1f ms, want 2000", r.LatencyMS)
	}
	var buf bytes.Buffer
	if err := WriteBenchTable(&buf, []BenchResult{r}); err != nil || !strings.Contains(buf.String(), "tiny") {
		t.Fatalf("table %q %v", buf.String(), err)
	}
	buf.Reset()
	if err := WriteBenchJSON(&buf, []BenchResult{r}); err != nil || !strings.Contains(buf.String(), `"rtf"`) {
		t.Fatalf("json %q %v", buf.String(), err)
	}
}

// fakeFrames is a Processor that delays by one frame.
type fakeFrames struct{ prev []float32 }

func (f *fakeFrames) SampleRate() int { return 16000 }
func (f *fakeFrames) FrameSize() int  { return 160 }
func (f *fakeFrames) Latency() int    { return 160 }
func (f *fakeFrames) Process(out, in []float32) error {
	copy(out, f.prev)
	copy(f.prev, in)
	return nil
}
func (f *fakeFrames) Steps() int { return 2 }
func (f *fakeFrames) Reset()     { clear(f.prev) }

func TestBenchStream(t *testing.T) {
	r, err := BenchStream("fake", &fakeFrames{prev: make([]float32, 160)}, 1, BenchSignal(1, 16000), 5)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mode != ModeStreaming || r.Steps != 2 || r.LatencyMS != 20 || r.Audio != 1 {
		t.Fatalf("%+v", r)
	}
}

const sharedDev = "../../../shared/data/vbdemand-dev"

// TestSharedDev runs the noisy input and the GTCRN peer, with DNSMOS, on a few real dev
// pairs: GTCRN must beat the noisy input, and DNSMOS must match the reference file.
func TestSharedDev(t *testing.T) {
	gpath := "../../../shared/peers/gtcrn/gtcrn_simple.onnx"
	ddir := "../../../shared/models/dnsmos"
	for _, p := range []string{sharedDev, gpath, ddir} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s absent: ../shared is not mounted", p)
		}
	}
	modeltest.RequireRuntime(t)
	g, err := peers.Open(gpath, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	d, err := dnsmos.Open(ddir, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pairs, _, err := PairDirs(filepath.Join(sharedDev, "clean"), filepath.Join(sharedDev, "noisy"), 4)
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, Config{
		Pairs:   pairs,
		Systems: []System{Noisy(), &FuncSystem{Name: "gtcrn", Rate: g.SampleRate(), Fn: g.Enhance}},
		DNSMOS:  d, Jobs: 2,
	})
	var table bytes.Buffer
	res.WriteTable(&table)
	t.Logf("\n%s", table.String())
	s := res.Summaries()
	if s[1].Stats[PESQWB].Mean <= s[0].Stats[PESQWB].Mean || s[1].Stats[DNSMOSOVRL].Mean <= s[0].Stats[DNSMOSOVRL].Mean {
		t.Errorf("gtcrn PESQ-WB %.3f OVRL %.3f vs noisy %.3f %.3f", s[1].Stats[PESQWB].Mean, s[1].Stats[DNSMOSOVRL].Mean, s[0].Stats[PESQWB].Mean, s[0].Stats[DNSMOSOVRL].Mean)
	}
	if s[1].RTFTotal <= 0 || s[1].RTFTotal > 5 {
		t.Errorf("gtcrn RTF %v", s[1].RTFTotal)
	}
}
