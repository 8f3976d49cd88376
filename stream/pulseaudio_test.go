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

// The sources of a desktop with the virtual microphone made the default source (by the
// user, or WirePlumber on its own), and of the test server.
func ourMicSources(real bool) []pulse.Object {
	src := []pulse.Object{
		{Name: "rg_out.monitor", Properties: map[string]string{"device.class": "monitor"}},
		{Name: "rg_mic.monitor", Properties: map[string]string{"device.class": "monitor"}},
		{Name: pulse.SinkName + ".monitor", Properties: map[string]string{"device.class": "monitor"}},
		{Name: pulse.SourceName, Properties: map[string]string{"device.class": "sound", "device.master_device": pulse.SinkName + ".monitor"}},
	}
	if real {
		src = append(src, pulse.Object{Name: "alsa_input.usb-Blue_Yeti", Description: "Yeti Stereo Microphone", Properties: map[string]string{"device.class": "sound"}})
	}
	return src
}

// Our own microphone as the default source: the default input is the real microphone,
// not an error (issue 24, item 1); naming ours is still refused.
func TestDefaultSourceIsOurMic(t *testing.T) {
	avoid := pulse.OwnSources()
	for _, c := range []struct {
		real bool
		want string
	}{{true, "alsa_input.usb-Blue_Yeti"}, {false, "rg_mic.monitor"}} {
		src, err := findPulseSource(ourMicSources(c.real), pulse.SourceName, "", pulse.SinkName, "rg_out", avoid)
		if err != nil || src.Name != c.want {
			t.Errorf("real mic %v: got %q, %v; want %q", c.real, src.Name, err, c.want)
		}
	}
	for _, spec := range []string{pulse.SourceName, pulse.SinkName + ".monitor"} {
		if _, err := findPulseSource(ourMicSources(true), pulse.SourceName, spec, pulse.SinkName, "rg_out", avoid); !errors.Is(err, ErrFeedback) {
			t.Errorf("--input %s: %v, want ErrFeedback", spec, err)
		}
	}
	// Nothing else to record: a clear error, not our own output.
	only := []pulse.Object{{Name: pulse.SinkName + ".monitor"}, {Name: pulse.SourceName}, {Name: "rg_out.monitor"}}
	if _, err := findPulseSource(only, pulse.SourceName, "", pulse.SinkName, "rg_out", avoid); !errors.Is(err, ErrFeedback) {
		t.Errorf("no other source: %v, want ErrFeedback", err)
	}
}

// A source remapped from the output's monitor records the output (issue 24, item 11: live
// --input restoregrad_denoised_mic --output restoregrad_denoised_sink), with or without
// our names in avoid.
func TestRemappedMonitorIsFeedback(t *testing.T) {
	for _, avoid := range [][]string{nil, pulse.OwnSources()} {
		_, err := findPulseSource(ourMicSources(true), "rg_mic.monitor", pulse.SourceName, pulse.SinkName, "rg_out", avoid)
		if !errors.Is(err, ErrFeedback) {
			t.Errorf("avoid %v: %v, want ErrFeedback", avoid, err)
		}
	}
	if src, err := findPulseSource(ourMicSources(true), "rg_mic.monitor", "yeti", pulse.SinkName, "rg_out", nil); err != nil || src.Name != "alsa_input.usb-Blue_Yeti" {
		t.Errorf("a real microphone: %q %v", src.Name, err)
	}
}

// The sources of a microphone of ours with another --name are avoided too: found by the
// tag on the remap source and on the sink whose monitor it is.
func TestOtherNamedMicIsOurs(t *testing.T) {
	tag := map[string]string{"restoregrad.virtual": "1"}
	sources := append(ourMicSources(true),
		pulse.Object{Name: "restoregrad_denoised_mic_other", Properties: map[string]string{"restoregrad.virtual": "1", "device.class": "sound"}},
		pulse.Object{Name: "restoregrad_denoised_sink_other.monitor", Properties: map[string]string{"device.class": "monitor"}})
	sinks := []pulse.Object{{Name: "rg_out"}, {Name: "restoregrad_denoised_sink_other", Properties: tag}}
	avoid := withOurs(pulse.OwnSources(), sources, sinks)
	for _, in := range []string{"restoregrad_denoised_mic_other", "restoregrad_denoised_sink_other.monitor"} {
		if _, err := findPulseSource(sources, "rg_mic.monitor", in, "rg_out", "rg_out", avoid); !errors.Is(err, ErrFeedback) {
			t.Errorf("--input %s: %v, want ErrFeedback", in, err)
		}
	}
	if src, err := findPulseSource(sources, "restoregrad_denoised_mic_other", "", "rg_out", "rg_out", avoid); err != nil || src.Name != "alsa_input.usb-Blue_Yeti" {
		t.Errorf("default source another mic of ours: %q %v", src.Name, err)
	}
}
