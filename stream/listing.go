package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/restoregrad/restoregrad/stream/pulse"
)

// WriteDevices writes what live and virtual-mic can use to w: the PortAudio host APIs and
// devices (index, channels, native rate, defaults) and, when a PulseAudio or PipeWire
// server answers, its sources and sinks; as JSON with asJSON, else as text. With no
// PortAudio device and no server it fails, saying why in one line, so that scripts notice.
func WriteDevices(ctx context.Context, w io.Writer, asJSON bool) error {
	if err := Init(); err != nil {
		return err
	}
	defer Terminate()
	var l deviceList
	var err error
	if l.devs, l.apis, err = Devices(); err != nil {
		return err
	}
	l.info, l.perr = pulse.Info(ctx)
	if l.perr != nil && !anyChannels(l.devs) {
		return fmt.Errorf("no audio devices: PortAudio finds none and %v", l.perr)
	}
	if l.perr == nil {
		l.sources, _ = pulse.List(ctx, "sources")
		l.sinks, _ = pulse.List(ctx, "sinks")
	}
	if asJSON {
		return l.writeJSON(w)
	}
	return l.writeText(w)
}

// deviceList is what WriteDevices found: the PortAudio side, and the sound server's (perr
// says why there is none).
type deviceList struct {
	devs           []Device
	apis           []HostAPI
	info           pulse.ServerInfo
	perr           error
	sources, sinks []pulse.Object
}

func (l deviceList) writeJSON(w io.Writer) error {
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
	out := map[string]any{"host_apis": l.apis, "devices": l.devs}
	if l.perr == nil {
		out["pulse"] = map[string]any{"server": l.info.Name, "pipewire": l.info.PipeWire,
			"default_source": l.info.DefaultSource, "default_sink": l.info.DefaultSink,
			"sources": nodes(l.sources), "sinks": nodes(l.sinks)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func (l deviceList) writeText(w io.Writer) error {
	for _, a := range l.apis {
		def := ""
		if a.Default {
			def = " (default)"
		}
		fmt.Fprintf(w, "%s%s\n", a.Name, def)
		if len(a.Devices) == 0 {
			fmt.Fprintf(w, "  no devices\n")
		}
		for _, i := range a.Devices {
			d := l.devs[i]
			mark := ""
			if d.DefaultInput {
				mark += " [default input]"
			}
			if d.DefaultOutput {
				mark += " [default output]"
			}
			fmt.Fprintf(w, "  %3d  %-40q in %2d  out %2d  %6.0f Hz%s\n", d.Index, d.Name, d.MaxInputChannels, d.MaxOutputChannels, d.DefaultSampleRate, mark)
		}
	}
	if l.perr != nil {
		fmt.Fprintf(w, "\nPulseAudio/PipeWire: %v\n", l.perr)
		return nil
	}
	fmt.Fprintf(w, "\n%s %s (default source %s, default sink %s)\n", l.info.Name, l.info.Version, l.info.DefaultSource, l.info.DefaultSink)
	for _, g := range []struct {
		title string
		objs  []pulse.Object
	}{{"sources (--input NAME)", l.sources}, {"sinks (--output NAME)", l.sinks}} {
		fmt.Fprintf(w, "  %s:\n", g.title)
		for _, o := range g.objs {
			fmt.Fprintf(w, "    %-50s %6d Hz %dch  %s\n", o.Name, o.Rate, o.Channels, o.Description)
		}
	}
	return nil
}

// anyChannels reports whether some device has an input or output channel.
func anyChannels(devs []Device) bool {
	for _, d := range devs {
		if d.MaxInputChannels > 0 || d.MaxOutputChannels > 0 {
			return true
		}
	}
	return false
}
