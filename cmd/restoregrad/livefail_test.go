package main

// Regression tests of issue 15, item 7: mistakes that used to leave a silent process
// running, or an unclear message.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/stream"
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
	pulse.Remove(ctx, 0)
	t.Cleanup(func() { pulse.Remove(ctx, 0) })
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
	ctx := context.Background()
	pulse.Remove(ctx, 0)
	t.Cleanup(func() { pulse.Remove(ctx, 0) })
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

// The JSON stats use snake_case keys only, durations in ms, and name the backend.
func TestLiveJSONStatsKeys(t *testing.T) {
	var s liveSummary
	s.Error = "x"
	s.Stream = stream.Stats{DeviceLatency: 50 * time.Millisecond, EstimatedLatency: 70 * time.Millisecond}
	s.Engine = engine.RealtimeStats{BypassTime: 2 * time.Second, ComputeTime: time.Second}
	var total stream.Stats
	addStats(&total, stream.Stats{Backend: stream.BackendPulse})
	if total.Backend != stream.BackendPulse {
		t.Errorf("addStats drops the backend: %+v", total)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	snake := regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, v := range obj {
			if !snake.MatchString(k) {
				t.Errorf("key %s%s is not snake_case", prefix, k)
			}
			if f, ok := v.(float64); ok && f >= 1e6 {
				t.Errorf("key %s%s = %v: a duration in ns?", prefix, k, f)
			}
			walk(prefix+k+".", v)
		}
	}
	walk("", m)
	st := m["stream"].(map[string]any)
	if st["device_latency_ms"] != 50.0 || st["estimated_latency_ms"] != 70.0 {
		t.Errorf("stream latencies not in ms: %v", st)
	}
	if e := m["engine"].(map[string]any); e["bypass_ms"] != 2000.0 {
		t.Errorf("engine bypass not in ms: %v", e)
	}
}
