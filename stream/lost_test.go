package stream_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/stream"
	"github.com/restoregrad/restoregrad/stream/pulse"
	"github.com/restoregrad/restoregrad/stream/pulsetest"
)

// A device that goes away must end Run with ErrDeviceLost at once, never leave the
// stream on the server's fallback device (issue 15, item 2: once that was our own
// output's monitor, a feedback loop).
func TestRunReportsLostDevice(t *testing.T) {
	pulsetest.Require(t)
	for _, which := range []string{"input", "output"} {
		t.Run(which, func(t *testing.T) {
			mod := pulsetest.LoadModule(t, "module-null-sink", "sink_name=rg_tmp", "rate=48000", "channels=1",
				"format=float32le", "sink_properties=device.description=rg_tmp")
			cfg := stream.Config{Input: "rg_tmp.monitor", Output: "rg_out", SampleRate: pulsetest.Rate}
			if which == "output" {
				cfg = stream.Config{Input: "rg_mic.monitor", Output: "rg_tmp", SampleRate: pulsetest.Rate}
			}
			st, err := stream.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			rt, err := engine.NewRealtime(&copyProc{rate: 16000, n: 160, steps: 1}, engine.RealtimeConfig{})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- st.Run(context.Background(), rt, stream.RunOptions{Watchdog: 10 * time.Second}) }()
			time.Sleep(time.Second)
			unloaded := time.Now()
			if err := pulse.UnloadModule(context.Background(), mod); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				t.Logf("after %v: %v", time.Since(unloaded), err)
				if !errors.Is(err, stream.ErrDeviceLost) || !strings.Contains(err.Error(), "rg_tmp") {
					t.Fatalf("want ErrDeviceLost naming rg_tmp, got %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run still running 5 s after its device went away")
			}
		})
	}
}
