package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/stream/pulse"
)

// The devices listing marks the defaults, lists the server's sources and sinks by the
// names --input and --output take, and says why there is no server when none answers.
func TestDeviceListText(t *testing.T) {
	l := deviceList{
		devs: []Device{{Index: 0, Name: "USB Mic", MaxInputChannels: 1, DefaultSampleRate: 48000, DefaultInput: true},
			{Index: 1, Name: "Speakers", MaxOutputChannels: 2, DefaultSampleRate: 44100, DefaultOutput: true}},
		apis:    []HostAPI{{Name: "ALSA", Default: true, Devices: []int{0, 1}}, {Name: "JACK"}},
		info:    pulse.ServerInfo{Name: "pulseaudio", Version: "16.1", DefaultSource: "mic", DefaultSink: "out"},
		sources: []pulse.Object{{Name: "mic", Rate: 48000, Channels: 1, Description: "Built-in"}},
		sinks:   []pulse.Object{{Name: "out", Rate: 48000, Channels: 2, Description: "Speakers"}},
	}
	var b bytes.Buffer
	if err := l.writeText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ALSA (default)\n", `"USB Mic"`, "[default input]", "[default output]", "JACK\n  no devices\n",
		"pulseaudio 16.1 (default source mic, default sink out)", "sources (--input NAME):\n    mic ", "sinks (--output NAME):\n    out "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("listing lacks %q:\n%s", want, b.String())
		}
	}
	l.perr = errors.New("no server")
	b.Reset()
	if err := l.writeText(&b); err != nil || !strings.HasSuffix(b.String(), "\nPulseAudio/PipeWire: no server\n") {
		t.Errorf("without a server: %v\n%s", err, b.String())
	}
	b.Reset()
	var js map[string]any
	if err := l.writeJSON(&b); err != nil || json.Unmarshal(b.Bytes(), &js) != nil || js["pulse"] != nil || js["devices"] == nil {
		t.Errorf("JSON without a server: %v\n%s", err, b.String())
	}
	if anyChannels(nil) || !anyChannels(l.devs) {
		t.Error("anyChannels")
	}
}
