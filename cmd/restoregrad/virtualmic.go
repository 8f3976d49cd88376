package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/zoo"
	"github.com/restoregrad/restoregrad/stream/pulse"
	"github.com/restoregrad/restoregrad/stream/virtualmic"
)

func init() {
	register(command{name: "virtual-mic", summary: "create a denoised virtual microphone for call apps (PulseAudio/PipeWire)", run: runVirtualMic})
}

// virtualMicOptions are virtual-mic's flags: a live run's, and the actions that replace it.
type virtualMicOptions struct {
	liveOptions
	name                string
	list, remove        bool
	install, uninstall  bool
	pwConfig, pwInstall bool
	pluginPath          string
}

// virtualMicFlags is virtual-mic's flag set, filling o.
func virtualMicFlags(o *virtualMicOptions) *flag.FlagSet {
	fs := newFlagSet("virtual-mic", "[flags]",
		"Creates a virtual microphone (a null sink plus a remap source, tagged as ours) on the\n"+
			"PulseAudio or PipeWire server, denoises --input into it until Ctrl-C/SIGTERM, then\n"+
			"removes it. Pick the name given by --name in your call app. Modules left behind by\n"+
			"a killed run are removed at the next start.")
	fs.StringVar(&o.name, "name", pulse.DefaultDescription, "device `name` shown to apps (each name is a microphone of its own)")
	fs.BoolVar(&o.list, "list", false, "list our virtual devices and exit")
	fs.BoolVar(&o.remove, "remove", false, "remove virtual devices left by a killed run, and exit (refused while one runs)")
	fs.BoolVar(&o.install, "install-service", false, "write a systemd user unit that runs this command, with these flags, at login, and exit (one unit per --name)")
	fs.BoolVar(&o.uninstall, "uninstall-service", false, "remove the systemd user unit (of --name), and exit")
	fs.StringVar(&o.input, "input", "", "microphone to denoise: a PulseAudio `source` name or part of its description (default: the system default, passing over our own)")
	fs.StringVar(&o.model, "model", defaultLiveModel, "model `name` or bundle path; 'passthrough' tests the audio path")
	fs.IntVar(&o.steps, "steps", 0, "run `N` reverse diffusion steps (0: the model's default)")
	registerAttenuation(fs, &o.attenuation)
	fs.BoolVar(&o.pwConfig, "pipewire-config", false, "print a PipeWire filter-chain configuration that makes the same microphone with the LADSPA plugin (no process to keep running), and exit")
	fs.BoolVar(&o.pwInstall, "install-pipewire-config", false, "write that configuration into ~/.config/pipewire/pipewire.conf.d/, and exit")
	fs.StringVar(&o.pluginPath, "plugin", "", "with --pipewire-config: the `path` of the LADSPA plugin "+virtualmic.PluginFile+" (default: beside this program, then the LADSPA folders)")
	o.runtime.registerThreads(fs)
	o.runtime.registerRuntime(fs)
	fs.StringVar(&o.jsonStats, "json-stats", "", "write the counters as JSON to this `file`")
	fs.Var(durationFlag{&o.duration, 0, 0}, "duration", "stop after this `duration`, e.g. 30s or 5m (0: until Ctrl-C)")
	fs.BoolVar(&o.quiet, "quiet", false, "no live status line")
	registerBusyCushion(fs, &o.busyCushion)
	return fs
}

// action checks that at most one action flag is given and names it ("" for a run).
func (o *virtualMicOptions) action() (string, error) {
	var set []string
	for _, a := range []struct {
		on   bool
		flag string
	}{{o.list, "--list"}, {o.remove, "--remove"}, {o.install, "--install-service"}, {o.uninstall, "--uninstall-service"},
		{o.pwConfig, "--pipewire-config"}, {o.pwInstall, "--install-pipewire-config"}} {
		if a.on {
			set = append(set, a.flag)
		}
	}
	switch len(set) {
	case 0:
		return "", nil
	case 1:
		return set[0], nil
	}
	return "", &exitError{code: 2, err: fmt.Errorf("%s: choose one of these", strings.Join(set, " and "))}
}

func runVirtualMic(args []string) error {
	var vo virtualMicOptions
	if err := parseOnlyFlags(virtualMicFlags(&vo), args); err != nil {
		return err
	}
	action, err := vo.action()
	if err != nil {
		return err
	}
	o, ctx := vo.liveOptions, context.Background()
	switch action {
	case "--pipewire-config", "--install-pipewire-config":
		if engine.IsPassthrough(o.model) {
			return errors.New("--pipewire-config runs the plugin, which has no passthrough model")
		}
		pw := virtualmic.PipeWire{Plugin: vo.pluginPath, Name: vo.name, Input: o.input, Model: o.model, Steps: o.steps, AttenuationDB: o.attenuation.dB()}
		if vo.pwInstall {
			return pw.Install(os.Stdout)
		}
		return pw.Write(os.Stdout)
	case "--install-service":
		return installService(o, vo.name)
	case "--uninstall-service":
		return virtualmic.UninstallService(os.Stdout, vo.name)
	case "--list":
		return virtualmic.List(ctx, os.Stdout)
	case "--remove":
		return virtualmic.Remove(ctx, os.Stdout)
	}
	if err := o.check(); err != nil {
		return err
	}
	ignoreSIGPIPE()
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	open := func() (engine.FrameProcessor, error) { return openLiveProcessor(o) }
	return virtualmic.Run(sigCtx, o.sessionConfig(os.Stderr), vo.name, o.duration, open, os.Stderr)
}

// installService writes the systemd user unit that runs virtual-mic with o's flags, after
// checking o as a run would (the steps; the model opens with the runtime flags) and making
// its paths absolute: the unit runs elsewhere, and a mistake would show only as a unit
// failing every few seconds.
func installService(o liveOptions, name string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if abs, err := filepath.EvalSymlinks(exe); err == nil {
		exe = abs
	}
	if err := o.check(); err != nil {
		return err
	}
	if !engine.IsPassthrough(o.model) && zoo.IsPath(o.model) {
		if o.model, err = filepath.Abs(o.model); err != nil {
			return err
		}
	}
	if o.runtime.ortLib, err = absFile("--ort-lib", o.runtime.ortLib); err != nil {
		return err
	}
	ortLib, err := absFile("$"+ort.EnvLibrary, os.Getenv(ort.EnvLibrary))
	if err != nil {
		return err
	}
	if o.jsonStats != "" {
		if o.jsonStats, err = filepath.Abs(o.jsonStats); err != nil {
			return err
		}
	}
	if _, err := openLiveProcessor(o); err != nil {
		return fmt.Errorf("the service would fail: %w", err)
	}
	return virtualmic.InstallService(os.Stdout, name, serviceArgs(exe, o, name), ortLib)
}

// absFile is name made absolute, after checking that it is a file ("" stays "").
func absFile(what, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() {
		return "", fmt.Errorf("%s %s: no such file", what, name)
	}
	return abs, nil
}

// serviceArgs are the arguments of the unit's command: every option of o that differs
// from the default.
func serviceArgs(exe string, o liveOptions, name string) []string {
	args := []string{exe, "virtual-mic", "--quiet", "--name", name, "--model", o.model}
	if o.input != "" {
		args = append(args, "--input", o.input)
	}
	if o.steps != 0 {
		args = append(args, "--steps", strconv.Itoa(o.steps))
	}
	if o.attenuation.set {
		args = append(args, "--attenuation-limit", o.attenuation.String())
	}
	if o.busyCushion != defaultBusyCushion {
		args = append(args, "--busy-cushion", o.busyCushion.String())
	}
	if o.jsonStats != "" {
		args = append(args, "--json-stats", o.jsonStats)
	}
	if o.duration != 0 {
		args = append(args, "--duration", o.duration.String())
	}
	return append(args, o.runtime.runtimeArgs()...)
}
