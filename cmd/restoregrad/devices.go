package main

import (
	"context"
	"os"

	"github.com/restoregrad/restoregrad/stream"
)

func init() {
	register(command{name: "devices", summary: "list audio devices for live and virtual-mic", run: runDevices})
}

func runDevices(args []string) error {
	fs := newFlagSet("devices", "[--json]",
		"Lists PortAudio host APIs and devices (index, channels, native rate, defaults) and,\n"+
			"when a PulseAudio or PipeWire server answers, its sources and sinks, which\n"+
			"'live --input/--output' also accept by name.")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	return stream.WriteDevices(context.Background(), os.Stdout, *asJSON)
}
