package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/restoregrad/restoregrad/stream"
	"github.com/restoregrad/restoregrad/stream/pulse"
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
	if err := stream.Init(); err != nil {
		return err
	}
	defer stream.Terminate()
	devs, apis, err := stream.Devices()
	if err != nil {
		return err
	}
	ctx := context.Background()
	info, perr := pulse.Info(ctx)
	if perr != nil && !anyChannels(devs) {
		// Nothing to list: say why in one line and fail, so scripts notice.
		return fmt.Errorf("no audio devices: PortAudio finds none and %v", perr)
	}
	var sources, sinks []pulse.Object
	if perr == nil {
		sources, _ = pulse.List(ctx, "sources")
		sinks, _ = pulse.List(ctx, "sinks")
	}
	if *asJSON {
		type node struct {
			Name        string `json:"name"`
			Description string `json:"description"`
			Rate        int    `json:"rate"`
			Channels    int    `json:"channels"`
		}
		nodes := func(objs []pulse.Object) []node {
			var ns []node
			for _, o := range objs {
				ns = append(ns, node{o.Name, o.Description, o.Rate, o.Channels})
			}
			return ns
		}
		out := map[string]any{"host_apis": apis, "devices": devs}
		if perr == nil {
			out["pulse"] = map[string]any{"server": info.Name, "pipewire": info.PipeWire,
				"default_source": info.DefaultSource, "default_sink": info.DefaultSink,
				"sources": nodes(sources), "sinks": nodes(sinks)}
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, a := range apis {
		def := ""
		if a.Default {
			def = " (default)"
		}
		fmt.Printf("%s%s\n", a.Name, def)
		if len(a.Devices) == 0 {
			fmt.Printf("  no devices\n")
		}
		for _, i := range a.Devices {
			d := devs[i]
			mark := ""
			if d.DefaultInput {
				mark += " [default input]"
			}
			if d.DefaultOutput {
				mark += " [default output]"
			}
			fmt.Printf("  %3d  %-40q in %2d  out %2d  %6.0f Hz%s\n", d.Index, d.Name, d.MaxInputChannels, d.MaxOutputChannels, d.DefaultSampleRate, mark)
		}
	}
	if perr != nil {
		fmt.Printf("\nPulseAudio/PipeWire: %v\n", perr)
		return nil
	}
	fmt.Printf("\n%s %s (default source %s, default sink %s)\n", info.Name, info.Version, info.DefaultSource, info.DefaultSink)
	for _, g := range []struct {
		title string
		objs  []pulse.Object
	}{{"sources (--input NAME)", sources}, {"sinks (--output NAME)", sinks}} {
		fmt.Printf("  %s:\n", g.title)
		for _, o := range g.objs {
			fmt.Printf("    %-50s %6d Hz %dch  %s\n", o.Name, o.Rate, o.Channels, o.Description)
		}
	}
	return nil
}

// anyChannels reports whether some device has an input or output channel.
func anyChannels(devs []stream.Device) bool {
	for _, d := range devs {
		if d.MaxInputChannels > 0 || d.MaxOutputChannels > 0 {
			return true
		}
	}
	return false
}
