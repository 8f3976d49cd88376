package stream

import (
	"errors"
	"strings"
	"testing"
)

// The one name rule of every backend: exact name, then name ignoring case, then the only
// name or description containing spec.
func TestMatchName(t *testing.T) {
	type node struct{ name, desc string }
	nodes := []node{
		{"mic", "Built-in Microphone"},
		{"MIC", "Upper-case twin"},
		{"mic2", "USB Headset"},
		{"Line", ""},
	}
	label := func(n node) (string, string) { return n.name, n.desc }
	for _, c := range []struct {
		spec, want string
		several    int
	}{
		{"mic", "mic", 0},      // exact beats the case-folded twin and the substring
		{"MIC", "MIC", 0},      // exact, case and all
		{"line", "Line", 0},    // name ignoring case
		{"headset", "mic2", 0}, // the only description containing it
		{"ine", "Line", 0},     // the only name or description containing it
		{"IN", "", 3},          // "Line", "Built-in", "twin": several
		{"Mi", "", 3},          // several
		{"speaker", "", 0},     // none
	} {
		got, match, ok := matchName(nodes, c.spec, label)
		if ok != (c.want != "") || got.name != c.want || len(match) != c.several {
			t.Errorf("%q: got %q ok %v, %d candidates; want %q, %d", c.spec, got.name, ok, len(match), c.want, c.several)
		}
	}
}

// FindDevice keeps its rules around the matcher: the default, an index, the usable
// direction only, and errors that list the candidates.
func TestFindDevice(t *testing.T) {
	devs := []Device{
		{Index: 0, Name: "HDA Intel PCH: ALC3246 Analog (hw:0,0)", MaxInputChannels: 2, MaxOutputChannels: 2},
		{Index: 1, Name: "pulse", MaxInputChannels: 32, MaxOutputChannels: 32, DefaultInput: true},
		{Index: 2, Name: "HDMI 0 (hw:0,3)", MaxOutputChannels: 8, DefaultOutput: true},
	}
	for _, c := range []struct {
		spec string
		dir  Direction
		want int // index, -1: ErrNoDevice
	}{
		{"", Input, 1}, {"", Output, 2}, {"0", Input, 0}, {"2", Input, -1}, {"9", Output, -1},
		{"PULSE", Input, 1}, {"alc", Input, 0}, {"hdmi", Input, -1}, {"hdmi", Output, 2}, {"hw:0", Output, -1},
	} {
		d, err := FindDevice(devs, c.spec, c.dir)
		if c.want < 0 {
			if !errors.Is(err, ErrNoDevice) {
				t.Errorf("%q %v: got %v, %v; want ErrNoDevice", c.spec, c.dir, d.Name, err)
			}
			continue
		}
		if err != nil || d.Index != c.want {
			t.Errorf("%q %v: got %d, %v; want %d", c.spec, c.dir, d.Index, err, c.want)
		}
	}
	_, err := FindDevice(devs, "hw:0", Output)
	if err == nil || !strings.Contains(err.Error(), "matches several output devices") || !strings.Contains(err.Error(), `2 "HDMI 0 (hw:0,3)"`) {
		t.Errorf("ambiguous: %v", err)
	}
}
