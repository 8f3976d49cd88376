package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// Bad durations must stop live and virtual-mic at once with a message that says what is
// wrong (issue 15, item 5): a negative cushion or block used to silence the output, a
// negative duration ran forever, a bare number said only "parse error".
func TestLiveRejectsBadDurations(t *testing.T) {
	commands := map[string]func([]string) error{"live": runLive, "virtual-mic": runVirtualMic}
	for _, c := range []struct {
		cmd  string
		args []string
		want string
	}{
		{"live", []string{"--cushion", "-10ms"}, "negative"},
		{"live", []string{"--block", "-1ms"}, "negative"},
		{"live", []string{"--block", "0"}, "minimum"},
		{"live", []string{"--cushion", "1h"}, "maximum"},
		{"live", []string{"--busy-cushion", "-5ms"}, "negative"},
		{"live", []string{"--busy-cushion", "2s"}, "maximum"},
		{"live", []string{"--duration", "-1s"}, "negative"},
		{"live", []string{"--duration", "5"}, "write e.g. 5s"},
		{"live", []string{"--duration", "soon"}, "not a duration"},
		{"virtual-mic", []string{"--duration", "-1s"}, "negative"},
		{"virtual-mic", []string{"--duration", "5"}, "write e.g. 5s"},
	} {
		args := append([]string{"--model", "passthrough"}, c.args...)
		start := time.Now()
		err := commands[c.cmd](args)
		if err == nil {
			t.Errorf("%s %q: accepted", c.cmd, args)
			continue
		}
		if exitCode(err) != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: exit %d, %v; want exit 2 saying %q", c.cmd, args, exitCode(err), err, c.want)
		}
		if time.Since(start) > time.Second {
			t.Errorf("%s %q: took %v to fail", c.cmd, args, time.Since(start))
		}
	}
}

// --busy-cushion reaches the stream as it is (0: none).
func TestBusyCushionFlagReachesTheStream(t *testing.T) {
	for _, d := range []time.Duration{0, 100 * time.Millisecond} {
		if got := (liveOptions{busyCushion: d}).sessionConfig(io.Discard).Stream.BusyCushion; got != d {
			t.Errorf("--busy-cushion %v: stream.Config.BusyCushion %v", d, got)
		}
	}
}
