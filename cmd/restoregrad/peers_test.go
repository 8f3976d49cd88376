package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/peers"
)

// The peers package's toy graphs: the I/O of each format, enh = 0.5·mix.
const peerToys = "../../models/peers/testdata"

// systemNames reads the system names from an eval or bench JSON file.
func systemNames(t *testing.T, path, key string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	var systems []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(res[key], &systems); err != nil {
		t.Fatalf("%s: %q: %v", path, key, err)
	}
	var names []string
	for _, s := range systems {
		names = append(names, s.Name)
	}
	return names
}

// Any name goes with any graph of a known format: the format comes from the graph.
func TestEvalPeerAnyName(t *testing.T) {
	modeltest.RequireRuntime(t)
	dir := t.TempDir()
	for _, sub := range []string{"clean", "noisy"} {
		writeWAV(t, filepath.Join(dir, sub, "a.wav"), 16000, 1, 16000)
	}
	js := filepath.Join(dir, "out.json")
	err := runEval([]string{"--clean", filepath.Join(dir, "clean"), "--noisy", filepath.Join(dir, "noisy"),
		"--peer", "mine=" + filepath.Join(peerToys, "toy_ulunas.onnx"),
		"--peer", "gtcrn-like=" + filepath.Join(peerToys, "toy_gtcrn.onnx"),
		"--dnsmos", "off", "--json", js})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(systemNames(t, js, "systems"), " "); got != "noisy mine gtcrn-like" {
		t.Fatalf("systems %q", got)
	}
}

func TestBenchPeer(t *testing.T) {
	modeltest.RequireRuntime(t)
	js := filepath.Join(t.TempDir(), "bench.json")
	err := runBench([]string{"--peer", "ul=" + filepath.Join(peerToys, "toy_ulunas.onnx"),
		"--seconds", "0.5", "--runs", "1", "--paced", "0", "--json", js})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(systemNames(t, js, "results"), " "); got != "ul" {
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
		if !strings.Contains(peerHelp, f.Name+": "+f.About) {
			t.Errorf("--peer help lacks format %s:\n%s", f.Name, peerHelp)
		}
	}
}
