package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/stream"
	"github.com/restoregrad/restoregrad/stream/pulse"
	"github.com/restoregrad/restoregrad/stream/session"
)

func init() {
	register(command{name: "virtual-mic", summary: "create a denoised virtual microphone for call apps (PulseAudio/PipeWire)", run: runVirtualMic})
}

const serviceName = "restoregrad-virtual-mic.service"

// serviceFile is the unit of the microphone named name: serviceName for the default name,
// one of its own for another (two microphones, two units).
func serviceFile(name string) string {
	if slug := pulse.Slug(name); slug != "" {
		return strings.TrimSuffix(serviceName, ".service") + "-" + strings.ReplaceAll(slug, "_", "-") + ".service"
	}
	return serviceName
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
	fs.StringVar(&o.pluginPath, "plugin", "", "with --pipewire-config: the `path` of the LADSPA plugin "+pluginFile+" (default: beside this program, then the LADSPA folders)")
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
	fs := virtualMicFlags(&vo)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q", pos)}
	}
	action, err := vo.action()
	if err != nil {
		return err
	}
	o, name := vo.liveOptions, &vo.name
	ctx := context.Background()
	switch action {
	case "--pipewire-config", "--install-pipewire-config":
		return pipewireConfig(o, vo.name, vo.pluginPath, vo.pwInstall)
	case "--install-service":
		return installService(o, vo.name)
	case "--uninstall-service":
		return uninstallService(vo.name)
	case "--list":
		mods, err := pulse.Ours(ctx)
		if err != nil {
			return err
		}
		if len(mods) == 0 {
			fmt.Println("no RestoreGrad virtual devices")
			return nil
		}
		for _, m := range mods {
			state := "running"
			if m.PID > 0 && syscall.Kill(m.PID, 0) != nil {
				state = "stale (owner gone)"
			}
			fmt.Printf("module %d  %-20s pid %d %s  %s\n", m.Index, m.Name, m.PID, state, m.Argument)
		}
		return nil
	case "--remove":
		// Removing the devices of a running instance would send its playback to the
		// default sink: the microphone on the speakers.
		if pid, err := pulse.Owner(ctx); err != nil {
			return err
		} else if pid != 0 {
			return fmt.Errorf("%w (pid %d): stop it (kill %d); it removes its devices itself", pulse.ErrInUse, pid, pid)
		}
		n, err := pulse.Remove(ctx, 0)
		fmt.Printf("removed %d module(s)\n", n)
		return err
	}

	if err := o.check(); err != nil {
		return err
	}
	ignoreSIGPIPE()
	info, err := pulse.Info(ctx)
	if err != nil {
		return err
	}
	cfg := o.sessionConfig(os.Stderr)
	// A microphone that matches nothing, or one that would record our own output, is a
	// mistake to report before anything is created (the server's default source, when it is
	// our own microphone, is passed over for the real one).
	if _, err := stream.ResolvePulseInput(cfg.Stream, pulse.SinkName); err != nil {
		return err
	}
	proc, err := openLiveProcessor(o)
	if err != nil {
		return err
	}
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		sigCtx, cancel = context.WithTimeout(sigCtx, o.duration)
		defer cancel()
	}
	// ensure creates the devices, or whichever of them is missing; the reconnects and the
	// watch below share it.
	var mu sync.Mutex
	ensure := func(ctx context.Context) (*pulse.VirtualMic, error) {
		mu.Lock()
		defer mu.Unlock()
		return pulse.CreateVirtualMic(ctx, *name)
	}
	vm, err := ensure(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err := vm.Close(context.Background()); err != nil {
			fmt.Fprintf(os.Stderr, "virtual-mic: removing the virtual devices: %v\n", err)
		}
	}()
	// A module unloaded while we run (pactl unload-module) is loaded again. The watch
	// ends before the devices are removed above.
	watchCtx, endWatch := context.WithCancel(sigCtx)
	watched := make(chan struct{})
	defer func() { endWatch(); <-watched }()
	go func() {
		defer close(watched)
		watchVirtualMic(watchCtx, ensure)
	}()
	// After a sound-server restart our modules are gone: each reconnect re-creates them
	// (a no-op while they exist).
	cfg.Prepare = func(ctx context.Context) error {
		_, err := ensure(ctx)
		return err
	}
	server := "PulseAudio"
	if info.PipeWire {
		server = "PipeWire (pipewire-pulse)"
	}
	var ready sync.Once
	cfg.Started = func() {
		ready.Do(func() {
			fmt.Fprintf(os.Stderr, "virtual-mic: %q is ready on %s (source %s); pick it in your call app\n", vm.Description, server, vm.Source)
		})
	}
	cfg.Stream.Output = vm.Sink
	cfg.Stream.SampleRate = pulse.Rate
	cfg.Stream.Block = 10 * time.Millisecond
	cfg.Stream.Cushion = 10 * time.Millisecond
	// A freshly created null sink has rendered 2 s ahead and takes no audio until that has
	// passed: the PulseAudio backend restarts it at the stream's latency. With PortAudio
	// (no PulseAudio backend possible here, but the ALSA plugin), separate streams keep
	// the input flowing meanwhile.
	cfg.Stream.FreshSink = true
	cfg.Stream.Separate = true
	cfg.Reconnect = true // a microphone that comes and goes should not tear the device down
	return session.Run(sigCtx, proc, cfg, os.Stderr)
}

// watchEvery is how often virtual-mic checks that its modules are still loaded.
const watchEvery = time.Second

// watchVirtualMic checks every watchEvery, until ctx ends, that the virtual devices are
// there, and has ensure load again what was unloaded, saying so. A server that does not
// answer is the stream's to report.
func watchVirtualMic(ctx context.Context, ensure func(context.Context) (*pulse.VirtualMic, error)) {
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		vm, err := ensure(ctx)
		if err == nil && len(vm.Loaded) > 0 {
			verb := "was"
			if len(vm.Loaded) > 1 {
				verb = "were"
			}
			fmt.Fprintf(os.Stderr, "virtual-mic: %s %s unloaded while running; loaded again\n", strings.Join(vm.Loaded, " and "), verb)
		}
	}
}

// userConfigDir is the folder elem under the user's configuration folder: $XDG_CONFIG_HOME,
// or ~/.config when that is unset.
func userConfigDir(elem ...string) (string, error) {
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(append([]string{base}, elem...)...), nil
}

// serviceDir is where systemd looks for user units.
func serviceDir() (string, error) { return userConfigDir("systemd", "user") }

// modelPathArg is model as the unit must name it: a bundle folder's path (what zoo.Find
// takes for one: a path separator, a leading dot, or a folder here with a manifest) made
// absolute, since the service does not run in this folder; names stay names.
func modelPathArg(model string) (string, error) {
	if isPassthrough(model) {
		return model, nil
	}
	isPath := strings.ContainsRune(model, os.PathSeparator) || strings.HasPrefix(model, ".")
	if st, err := os.Stat(filepath.Join(model, "manifest.json")); err == nil && !st.IsDir() {
		isPath = true
	}
	if !isPath {
		return model, nil
	}
	return filepath.Abs(model)
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
// from the default, with paths made absolute. o must have been checked (checkService).
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

// checkService checks o as a run would (the steps, the model opens with the runtime
// flags) and makes its paths absolute: the unit runs elsewhere, and a mistake would show
// only as a unit failing every few seconds. It returns the ONNX Runtime library to put in
// the unit's environment ("" when $ORT_LIB is unset).
func checkService(o *liveOptions) (ortLib string, err error) {
	if err := o.check(); err != nil {
		return "", err
	}
	if o.model, err = modelPathArg(o.model); err != nil {
		return "", err
	}
	if o.runtime.ortLib, err = absFile("--ort-lib", o.runtime.ortLib); err != nil {
		return "", err
	}
	if ortLib, err = absFile("$"+ort.EnvLibrary, os.Getenv(ort.EnvLibrary)); err != nil {
		return "", err
	}
	if o.jsonStats != "" {
		if o.jsonStats, err = filepath.Abs(o.jsonStats); err != nil {
			return "", err
		}
	}
	if _, err := openLiveProcessor(*o); err != nil {
		return "", fmt.Errorf("the service would fail: %w", err)
	}
	return ortLib, nil
}

func installService(o liveOptions, name string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if abs, err := filepath.EvalSymlinks(exe); err == nil {
		exe = abs
	}
	ortLib, err := checkService(&o)
	if err != nil {
		return err
	}
	dir, err := serviceDir()
	if err != nil {
		return err
	}
	args := serviceArgs(exe, o, name)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = systemdQuote(a)
	}
	env := ""
	if ortLib != "" {
		env = "Environment=" + systemdQuote(ort.EnvLibrary+"="+ortLib) + "\n"
	}
	unit := fmt.Sprintf(`[Unit]
Description=RestoreGrad denoised virtual microphone
After=pipewire-pulse.service pulseaudio.service
Wants=pipewire-pulse.service

[Service]
ExecStart=%s
Restart=on-failure
RestartSec=3
%s
[Install]
WantedBy=default.target
`, strings.Join(quoted, " "), env)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	unitName := serviceFile(name)
	path := filepath.Join(dir, unitName)
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s\nenable it with: systemctl --user daemon-reload && systemctl --user enable --now %s\n", path, unitName)
	return nil
}

func uninstallService(name string) error {
	dir, err := serviceDir()
	if err != nil {
		return err
	}
	unitName := serviceFile(name)
	path := filepath.Join(dir, unitName)
	if err := os.Remove(path); err != nil {
		if os.IsNotExist(err) {
			fmt.Printf("no %s installed\n", path)
			return nil
		}
		return err
	}
	fmt.Printf("removed %s\n(if it was enabled: systemctl --user disable --now %s)\n", path, unitName)
	return nil
}

// systemdQuote quotes one ExecStart word.
func systemdQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\$%;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`)
	return `"` + r.Replace(s) + `"`
}
