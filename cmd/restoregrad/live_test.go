package main

// Tests of live and virtual-mic as a user runs them: the built binary against the real
// PulseAudio test server (scripts/pulse-test-server.sh). They skip when no server answers.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/dsp/metrics"
	"github.com/restoregrad/restoregrad/stream/pulse"
	"github.com/restoregrad/restoregrad/stream/pulsetest"
	"github.com/restoregrad/restoregrad/stream/session"
)

// buildBinary builds restoregrad once per test binary run.
var builtBinary string

func binary(t *testing.T) string {
	t.Helper()
	if builtBinary != "" {
		return builtBinary
	}
	dir, err := os.MkdirTemp("", "restoregrad-bin")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "restoregrad")
	cmd := exec.Command("go", "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	builtBinary = out
	return out
}

func TestLiveCLIStopsCleanlyOnSIGTERM(t *testing.T) {
	pulsetest.Require(t)
	dir := t.TempDir()
	stats := filepath.Join(dir, "stats.json")
	cmd := exec.Command(binary(t), "live", "--input", "rg_mic.monitor", "--output", "rg_out", "--model", "passthrough:16000",
		"--record", dir, "--json-stats", stats)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("live exited with %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("live did not stop within 10 s of SIGTERM\n%s", stderr.String())
	}
	out := stderr.String()
	t.Log(out)
	if !strings.Contains(out, "stopped (signal)") || !strings.Contains(out, "xruns: input 0") {
		t.Errorf("no clean summary with zero input xruns:\n%s", out)
	}
	var s session.Summary
	b, err := os.ReadFile(stats)
	if err != nil || json.Unmarshal(b, &s) != nil {
		t.Fatalf("json stats: %v %s", err, b)
	}
	if s.Stream.Callbacks == 0 || s.Engine.Frames == 0 || s.StoppedBy != "signal" {
		t.Errorf("stats: %+v", s)
	}
	for _, f := range []string{"raw.wav", "denoised.wav"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() < 48000 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestLiveCLIMissingDevice(t *testing.T) {
	pulsetest.Require(t)
	cmd := exec.Command(binary(t), "live", "--input", "no-such-mic-xyz", "--model", "passthrough", "--duration", "5s")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("live succeeded with a missing device")
	}
	if time.Since(start) > 8*time.Second || !strings.Contains(string(out), "no input device matches") {
		t.Fatalf("want a quick clear error, got after %v:\n%s", time.Since(start), out)
	}
}

// startVirtualMic runs virtual-mic and waits until its source exists.
func startVirtualMic(t *testing.T) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary(t), "virtual-mic", "--input", "rg_mic.monitor", "--model", "passthrough", "--name", "RestoreGrad Test Mic")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		sources, _ := pulse.List(ctx, "sources")
		if s, ok := pulse.Find(sources, pulse.SourceName); ok && s.Description == "RestoreGrad Test Mic" &&
			strings.Contains(stderr.String(), "Ctrl-C stops") {
			return cmd, &stderr
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("virtual source did not appear\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func stopWith(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) {
	t.Helper()
	cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil && sig != syscall.SIGKILL {
			t.Errorf("exit after %v: %v", sig, err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no exit within 10 s of %v", sig)
	}
}

func TestVirtualMicEndToEnd(t *testing.T) {
	pulsetest.Require(t)
	if os.Getenv("RG_TEST_VIRTUALMIC_AUDIO") == "0" {
		t.Skip("RG_TEST_VIRTUALMIC_AUDIO=0: skipping the audio check of the virtual mic")
	}
	ctx := context.Background()
	pulse.Remove(ctx, 0)
	t.Cleanup(func() { pulse.Remove(ctx, 0) })
	cmd, stderr := startVirtualMic(t)
	time.Sleep(time.Second) // let the stream settle before measuring
	x := pulsetest.SpeechLike(3*time.Second, 5)
	var best float64 = -100
	for attempt := 1; attempt <= 3 && best < 15; attempt++ {
		rec, err := pulsetest.Record(pulse.SourceName)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if err := pulsetest.Play(ctx, "rg_mic", x); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond)
		y := rec.Stop()
		lag := metrics.Align(x, y, 0)
		t.Logf("attempt %d: recorded %d samples, lag %d", attempt, len(y), lag)
		if lag >= 0 && lag+len(x) <= len(y) {
			sdr, err := metrics.SISDR(x, y[lag:lag+len(x)])
			t.Logf("attempt %d: SI-SDR through the virtual mic %.1f dB (%v)", attempt, sdr, err)
			best = max(best, sdr)
		}
	}
	if best < 15 {
		t.Errorf("the virtual mic does not carry the input: best SI-SDR %.1f dB", best)
	}
	stopWith(t, cmd, syscall.SIGTERM)
	t.Log(stderr.String())
	if mods, _ := pulse.Ours(ctx); len(mods) != 0 {
		t.Fatalf("modules left after SIGTERM: %+v", mods)
	}
}

func TestVirtualMicRecoversAfterSIGKILL(t *testing.T) {
	pulsetest.Require(t)
	ctx := context.Background()
	pulse.Remove(ctx, 0)
	t.Cleanup(func() { pulse.Remove(ctx, 0) })
	first, _ := startVirtualMic(t)
	stopWith(t, first, syscall.SIGKILL)
	if mods, _ := pulse.Ours(ctx); len(mods) != 2 {
		t.Fatalf("after SIGKILL want the 2 stale modules, got %+v", mods)
	}
	out, _ := exec.Command(binary(t), "virtual-mic", "--list").CombinedOutput()
	if !strings.Contains(string(out), "stale") {
		t.Errorf("--list does not flag the stale modules:\n%s", out)
	}
	second, _ := startVirtualMic(t)
	mods, _ := pulse.Ours(ctx)
	if len(mods) != 2 {
		t.Fatalf("want exactly one set of modules, got %+v", mods)
	}
	for _, m := range mods {
		if m.PID != second.Process.Pid {
			t.Errorf("module %d belongs to pid %d, not the new run %d", m.Index, m.PID, second.Process.Pid)
		}
	}
	// A second concurrent run must refuse rather than tear the first one's devices down.
	out, err := exec.Command(binary(t), "virtual-mic", "--model", "passthrough", "--input", "rg_mic.monitor", "--duration", "2s").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use") {
		t.Errorf("a second run did not refuse: %v\n%s", err, out)
	}
	stopWith(t, second, syscall.SIGINT)
	if mods, _ := pulse.Ours(ctx); len(mods) != 0 {
		t.Fatalf("modules left after SIGINT: %+v", mods)
	}
	out, _ = exec.Command(binary(t), "virtual-mic", "--remove").CombinedOutput()
	if !strings.Contains(string(out), "removed 0") {
		t.Errorf("--remove: %s", out)
	}
}

func TestVirtualMicInstallService(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	var err error
	out := captureStdout(t, func() {
		err = runVirtualMic([]string{"--install-service", "--input", "USB Mic", "--steps", "3"})
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, ".config", "systemd", "user", serviceName)
	b, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatalf("%v (output %s)", rerr, out)
	}
	unit := string(b)
	for _, want := range []string{"ExecStart=", `"USB Mic"`, "--steps 3", "virtual-mic", "WantedBy=default.target"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	captureStdout(t, func() { err = runVirtualMic([]string{"--uninstall-service"}) })
	if _, serr := os.Stat(path); err != nil || !os.IsNotExist(serr) {
		t.Fatalf("uninstall: %v, %v", err, serr)
	}
}

func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = saved }()
	f()
	w.Close()
	var b bytes.Buffer
	b.ReadFrom(r)
	return b.String()
}
