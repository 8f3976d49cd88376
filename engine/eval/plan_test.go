package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/peers"
)

// The peers package's toy graphs: the I/O of each format, enh = 0.5·mix.
const peerToys = "../../models/peers/testdata"

// sinePlan is a plan over one pair (a.wav, the same sine of frames samples at 16 kHz as
// clean and as noisy) with the eval command's defaults and no DNSMOS; its table goes to out.
func sinePlan(t *testing.T, frames int, out io.Writer) Plan {
	t.Helper()
	dir := t.TempDir()
	x := make([]float32, frames)
	for i := range x {
		x[i] = float32(0.2 * math.Sin(float64(i)*0.05))
	}
	for _, sub := range []string{"clean", "noisy"} {
		writeWAV(t, filepath.Join(dir, sub, "a.wav"), x)
	}
	return Plan{CleanDir: filepath.Join(dir, "clean"), NoisyDir: filepath.Join(dir, "noisy"), DNSMOSDir: "off",
		Jobs: 2, MaxLagMS: 100, Model: models.Options{Seed: 1}, Out: out, Log: io.Discard}
}

// planSystem is one system's row of a plan's JSON file.
type planSystem struct {
	Name  string   `json:"name"`
	Steps int      `json:"steps"`
	Files int      `json:"files"`
	STOI  *float64 `json:"stoi"`
}

// runPlan runs p with its means written to a JSON file, and returns the systems found there.
func runPlan(t *testing.T, p Plan) []planSystem {
	t.Helper()
	p.JSON = filepath.Join(t.TempDir(), "out.json")
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return systemsIn(t, p.JSON, "systems")
}

// systemsIn reads the systems listed under key in an eval or bench JSON file.
func systemsIn(t *testing.T, path, key string) []planSystem {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	var systems []planSystem
	if err := json.Unmarshal(res[key], &systems); err != nil {
		t.Fatalf("%s: %q: %v", path, key, err)
	}
	return systems
}

func names(systems []planSystem) string {
	var n []string
	for _, s := range systems {
		n = append(n, s.Name)
	}
	return strings.Join(n, " ")
}

// A streaming bundle is scored frame by frame, once per step count.
func TestPlanStreamingBundle(t *testing.T) {
	modeltest.RequireRuntime(t)
	p := sinePlan(t, 16000, io.Discard)
	p.Models, p.Steps = []string{"../../models/streaming/testdata/rt-tiny"}, []int{1, 2}
	systems := runPlan(t, p)
	if len(systems) != 3 || systems[1].Steps != 1 || systems[2].Steps != 2 {
		t.Fatalf("systems %+v", systems)
	}
	for _, s := range systems {
		if s.Files != 1 || s.STOI == nil {
			t.Errorf("%s@%d: %d files, stoi %v", s.Name, s.Steps, s.Files, s.STOI)
		}
	}
}

// Schema-2 (STFT-domain) bundles are scored like schema-1 ones: the offline one through the
// chunked engine, the streaming one frame by frame.
func TestPlanSTFTBundles(t *testing.T) {
	modeltest.RequireRuntime(t)
	p := sinePlan(t, 16000, io.Discard)
	p.Models = []string{"../../models/testdata/tf-offline", "../../models/streaming/testdata/tf-rt"}
	systems := runPlan(t, p)
	if len(systems) != 3 {
		t.Fatalf("systems %+v", systems)
	}
	for _, s := range systems {
		if s.Files != 1 || s.STOI == nil {
			t.Errorf("%s: %d files, stoi %v", s.Name, s.Files, s.STOI)
		}
	}
}

// Outputs that cannot be written, and a DNSMOS folder given but missing, fail before any
// scoring (they used to fail after it, or only warn): nothing is written to Out.
func TestPlanChecksBeforeScoring(t *testing.T) {
	var out bytes.Buffer
	base := sinePlan(t, 1600, &out)
	dir := t.TempDir()
	for _, c := range []struct {
		change func(p *Plan)
		want   string
	}{
		{func(p *Plan) { p.CSV = dir }, "--csv"},
		{func(p *Plan) { p.JSON = "/nonexistent/x.json" }, "--json"},
		{func(p *Plan) { p.DNSMOSDir = "/nonexistent" }, "/nonexistent"},
	} {
		p := base
		c.change(&p)
		out.Reset()
		err := p.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), c.want) || out.Len() != 0 {
			t.Errorf("%s: %v, out %q; want an error naming %s before scoring", c.want, err, out.String(), c.want)
		}
	}
	// The same with outputs that work: scored and written.
	out.Reset()
	p := base
	p.JSON = filepath.Join(dir, "out.json")
	if err := p.Run(context.Background()); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(p.JSON); err != nil || !strings.Contains(out.String(), "noisy") {
		t.Errorf("a good run: %v\n%s", err, out.String())
	}
}

// ViaRates add, for every model, a row that reached it as a 48 (or 44.1) kHz device
// delivers audio.
func TestPlanViaRate(t *testing.T) {
	modeltest.RequireRuntime(t)
	p := sinePlan(t, 16000, io.Discard)
	p.Models, p.Steps, p.ViaRates = []string{"../../models/streaming/testdata/rt-tiny"}, []int{1}, []int{44100, 48000}
	systems := runPlan(t, p)
	for _, s := range systems {
		if s.Files != 1 {
			t.Errorf("%s: %d files", s.Name, s.Files)
		}
	}
	if got, want := names(systems), "noisy rt-tiny rt-tiny/44.1k rt-tiny/48k"; got != want {
		t.Errorf("systems %q, want %q", got, want)
	}
}

// Any name goes with any graph of a known format: the format comes from the graph.
func TestPlanPeerAnyName(t *testing.T) {
	modeltest.RequireRuntime(t)
	p := sinePlan(t, 16000, io.Discard)
	p.Peers = []string{"mine=" + filepath.Join(peerToys, "toy_ulunas.onnx"), "gtcrn-like=" + filepath.Join(peerToys, "toy_gtcrn.onnx")}
	if got := names(runPlan(t, p)); got != "noisy mine gtcrn-like" {
		t.Fatalf("systems %q", got)
	}
}

func TestBenchPeer(t *testing.T) {
	modeltest.RequireRuntime(t)
	js := filepath.Join(t.TempDir(), "bench.json")
	err := RunBench(BenchPlan{Peers: []string{"ul=" + filepath.Join(peerToys, "toy_ulunas.onnx")}, Threads: []int{1},
		Seconds: 0.5, Runs: 1, JSON: js, Out: io.Discard, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(systemsIn(t, js, "results")); got != "ul" {
		t.Fatalf("bench results %q, want ul", got)
	}
}

// A graph of no known format fails on one line that names the peer and the file.
func TestPeerUnknownFormat(t *testing.T) {
	modeltest.RequireRuntime(t)
	path := filepath.Join(peerToys, "unknown.onnx")
	_, _, err := openPeer("x="+path, ort.Options{Threads: 1})
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "peer x: "+path+": ") {
		t.Fatalf("error %q: want one line starting %q", msg, "peer x: "+path+": ")
	}
}

func TestPeerHelpListsFormats(t *testing.T) {
	for _, f := range peers.Formats() {
		if !strings.Contains(PeerHelp, f.Name+": "+f.About) {
			t.Errorf("--peer help lacks format %s:\n%s", f.Name, PeerHelp)
		}
	}
}
