package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/models/modeltest"
)

// --via-rate adds, for every model, a row that reached it as a 48 (or 44.1) kHz device
// delivers audio; a bad rate is refused before anything is scored.
func TestEvalViaRate(t *testing.T) {
	modeltest.RequireRuntime(t)
	dir := t.TempDir()
	for _, sub := range []string{"clean", "noisy"} {
		writeWAV(t, filepath.Join(dir, sub, "a.wav"), 16000, 1, 16000)
	}
	base := []string{"--clean", filepath.Join(dir, "clean"), "--noisy", filepath.Join(dir, "noisy"),
		"--model", "../../models/streaming/testdata/rt-tiny", "--steps", "1", "--dnsmos", "off"}
	js := filepath.Join(dir, "out.json")
	if err := runEval(append(base, "--via-rate", "44100,48000", "--json", js)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Systems []struct {
			Name  string `json:"name"`
			Files int    `json:"files"`
		} `json:"systems"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.Systems {
		names = append(names, s.Name)
		if s.Files != 1 {
			t.Errorf("%s: %d files", s.Name, s.Files)
		}
	}
	if got, want := strings.Join(names, " "), "noisy rt-tiny rt-tiny/44.1k rt-tiny/48k"; got != want {
		t.Errorf("systems %q, want %q", got, want)
	}
	err = runEval(append(base, "--via-rate", "12"))
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--via-rate 12") {
		t.Errorf("--via-rate 12: %v (code %d), want a usage error naming it", err, exitCode(err))
	}
}
