package pulse

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jfreymuth/pulse/proto"
)

// ServerInfo is what the server says about itself.
type ServerInfo struct {
	Name          string // "pulseaudio", or "PulseAudio (on PipeWire 1.0.5)"
	Version       string
	DefaultSink   string
	DefaultSource string
	PipeWire      bool // the server is pipewire-pulse
}

// Object is one sink, source or module.
type Object struct {
	Kind        string // "Sink", "Source" or "Module"
	Index       int
	Name        string
	Description string // device.description (sinks and sources)
	Driver      string
	OwnerModule int // the module that created a sink or source; -1 if none
	Rate        int // sample rate, 0 for modules
	Channels    int
	Argument    string            // modules only
	Properties  map[string]string // the property list
}

// Info asks the server for its name and defaults; ErrNoServer if none answers.
func Info(ctx context.Context) (ServerInfo, error) {
	var si ServerInfo
	err := with(ctx, func(c *Conn) (err error) {
		si, err = c.Info()
		return err
	})
	return si, err
}

// List returns the objects of one kind: "sinks", "sources" or "modules".
func List(ctx context.Context, what string) ([]Object, error) {
	var list func(c *Conn) ([]Object, error)
	switch what {
	case "sinks":
		list = (*Conn).Sinks
	case "sources":
		list = (*Conn).Sources
	case "modules":
		list = (*Conn).Modules
	default:
		return nil, fmt.Errorf("pulse.List: unknown kind %q (want sinks, sources or modules)", what)
	}
	var objs []Object
	err := with(ctx, func(c *Conn) (err error) {
		objs, err = list(c)
		return err
	})
	return objs, err
}

// Find returns the object named name among objs.
func Find(objs []Object, name string) (Object, bool) {
	for _, o := range objs {
		if o.Name == name {
			return o, true
		}
	}
	return Object{}, false
}

// LoadModule loads a module with the arguments (joined by spaces, as pactl does) and
// returns its index.
func LoadModule(ctx context.Context, name string, args ...string) (int, error) {
	idx := -1
	err := with(ctx, func(c *Conn) (err error) {
		idx, err = c.LoadModule(name, args...)
		return err
	})
	return idx, err
}

// UnloadModule unloads the module with index idx.
func UnloadModule(ctx context.Context, idx int) error {
	return with(ctx, func(c *Conn) error { return c.UnloadModule(idx) })
}

// Info asks the server for its name and defaults.
func (c *Conn) Info() (ServerInfo, error) {
	var r proto.GetServerInfoReply
	if err := c.Request(&proto.GetServerInfo{}, &r); err != nil {
		return ServerInfo{}, fmt.Errorf("PulseAudio server info: %w", err)
	}
	return ServerInfo{
		Name:          r.PackageName,
		Version:       r.PackageVersion,
		DefaultSink:   r.DefaultSinkName,
		DefaultSource: r.DefaultSourceName,
		PipeWire:      strings.Contains(strings.ToLower(r.PackageName), "pipewire"),
	}, nil
}

// Sinks lists the sinks.
func (c *Conn) Sinks() ([]Object, error) {
	var r proto.GetSinkInfoListReply
	if err := c.Request(&proto.GetSinkInfoList{}, &r); err != nil {
		return nil, fmt.Errorf("list PulseAudio sinks: %w", err)
	}
	objs := make([]Object, len(r))
	for i, s := range r {
		objs[i] = device("Sink", s.SinkIndex, s.SinkName, s.Driver, s.ModuleIndex, s.SampleSpec, s.Properties)
	}
	return objs, nil
}

// Sources lists the sources, monitors included.
func (c *Conn) Sources() ([]Object, error) {
	var r proto.GetSourceInfoListReply
	if err := c.Request(&proto.GetSourceInfoList{}, &r); err != nil {
		return nil, fmt.Errorf("list PulseAudio sources: %w", err)
	}
	objs := make([]Object, len(r))
	for i, s := range r {
		objs[i] = device("Source", s.SourceIndex, s.SourceName, s.Driver, s.ModuleIndex, s.SampleSpec, s.Properties)
	}
	return objs, nil
}

// Modules lists the loaded modules, in load order.
func (c *Conn) Modules() ([]Object, error) {
	var r proto.GetModuleInfoListReply
	if err := c.Request(&proto.GetModuleInfoList{}, &r); err != nil {
		return nil, fmt.Errorf("list PulseAudio modules: %w", err)
	}
	objs := make([]Object, len(r))
	for i, m := range r {
		objs[i] = Object{Kind: "Module", Index: int(m.ModuleIndex), Name: m.ModuleName, OwnerModule: -1,
			Argument: m.ModuleArgs, Properties: props(m.Properties)}
	}
	return objs, nil
}

func device(kind string, idx uint32, name, driver string, module uint32, spec proto.SampleSpec, p proto.PropList) Object {
	o := Object{Kind: kind, Index: int(idx), Name: name, Driver: driver, OwnerModule: -1,
		Rate: int(spec.Rate), Channels: int(spec.Channels), Properties: props(p)}
	if module != proto.Undefined {
		o.OwnerModule = int(module)
	}
	o.Description = o.Properties["device.description"]
	return o
}

// props turns a property list into strings; values are NUL-terminated on the wire.
func props(p proto.PropList) map[string]string {
	m := make(map[string]string, len(p))
	for k, v := range p {
		m[k] = strings.TrimRight(string(v), "\x00")
	}
	return m
}

// LoadModule loads a module with the arguments (joined by spaces) and returns its index.
// A module that fails to initialise (bad arguments, a name taken) gives an error that
// says the server refused it.
func (c *Conn) LoadModule(name string, args ...string) (int, error) {
	var r proto.LoadModuleReply
	if err := c.Request(&proto.LoadModule{Name: name, Args: strings.Join(args, " ")}, &r); err != nil {
		if errors.Is(err, ErrNoServer) {
			return -1, fmt.Errorf("load %s: %w", name, err)
		}
		return -1, fmt.Errorf("the server refused to load %s: %w", name, err)
	}
	return int(r.ModuleIndex), nil
}

// UnloadModule unloads the module with index idx.
func (c *Conn) UnloadModule(idx int) error {
	if err := c.Request(&proto.UnloadModule{ModuleIndex: uint32(idx)}, nil); err != nil {
		return fmt.Errorf("unload module %d: %w", idx, err)
	}
	return nil
}
