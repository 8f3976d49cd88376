package stream_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/stream"
	"github.com/restoregrad/restoregrad/stream/pulsetest"
)

// With PortAudio, a PulseAudio source or sink named on the command line is reached through
// ALSA's "pulse" device; the name is found on the server like the native backend finds it.
func TestPortAudioReachesPulseNodesByName(t *testing.T) {
	pulsetest.Require(t)
	st, err := stream.Open(stream.Config{Backend: stream.BackendPortAudio, Input: "rg_mic.monitor", Output: "RG_OUT"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	src, sink := st.PulseNames()
	in, out := st.Devices()
	if src != "rg_mic.monitor" || sink != "rg_out" || in.Name != "pulse" || out.Name != "pulse" ||
		st.Backend() != stream.BackendPortAudio || st.Rate() <= 0 || st.Stats().Backend != stream.BackendPortAudio {
		t.Errorf("pulse names %q %q, devices %q %q, backend %q, rate %d", src, sink, in.Name, out.Name, st.Backend(), st.Rate())
	}

	_, err = stream.Open(stream.Config{Backend: stream.BackendPortAudio, Input: "no_such_source", Output: "rg_out"})
	if !errors.Is(err, stream.ErrNoDevice) || !strings.Contains(err.Error(), "PulseAudio sources:") ||
		!strings.Contains(err.Error(), "rg_mic.monitor") {
		t.Errorf("unknown source: %v", err)
	}
}
