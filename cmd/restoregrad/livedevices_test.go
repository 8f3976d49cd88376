package main

// Devices that come and go (issue 15, item 2), on the test PulseAudio server.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/stream/pulse"
	"github.com/restoregrad/restoregrad/stream/pulsetest"
)

// loadTestSink loads a 48 kHz mono null sink named name for the length of t and returns
// its module index.
func loadTestSink(t *testing.T, name string) int {
	t.Helper()
	return pulsetest.LoadModule(t, "module-null-sink", "sink_name="+name, "rate=48000", "channels=1",
		"format=float32le", "sink_properties=device.description="+name)
}

type statsFile struct {
	Reconnects int    `json:"reconnects"`
	Error      string `json:"error"`
	StoppedBy  string `json:"stopped_by"`
	Stream     struct {
		Backend     string `json:"backend"`
		Callbacks   int64  `json:"callbacks"`
		OutputXruns int64  `json:"output_xruns"`
		Dropped     int64  `json:"dropped_frames"`
	} `json:"stream"`
}

func readStats(t *testing.T, name string) statsFile {
	t.Helper()
	var s statsFile
	b, err := os.ReadFile(name)
	if err != nil || json.Unmarshal(b, &s) != nil {
		t.Fatalf("json stats %s: %v\n%s", name, err, b)
	}
	return s
}

// Without --reconnect a microphone that goes away ends live with an error (it used to
// move to the fallback source and exit 0); with it, live reconnects to the named device
// when it returns and the error clears.
func TestLiveMicrophoneGoesAndReturns(t *testing.T) {
	pulsetest.Require(t)
	dir := t.TempDir()

	ctx := context.Background()
	mod := loadTestSink(t, "rg_tmpmic")
	cmd := exec.Command(binary(t), "live", "--model", "passthrough", "--input", "rg_tmpmic.monitor", "--output", "rg_out", "--duration", "20s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	pulse.UnloadModule(ctx, mod)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(stderr.String(), "rg_tmpmic") {
			t.Fatalf("without --reconnect: want a non-zero exit naming the device, got %v:\n%s", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("live kept running after its microphone went away:\n%s", stderr.String())
	}

	mod = loadTestSink(t, "rg_tmpmic")
	stats := filepath.Join(dir, "s.json")
	cmd = exec.Command(binary(t), "live", "--model", "passthrough", "--input", "rg_tmpmic.monitor", "--output", "rg_out",
		"--reconnect", "--duration", "9s", "--json-stats", stats)
	stderr.Reset()
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	pulse.UnloadModule(ctx, mod)
	time.Sleep(2 * time.Second)
	if s := readStats(t, stats); s.Error == "" || s.Reconnects == 0 {
		t.Errorf("while the device is away: want the error and a reconnect, got %+v", s)
	}
	mod = loadTestSink(t, "rg_tmpmic")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("live --reconnect: %v\n%s", err, stderr.String())
	}
	t.Log(stderr.String())
	s := readStats(t, stats)
	if s.Reconnects == 0 || s.Error != "" || s.StoppedBy != "duration" || s.Stream.Backend != "pulse" {
		t.Errorf("after the device returned: %+v", s)
	}
	if strings.Count(stderr.String(), "rg_tmpmic.monitor (PulseAudio) →") < 2 {
		t.Errorf("did not reopen rg_tmpmic.monitor:\n%s", stderr.String())
	}
	if s.Stream.OutputXruns > 2 || s.Stream.Dropped > 0 {
		t.Errorf("stutter after the reconnect: %d output xruns, %d dropped frames", s.Stream.OutputXruns, s.Stream.Dropped)
	}
}

// --remove while an instance runs used to unload its devices and send the microphone to
// the speakers (issue 15, item 3): it must refuse and leave them.
func TestVirtualMicRemoveRefusesWhileRunning(t *testing.T) {
	pulsetest.Require(t)
	ctx := context.Background()
	cleanVirtualMic(t)
	cmd, _ := startVirtualMic(t)
	out, err := exec.Command(binary(t), "virtual-mic", "--remove").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use") || !strings.Contains(string(out), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("--remove while running: want a refusal naming pid %d, got %v:\n%s", cmd.Process.Pid, err, out)
	}
	if mods, _ := pulse.Ours(ctx); len(mods) != 2 {
		t.Errorf("the running instance lost its devices: %+v", mods)
	}
	stopWith(t, cmd, syscall.SIGTERM)
}

// privateServer starts a PulseAudio test server of its own (so that restarting it does
// not disturb other tests) and returns the environment that reaches it.
func privateServer(t *testing.T) (env []string, restart func()) {
	t.Helper()
	pulsetest.Require(t)
	dir, err := os.MkdirTemp("", "rgpa")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("../../scripts/pulse-test-server.sh")
	run := func(arg string) []string {
		cmd := exec.Command("bash", script, arg)
		cmd.Env = append(os.Environ(), "RG_PULSE_DIR="+dir)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("pulse-test-server.sh %s: %v", arg, err)
		}
		var env []string
		for _, line := range strings.Split(string(out), "\n") {
			if kv, ok := strings.CutPrefix(line, "export "); ok {
				env = append(env, kv)
			}
		}
		return env
	}
	env = append(run("start"), "XDG_RUNTIME_DIR="+filepath.Join(dir, "run"))
	t.Cleanup(func() { run("stop"); os.RemoveAll(dir) })
	return env, func() { run("stop"); run("start") }
}

// After a sound-server restart virtual-mic re-creates its devices (issue 15, item 4:
// it looped forever on the missing sink).
func TestVirtualMicSurvivesServerRestart(t *testing.T) {
	env, restart := privateServer(t)
	for _, kv := range env { // this process observes the private server too
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx := context.Background()
	waitSource := func(what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			sources, _ := pulse.List(ctx, "sources")
			if _, ok := pulse.Find(sources, pulse.SourceName); ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the virtual source did not appear", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	cmd := exec.Command(binary(t), "virtual-mic", "--model", "passthrough", "--input", "rg_mic.monitor", "--quiet")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitSource("at start")
	restart()
	waitSource("after the server restart")
	time.Sleep(time.Second)
	if cmd.ProcessState != nil {
		t.Fatalf("virtual-mic exited:\n%s", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	t.Log(stderr.String())
	if mods, err := pulse.Ours(ctx); err != nil || len(mods) != 0 {
		t.Errorf("modules left after SIGTERM: %+v %v", mods, err)
	}
}
