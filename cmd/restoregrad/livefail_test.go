package main

// Regression tests of issue 15, item 7: mistakes that used to leave a silent process
// running, or an unclear message.

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/stream/pulse"
	"github.com/restoregrad/restoregrad/stream/pulsetest"
)

// runQuick runs the binary and fails the test if it is still running after limit.
func runQuick(t *testing.T, limit time.Duration, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%q still running after %v:\n%s", args, limit, out)
	}
	return string(out), err
}

func TestVirtualMicInputTypoExits(t *testing.T) {
	pulsetest.Require(t)
	ctx := context.Background()
	cleanVirtualMic(t)
	out, err := runQuick(t, 15*time.Second, nil, "virtual-mic", "--model", "passthrough", "--input", "rg_mci.monitr")
	if err == nil || !strings.Contains(out, "rg_mci.monitr") {
		t.Fatalf("want a non-zero exit naming the input, got %v:\n%s", err, out)
	}
	if mods, _ := pulse.Ours(ctx); len(mods) != 0 {
		t.Errorf("modules left behind: %+v", mods)
	}
}

func TestInputMayNotBeOurOwnOutput(t *testing.T) {
	pulsetest.Require(t)
	cleanVirtualMic(t)
	for _, args := range [][]string{
		{"virtual-mic", "--model", "passthrough", "--input", pulse.SourceName},
		{"virtual-mic", "--model", "passthrough", "--input", pulse.SinkName + ".monitor"},
		{"live", "--model", "passthrough", "--input", "rg_out.monitor", "--output", "rg_out"},
	} {
		out, err := runQuick(t, 15*time.Second, nil, args...)
		if err == nil || !strings.Contains(out, "feedback") {
			t.Errorf("%q: want a refusal naming the feedback loop, got %v:\n%s", args, err, out)
		}
	}
}

func TestDevicesWithoutServer(t *testing.T) {
	out, err := runQuick(t, 20*time.Second, []string{"PULSE_SERVER=unix:/nonexistent/native", "XDG_RUNTIME_DIR=/nonexistent",
		"ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf"}, "devices")
	if err == nil {
		t.Skipf("this machine has audio devices without a sound server:\n%s", out)
	}
	out = strings.TrimSpace(out)
	if strings.Count(out, "\n") != 0 || !strings.Contains(out, "no audio devices") || strings.Contains(out, "pa_context") {
		t.Fatalf("want one clear line, got:\n%s", out)
	}
}
