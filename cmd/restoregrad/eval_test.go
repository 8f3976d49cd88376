package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/models/modeltest"
)

// A streaming bundle is scored frame by frame, once per step count.
func TestEvalStreamingBundle(t *testing.T) {
	modeltest.RequireRuntime(t)
	dir := t.TempDir()
	for _, sub := range []string{"clean", "noisy"} {
		writeWAV(t, filepath.Join(dir, sub, "a.wav"), 16000, 1, 16000)
	}
	js := filepath.Join(dir, "out.json")
	err := runEval([]string{"--clean", filepath.Join(dir, "clean"), "--noisy", filepath.Join(dir, "noisy"),
		"--model", "../../models/streaming/testdata/rt-tiny", "--steps", "1,2", "--dnsmos", "off", "--json", js})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Systems []struct {
			Name  string   `json:"name"`
			Steps int      `json:"steps"`
			Files int      `json:"files"`
			STOI  *float64 `json:"stoi"`
		} `json:"systems"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Systems) != 3 || res.Systems[1].Steps != 1 || res.Systems[2].Steps != 2 {
		t.Fatalf("systems %+v", res.Systems)
	}
	for _, s := range res.Systems {
		if s.Files != 1 || s.STOI == nil {
			t.Errorf("%s@%d: %d files, stoi %v", s.Name, s.Steps, s.Files, s.STOI)
		}
	}
}

// Schema-2 (STFT-domain) bundles are scored like schema-1 ones: the offline one through the
// chunked engine, the streaming one frame by frame.
func TestEvalSTFTBundles(t *testing.T) {
	modeltest.RequireRuntime(t)
	dir := t.TempDir()
	for _, sub := range []string{"clean", "noisy"} {
		writeWAV(t, filepath.Join(dir, sub, "a.wav"), 16000, 1, 16000)
	}
	js := filepath.Join(dir, "out.json")
	err := runEval([]string{"--clean", filepath.Join(dir, "clean"), "--noisy", filepath.Join(dir, "noisy"),
		"--model", "../../models/testdata/tf-offline", "--model", "../../models/streaming/testdata/tf-rt",
		"--dnsmos", "off", "--json", js})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Systems []struct {
			Name  string   `json:"name"`
			Files int      `json:"files"`
			STOI  *float64 `json:"stoi"`
		} `json:"systems"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Systems) != 3 {
		t.Fatalf("systems %+v", res.Systems)
	}
	for _, s := range res.Systems {
		if s.Files != 1 || s.STOI == nil {
			t.Errorf("%s: %d files, stoi %v", s.Name, s.Files, s.STOI)
		}
	}
}

// usageOf is what run prints for -h.
func usageOf(t *testing.T, run func([]string) error) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	prev := os.Stderr
	os.Stderr = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	err = run([]string{"-h"})
	os.Stderr = prev
	w.Close()
	out := string(<-done)
	r.Close()
	if err != errFlagHelp {
		t.Fatalf("-h: %v, want errFlagHelp", err)
	}
	return out
}

// eval draws the diffusion noise with enhance's default seed, so that it scores the outputs
// users get; -h of both shows it.
func TestEvalSeedIsEnhances(t *testing.T) {
	modeltest.RequireRuntime(t) // eval loads ONNX Runtime before it opens a model
	dir := t.TempDir()
	for _, sub := range []string{"clean", "noisy"} {
		writeWAV(t, filepath.Join(dir, sub, "a.wav"), 16000, 1, 1600)
	}
	_, got, stop := recordOpen(t)
	err := runEval([]string{"--clean", filepath.Join(dir, "clean"), "--noisy", filepath.Join(dir, "noisy"),
		"--model", "some/bundle", "--dnsmos", "off"})
	if !errors.Is(err, stop) {
		t.Fatalf("runEval: %v, want the recorded stop", err)
	}
	evalSeed := got.Seed
	err = runEnhance([]string{filepath.Join(dir, "noisy", "a.wav"), "-o", filepath.Join(dir, "out.wav"), "--model", "some/bundle", "--quiet"})
	if !errors.Is(err, stop) {
		t.Fatalf("runEnhance: %v, want the recorded stop", err)
	}
	if evalSeed != got.Seed || evalSeed != defaultSeed {
		t.Errorf("default seeds: eval %d, enhance %d, want both %d", evalSeed, got.Seed, defaultSeed)
	}
	for name, run := range map[string]func([]string) error{"eval": runEval, "enhance": runEnhance} {
		if u := usageOf(t, run); !regexp.MustCompile(`-seed \w+\n\s+.*\(default 1\)`).MatchString(u) {
			t.Errorf("%s -h does not show the seed's default 1:\n%s", name, u)
		}
	}
}

// Outputs that cannot be written, and a DNSMOS folder given but missing, fail before any
// scoring (they used to fail after it, or only warn): nothing is printed to stdout.
func TestEvalChecksBeforeScoring(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"clean", "noisy"} {
		writeWAV(t, filepath.Join(dir, sub, "a.wav"), 16000, 1, 1600)
	}
	base := []string{"--clean", filepath.Join(dir, "clean"), "--noisy", filepath.Join(dir, "noisy")}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--dnsmos", "off", "--csv", dir}, "--csv"},
		{[]string{"--dnsmos", "off", "--json", "/nonexistent/x.json"}, "--json"},
		{[]string{"--dnsmos", "/nonexistent"}, "/nonexistent"},
	} {
		var err error
		out := captureStdout(t, func() { err = runEval(append(append([]string{}, base...), c.args...)) })
		if err == nil || !strings.Contains(err.Error(), c.want) || out != "" {
			t.Errorf("%q: %v, stdout %q; want an error naming %s before scoring", c.args, err, out, c.want)
		}
	}
	// The same with outputs that work: scored and written.
	js := filepath.Join(dir, "out.json")
	out := captureStdout(t, func() {
		if err := runEval(append(base, "--dnsmos", "off", "--json", js)); err != nil {
			t.Error(err)
		}
	})
	if _, err := os.Stat(js); err != nil || !strings.Contains(out, "noisy") {
		t.Errorf("a good run: %v\n%s", err, out)
	}
}

// Ctrl-C during the scoring says what was interrupted and exits 130 (it printed only
// "context canceled").
func TestEvalInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	for i := range 16 {
		for _, sub := range []string{"clean", "noisy"} {
			writeWAV(t, filepath.Join(dir, sub, fmt.Sprintf("%02d.wav", i)), 16000, 1, 16000*20)
		}
	}
	cmd := exec.Command(binary(t), "eval", "--clean", filepath.Join(dir, "clean"), "--noisy", filepath.Join(dir, "noisy"), "--dnsmos", "off", "--jobs", "1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 || !strings.Contains(out.String(), "interrupted (Ctrl-C) while scoring") ||
		!strings.Contains(out.String(), filepath.Join(dir, "noisy")) {
		t.Errorf("eval after Ctrl-C: %v\n%s", err, out.String())
	}
}
