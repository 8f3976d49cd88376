package main

import (
	"bytes"
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
