package main

// Tests of live and virtual-mic as a user runs them: the built binary against the real
// PulseAudio test server (scripts/pulse-test-server.sh). They skip when no server answers.

import (
	"bytes"
	"context"
	encbinary "encoding/binary"
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
	"github.com/restoregrad/restoregrad/stream/virtualmic"
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
	if len(s.RecordFiles) != 2 {
		t.Fatalf("record files %q", s.RecordFiles)
	}
	for _, f := range s.RecordFiles {
		if n := wavHeaderFrames(t, f); n < 48000 {
			t.Errorf("%s: %d frames", f, n)
		}
	}
}

// wavHeaderFrames is the frame count (float32 mono) that a WAV file's header states, after
// checking the RIFF size and that the file holds that much: what readers that trust the
// header (sox, ffmpeg, libsndfile) see.
func wavHeaderFrames(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	le := encbinary.LittleEndian // binary is this package's test binary
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s: not a WAV file (%d bytes)", name, len(b))
	}
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(le.Uint32(b[off+4:]))
		if id == "data" {
			if riff := int(le.Uint32(b[4:])); riff != off+size {
				t.Errorf("%s: RIFF size %d, want %d", name, riff, off+size)
			}
			if off+8+size > len(b) {
				t.Errorf("%s: data chunk of %d bytes, %d in the file", name, size, len(b)-off-8)
			}
			return size / 4
		}
		off += 8 + size + size&1
	}
	t.Fatalf("%s: no data chunk", name)
	return 0
}

// A run killed (SIGKILL) while recording leaves files whose headers cover what they hold,
// up to the last few seconds; a second run into the same folder records a new take.
func TestLiveRecordKilled(t *testing.T) {
	pulsetest.Require(t)
	dir := t.TempDir()
	for take := 1; take <= 2; take++ {
		cmd := exec.Command(binary(t), "live", "--input", "rg_mic.monitor", "--output", "rg_out", "--model", "passthrough:16000",
			"--record", dir, "--quiet")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4500 * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		files, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
		if len(files) != 2*take {
			t.Fatalf("take %d: files %q\n%s", take, files, stderr.String())
		}
		for _, f := range files {
			if n := wavHeaderFrames(t, f); n < 48000 {
				t.Errorf("take %d: %s: header says %d frames, want over 1 s\n%s", take, f, n, stderr.String())
			} else {
				t.Logf("take %d: %s: %d frames in the header after SIGKILL", take, filepath.Base(f), n)
			}
		}
	}
}

// live --record on a full disk (a 256 KiB tmpfs; needs root) stops recording with a message
// and goes on; the files are valid, the summary says no "wrote" and the exit status is 1.
func TestLiveRecordFullDisk(t *testing.T) {
	pulsetest.Require(t)
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	cmd := exec.Command(binary(t), "live", "--input", "rg_mic.monitor", "--output", "rg_out", "--model", "passthrough:16000",
		"--record", dir, "--quiet", "--duration", "4s")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("live: %v, want exit status 1", err)
	}
	text := string(out)
	if strings.Contains(text, "wrote") || !strings.Contains(text, "live: recording stopped after") ||
		!strings.Contains(text, "no space left on device") || !strings.Contains(text, "stopped (duration) after 4") {
		t.Errorf("output does not tell the recording stopped and the run went on:\n%s", text)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
	if len(files) != 2 {
		t.Fatalf("files %q", files)
	}
	for _, f := range files {
		if n := wavHeaderFrames(t, f); n < 16000 {
			t.Errorf("%s: %d frames in the header", f, n)
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
	cmd := exec.Command(binary(t), "virtual-mic", "--input", "rg_mic.monitor", "--model", "passthrough")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		sources, _ := pulse.List(ctx, "sources")
		if s, ok := pulse.Find(sources, pulse.SourceName); ok && s.Description == pulse.DefaultDescription &&
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
	cleanVirtualMic(t)
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
	cleanVirtualMic(t)
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
		err = runVirtualMic([]string{"--install-service", "--input", "USB Mic", "--steps", "3", "--model", "passthrough"})
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, ".config", "systemd", "user", virtualmic.ServiceName)
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
