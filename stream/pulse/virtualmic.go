package pulse

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode"
)

// The names and the property that mark our modules. Only modules whose argument carries
// Tag are ever unloaded.
const (
	Tag        = "restoregrad.virtual=1"
	pidProp    = "restoregrad.pid"
	SinkName   = "restoregrad_denoised_sink" // the null sink the denoiser plays into
	SourceName = "restoregrad_denoised_mic"  // the remap source call apps record from
	// DefaultDescription is the name apps show for the microphone.
	DefaultDescription = "RestoreGrad Denoised Microphone"
	// Rate is the virtual devices' sample rate.
	Rate = 48000
)

// OwnSources are the sources a live stream must never record from: the virtual
// microphone and its sink's monitor carry our own output. (Those of a microphone with
// another --name carry our tag: IsOurs.)
func OwnSources() []string { return []string{SourceName, SinkName + ".monitor"} }

// IsOurs says whether a sink or source was created by a virtual microphone of ours (its
// properties carry the tag). A sink's monitor does not carry it: look at the sink.
func IsOurs(o Object) bool { return o.Properties[strings.Split(Tag, "=")[0]] == "1" }

// deviceNames are the sink and source of the virtual microphone with slug (Slug of its
// description): the plain names for the default, the slug appended for another, so that
// two microphones with different names can run side by side.
func deviceNames(slug string) (sink, source string) {
	if slug == "" {
		return SinkName, SourceName
	}
	return SinkName + "_" + slug, SourceName + "_" + slug
}

// ErrInUse means another live process owns the virtual microphone (of that name).
var ErrInUse = errors.New("the virtual microphone is in use by another restoregrad process")

// Module is one loaded module of ours.
type Module struct {
	Index    int
	Name     string // module-null-sink or module-remap-source
	Argument string
	PID      int    // the process that created it (0 if unknown)
	Instance string // the Slug of the microphone's name ("" for the default name)
}

// VirtualMic is a created virtual microphone: a null sink the denoiser plays into and a
// remap source of its monitor (browsers ignore monitor sources, so a real source is needed).
type VirtualMic struct {
	Description string
	Sink        string // play the denoised audio here
	Source      string // call apps record from here
	Modules     []Module
	PipeWire    bool
	// Loaded names the modules this call loaded: both at the first call, none while they
	// are there, the missing one after a module was unloaded behind our back.
	Loaded []string
}

var (
	pidRE      = regexp.MustCompile(regexp.QuoteMeta(pidProp) + `=(\d+)`)
	instanceRE = regexp.MustCompile(`\b(?:sink_name=` + SinkName + `|source_name=` + SourceName + `)_(\w+)`)
)

// Ours lists the modules we loaded (any process), in load order.
func Ours(ctx context.Context) ([]Module, error) {
	var mods []Module
	err := with(ctx, func(c *Conn) (err error) {
		mods, err = ours(c)
		return err
	})
	return mods, err
}

func ours(c *Conn) ([]Module, error) {
	objs, err := c.Modules()
	if err != nil {
		return nil, err
	}
	var mods []Module
	for _, o := range objs {
		if !strings.Contains(o.Argument, Tag) {
			continue
		}
		m := Module{Index: o.Index, Name: o.Name, Argument: o.Argument}
		if sm := pidRE.FindStringSubmatch(o.Argument); sm != nil {
			m.PID, _ = strconv.Atoi(sm[1])
		}
		if sm := instanceRE.FindStringSubmatch(o.Argument); sm != nil {
			m.Instance = sm[1]
		}
		mods = append(mods, m)
	}
	return mods, nil
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// unload unloads mods, the remap sources before the null sinks they read, skipping
// those keep refuses. It returns how many it unloaded and the first error; with stop it
// stops at that error, else it goes on with the others.
func unload(c *Conn, mods []Module, keep func(Module) bool, stop bool) (int, error) {
	n := 0
	var firstErr error
	for pass := 0; pass < 2; pass++ {
		for _, m := range mods {
			if keep(m) || (pass == 0) != (m.Name == "module-remap-source") {
				continue
			}
			if err := c.UnloadModule(m.Index); err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", m.Name, err)
				}
				if stop {
					return n, firstErr
				}
				continue
			}
			n++
		}
	}
	return n, firstErr
}

// Remove unloads our modules: those of pid only when pid > 0, else all. Sources go
// before the sinks they remap. It returns how many it unloaded.
func Remove(ctx context.Context, pid int) (int, error) {
	n := 0
	err := with(ctx, func(c *Conn) (err error) {
		n, err = remove(c, pid)
		return err
	})
	return n, err
}

func remove(c *Conn, pid int) (int, error) {
	mods, err := ours(c)
	if err != nil {
		return 0, err
	}
	return unload(c, mods, func(m Module) bool { return pid > 0 && m.PID != pid }, false)
}

// Owner returns the pid of a live process other than this one that owns some of our
// modules, or 0.
func Owner(ctx context.Context) (int, error) {
	pid := 0
	err := with(ctx, func(c *Conn) error {
		mods, err := ours(c)
		pid = owner(mods)
		return err
	})
	return pid, err
}

func owner(mods []Module) int {
	for _, m := range mods {
		if m.PID != os.Getpid() && alive(m.PID) {
			return m.PID
		}
	}
	return 0
}

// RemoveStale unloads our modules whose creating process is gone (after a SIGKILL). It
// fails with ErrInUse if a live process other than this one owns some.
func RemoveStale(ctx context.Context) (int, error) {
	n := 0
	err := with(ctx, func(c *Conn) (err error) {
		n, err = removeStale(c)
		return err
	})
	return n, err
}

func removeStale(c *Conn) (int, error) { return removeStaleOf(c, func(Module) bool { return true }) }

// removeStaleOf unloads our modules whose creating process is gone, of any microphone;
// it fails with ErrInUse if a live process other than this one owns one that mine
// selects (the modules of the microphone about to be created).
func removeStaleOf(c *Conn, mine func(Module) bool) (int, error) {
	mods, err := ours(c)
	if err != nil {
		return 0, err
	}
	if pid := owner(slices.DeleteFunc(slices.Clone(mods), func(m Module) bool { return !mine(m) })); pid != 0 {
		return 0, fmt.Errorf("%w (pid %d); stop that process first (kill %d), or give this microphone another --name", ErrInUse, pid, pid)
	}
	// Keep every live process's modules: another microphone's, and our own.
	mods = slices.DeleteFunc(mods, func(m Module) bool { return m.PID == os.Getpid() || alive(m.PID) })
	n, err := unload(c, mods, func(Module) bool { return false }, true)
	if err != nil {
		return n, fmt.Errorf("remove stale module: %w", err)
	}
	return n, nil
}

// Slug is description reduced to lower-case letters, digits and single underscores, for
// device names: "" for the default description (whose devices keep their plain names).
func Slug(description string) string {
	description = sanitize(description)
	if description == "" || description == DefaultDescription {
		return ""
	}
	var b strings.Builder
	under, dropped := false, false
	for _, r := range strings.ToLower(description) {
		switch {
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			under = false
		default:
			under = true
			dropped = dropped || unicode.IsLetter(r) || unicode.IsDigit(r)
		}
	}
	if b.Len() == 0 || dropped { // letters device names cannot hold: tell such names apart
		if b.Len() > 0 {
			b.WriteByte('_')
		}
		fmt.Fprintf(&b, "%08x", crc32.ChecksumIEEE([]byte(description)))
	}
	return b.String()
}

// sanitize keeps a description loadable inside the module argument's quoting.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\'' || r == '"' || r == '\\' || r < ' ' {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// CreateVirtualMic removes stale modules of ours and creates the null sink and the remap
// source, tagged with this process's pid. If this process already created them it returns
// them unchanged (idempotent), so that a caller can call it again after the server
// restarted to get them back. description is what apps show ("" for the default).
func CreateVirtualMic(ctx context.Context, description string) (*VirtualMic, error) {
	var vm *VirtualMic
	err := with(ctx, func(c *Conn) (err error) {
		vm, err = createVirtualMic(c, description)
		return err
	})
	return vm, err
}

func createVirtualMic(c *Conn, description string) (*VirtualMic, error) {
	info, err := c.Info()
	if err != nil {
		return nil, err
	}
	description = sanitize(description)
	if description == "" {
		description = DefaultDescription
	}
	slug := Slug(description)
	if _, err := removeStaleOf(c, func(m Module) bool { return m.Instance == slug }); err != nil {
		return nil, err
	}
	sinkName, sourceName := deviceNames(slug)
	vm := &VirtualMic{Description: description, Sink: sinkName, Source: sourceName, PipeWire: info.PipeWire}
	all, err := ours(c)
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var mods []Module // this microphone's: this process's, of this name
	for _, m := range all {
		if m.Instance == slug && m.PID == self {
			mods = append(mods, m)
		}
	}
	var sink *Module
	for i, m := range mods {
		if m.Name == "module-null-sink" && slices.Contains(strings.Fields(m.Argument), "sink_name="+sinkName) {
			sink = &mods[i]
		}
	}
	switch {
	case len(mods) == 2:
		vm.Modules = mods
		return vm, nil
	case len(mods) == 1 && sink != nil:
		// The remap source was unloaded (pactl unload-module): load it again on the sink
		// that is still there, so that the stream playing into it goes on.
		vm.Modules = mods
	case len(mods) > 0: // half a set from an interrupted create, or a source without its sink
		if _, err := unload(c, mods, func(Module) bool { return false }, false); err != nil {
			return nil, err
		}
	}
	tag := fmt.Sprintf("%s %s=%d", Tag, pidProp, self)
	if sink == nil {
		sinkIdx, err := c.LoadModule("module-null-sink",
			"sink_name="+sinkName, "format=float32le", "rate="+strconv.Itoa(Rate), "channels=1",
			fmt.Sprintf(`sink_properties="device.description='%s (playback side)' %s"`, description, tag))
		if err != nil {
			return nil, err
		}
		vm.Modules = append(vm.Modules, Module{Index: sinkIdx, Name: "module-null-sink", PID: self, Instance: slug})
		vm.Loaded = append(vm.Loaded, "module-null-sink")
		sink = &vm.Modules[len(vm.Modules)-1]
	}
	srcIdx, err := c.LoadModule("module-remap-source",
		"master="+sinkName+".monitor", "source_name="+sourceName, "channels=1", "channel_map=mono",
		fmt.Sprintf(`source_properties="device.description='%s' device.class=sound device.icon_name=audio-input-microphone %s"`, description, tag))
	if err != nil {
		if len(vm.Loaded) > 0 {
			_ = c.UnloadModule(sink.Index)
		}
		return nil, err
	}
	vm.Modules = append(vm.Modules, Module{Index: srcIdx, Name: "module-remap-source", PID: self, Instance: slug})
	vm.Loaded = append(vm.Loaded, "module-remap-source")
	return vm, nil
}

// Close unloads the modules this process created.
func (vm *VirtualMic) Close(ctx context.Context) error {
	_, err := Remove(ctx, os.Getpid())
	return err
}
