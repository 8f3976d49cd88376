package main

// virtual-mic and live against our own devices, as users run into them (issue 24), on the
// test PulseAudio server. They skip when no server answers.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/stream/pulse"
	"github.com/restoregrad/restoregrad/stream/pulsetest"
)

// cleanVirtualMic removes modules of ours left on the server, now and after t.
func cleanVirtualMic(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	pulse.Remove(ctx, 0)
	t.Cleanup(func() { pulse.Remove(ctx, 0) })
}

// waitFor polls cond every 100 ms for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ourModules(t *testing.T) []pulse.Module {
	t.Helper()
	mods, err := pulse.Ours(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return mods
}

// `virtual-mic | head -1`: the reader of its output goes away. It used to die of SIGPIPE
// and leave its modules as a silent microphone; it must keep running and clean up on
// SIGTERM.
func TestVirtualMicOutputReaderGone(t *testing.T) {
	pulsetest.Require(t)
	cleanVirtualMic(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // like head after its line
	cmd := exec.Command(binary(t), "virtual-mic", "--input", "rg_mic.monitor", "--model", "passthrough")
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		t.Fatalf("virtual-mic exited with its output's reader gone: %v; modules left: %+v", err, ourModules(t))
	case <-time.After(7 * time.Second): // past the first status line (every 5 s)
	}
	if mods := ourModules(t); len(mods) != 2 {
		t.Errorf("modules while running: %+v", mods)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit within 10 s of SIGTERM")
	}
	if mods := ourModules(t); len(mods) != 0 {
		t.Errorf("modules left after SIGTERM: %+v", mods)
	}
}

// A microphone that matches nothing fails before anything is created or called ready.
func TestVirtualMicMissingInput(t *testing.T) {
	pulsetest.Require(t)
	cleanVirtualMic(t)
	out, err := exec.Command(binary(t), "virtual-mic", "--input", "nosuchmic", "--model", "passthrough").CombinedOutput()
	if err == nil || strings.Contains(string(out), "ready") || !strings.Contains(string(out), `"nosuchmic"`) {
		t.Errorf("virtual-mic --input nosuchmic: %v\n%s", err, out)
	}
	if mods := ourModules(t); len(mods) != 0 {
		t.Errorf("modules created for a missing microphone: %+v", mods)
	}
	t.Logf("%s", out)
}

// live never records our own microphone or its sink's monitor: they carry our output.
func TestLiveRefusesOurDevices(t *testing.T) {
	pulsetest.Require(t)
	cleanVirtualMic(t)
	cmd, _ := startVirtualMic(t)
	defer stopWith(t, cmd, syscall.SIGTERM)
	for _, args := range [][]string{
		{"--input", pulse.SourceName, "--output", pulse.SinkName},
		{"--input", pulse.SourceName, "--output", "rg_out"},
		{"--input", pulse.SinkName + ".monitor", "--output", "rg_out"},
	} {
		live := exec.Command(binary(t), append([]string{"live", "--model", "passthrough", "--duration", "3s", "--quiet"}, args...)...)
		out, err := live.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "our own output") || strings.Contains(string(out), "Ctrl-C stops") {
			t.Errorf("live %s: %v, want a refusal before it runs:\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Our microphone as the server's default source (`pactl set-default-source`, or what
// WirePlumber does on its own): virtual-mic started again takes the real microphone (here
// the test server's rg_mic.monitor) instead of failing with "would record our own output".
func TestVirtualMicOurMicIsDefault(t *testing.T) {
	pulsetest.Require(t)
	cleanVirtualMic(t)
	pactl := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("pactl", args...).CombinedOutput(); err != nil {
			t.Fatalf("pactl %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { exec.Command("pactl", "set-default-source", "rg_mic.monitor").Run() })
	first, _ := startVirtualMic(t)
	pactl("set-default-source", pulse.SourceName)
	stopWith(t, first, syscall.SIGTERM)

	cmd := exec.Command(binary(t), "virtual-mic", "--model", "passthrough", "--quiet")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	started := waitFor(15*time.Second, func() bool {
		select {
		case err := <-exited:
			exited <- err
			return true
		default:
		}
		return strings.Contains(stderr.String(), "is ready")
	})
	select {
	case err := <-exited:
		t.Fatalf("virtual-mic exited: %v\n%s", err, stderr.String())
	default:
	}
	if !started {
		cmd.Process.Kill()
		t.Fatalf("virtual-mic not ready:\n%s", stderr.String())
	}
	info, _ := pulse.Info(context.Background())
	t.Logf("default source now %s\n%s", info.DefaultSource, stderr.String())
	if !strings.Contains(stderr.String(), "live: rg_mic.monitor (PulseAudio) →") {
		t.Errorf("the input is not the real microphone rg_mic.monitor:\n%s", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit within 10 s of SIGTERM")
	}
}

// `pactl unload-module` of its remap source while virtual-mic runs: the microphone comes
// back at once, with a message, and the stream into the sink goes on.
func TestVirtualMicSourceUnloaded(t *testing.T) {
	pulsetest.Require(t)
	cleanVirtualMic(t)
	cmd, stderr := startVirtualMic(t)
	defer stopWith(t, cmd, syscall.SIGTERM)
	var source, sink int = -1, -1
	for _, m := range ourModules(t) {
		switch m.Name {
		case "module-remap-source":
			source = m.Index
		case "module-null-sink":
			sink = m.Index
		}
	}
	ctx := context.Background()
	if err := pulse.UnloadModule(ctx, source); err != nil {
		t.Fatal(err)
	}
	back := waitFor(5*time.Second, func() bool {
		sources, _ := pulse.List(ctx, "sources")
		_, ok := pulse.Find(sources, pulse.SourceName)
		return ok
	})
	if !back {
		t.Fatalf("the source did not come back:\n%s", stderr.String())
	}
	if !waitFor(2*time.Second, func() bool {
		return strings.Contains(stderr.String(), "module-remap-source was unloaded while running")
	}) {
		t.Errorf("no message about the unloaded source:\n%s", stderr.String())
	}
	mods := ourModules(t)
	if len(mods) != 2 || (mods[0].Index != sink && mods[1].Index != sink) {
		t.Errorf("modules after the source came back: %+v (sink was %d)", mods, sink)
	}
	if strings.Count(stderr.String(), "Ctrl-C stops") != 1 {
		t.Errorf("the stream into the sink was reopened:\n%s", stderr.String())
	}
}

// Two virtual microphones with different --name run side by side, each with its own
// devices (issue 24, item 8: the second was refused as "in use"); each removes its own.
func TestTwoVirtualMics(t *testing.T) {
	pulsetest.Require(t)
	cleanVirtualMic(t)
	first, _ := startVirtualMic(t)
	second := exec.Command(binary(t), "virtual-mic", "--input", "rg_mic.monitor", "--model", "passthrough", "--name", "Other Mic", "--quiet")
	var stderr bytes.Buffer
	second.Stderr = &stderr
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const otherSource = pulse.SourceName + "_other_mic"
	if !waitFor(15*time.Second, func() bool {
		sources, _ := pulse.List(ctx, "sources")
		s, ok := pulse.Find(sources, otherSource)
		return ok && s.Description == "Other Mic" && strings.Contains(stderr.String(), "is ready")
	}) {
		second.Process.Kill()
		t.Fatalf("the second microphone did not appear:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "(source "+otherSource+")") {
		t.Errorf("ready line:\n%s", stderr.String())
	}
	if mods := ourModules(t); len(mods) != 4 {
		t.Errorf("modules of two microphones: %+v", mods)
	}
	// The first one's microphone is not an input for the second (nor its own).
	out, err := exec.Command(binary(t), "virtual-mic", "--name", "Third", "--model", "passthrough", "--input", pulse.SourceName).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "our own output") {
		t.Errorf("another microphone of ours as input: %v\n%s", err, out)
	}
	stopWith(t, second, syscall.SIGTERM)
	sources, _ := pulse.List(ctx, "sources")
	if _, ok := pulse.Find(sources, pulse.SourceName); !ok {
		t.Error("stopping the second microphone removed the first")
	}
	if _, ok := pulse.Find(sources, otherSource); ok {
		t.Error("the second microphone was not removed")
	}
	stopWith(t, first, syscall.SIGTERM)
}
