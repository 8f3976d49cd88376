package stream

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/stream/pulse"
)

func TestFindPulseNode(t *testing.T) {
	nodes := []pulse.Object{
		{Name: "rg_mic.monitor", Description: "Monitor of rg_mic"},
		{Name: "alsa_input.usb-Blue_Yeti", Description: "Yeti Stereo Microphone"},
		{Name: "alsa_input.pci-0000_00_1f.3", Description: "Built-in Audio"},
	}
	for spec, want := range map[string]string{
		"":               "rg_mic.monitor", // the default
		"rg_mic.monitor": "rg_mic.monitor",
		"yeti":           "alsa_input.usb-Blue_Yeti",
		"built-in":       "alsa_input.pci-0000_00_1f.3",
	} {
		n, err := findPulseNode(nodes, "rg_mic.monitor", spec, Input)
		if err != nil || n.Name != want {
			t.Errorf("%q: got %q, %v; want %q", spec, n.Name, err, want)
		}
	}
	for _, spec := range []string{"alsa_input", "no-such-mic", "3"} {
		_, err := findPulseNode(nodes, "", spec, Input)
		if !errors.Is(err, errNotPulse) {
			t.Errorf("%q: want errNotPulse (so auto falls back to PortAudio), got %v", spec, err)
		}
		if spec == "no-such-mic" && (!errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "rg_mic.monitor")) {
			t.Errorf("%q: the error should be ErrNoDevice and list the sources: %v", spec, err)
		}
	}
}

func TestUnknownBackend(t *testing.T) {
	_, err := Open(Config{Backend: "oss"})
	if err == nil || !strings.Contains(err.Error(), "unknown audio backend") {
		t.Fatalf("got %v", err)
	}
}

// Negative sizes used to open a stream that dropped every frame (issue 15, item 5).
func TestOpenRejectsNegativeSizes(t *testing.T) {
	for _, cfg := range []Config{
		{Cushion: -10 * time.Millisecond},
		{Block: -time.Millisecond},
		{DeviceLatency: -time.Millisecond},
		{MaxBacklog: -time.Second},
		{SampleRate: -48000},
	} {
		s, err := Open(cfg)
		if err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
			continue
		}
		if !strings.Contains(err.Error(), "negative") {
			t.Errorf("Open(%+v): %v, want it to say what is negative", cfg, err)
		}
	}
}
