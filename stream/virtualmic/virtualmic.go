// Package virtualmic makes the denoised virtual microphone that call apps pick: it runs one
// on the PulseAudio or PipeWire server (Run), lists and removes the devices a killed run
// left (List, Remove), and installs one into the desktop session, either as a systemd user
// unit that runs it at login (InstallService) or as a PipeWire filter-chain configuration
// around the LADSPA plugin (PipeWire).
package virtualmic

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/stream"
	"github.com/restoregrad/restoregrad/stream/pulse"
	"github.com/restoregrad/restoregrad/stream/session"
)

// Run denoises cfg's input into a virtual microphone named name (a null sink plus a remap
// source, tagged as ours) until ctx ends or duration (0: none) has passed, then removes it.
// The server must answer and the input must resolve before open opens the model: a
// microphone that matches nothing, or one that would record our own output, is a mistake
// to report before anything is created. Status and events go to log.
func Run(ctx context.Context, cfg session.Config, name string, duration time.Duration, open func() (engine.FrameProcessor, error), log io.Writer) error {
	info, err := pulse.Info(ctx)
	if err != nil {
		return err
	}
	// The server's default source, when it is our own microphone, is passed over for the
	// real one.
	if _, err := stream.ResolvePulseInput(cfg.Stream, pulse.SinkName); err != nil {
		return err
	}
	proc, err := open()
	if err != nil {
		return err
	}
	runCtx := ctx
	if duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	// ensure creates the devices, or whichever of them is missing; the reconnects and the
	// watch below share it.
	var mu sync.Mutex
	ensure := func(ctx context.Context) (*pulse.VirtualMic, error) {
		mu.Lock()
		defer mu.Unlock()
		return pulse.CreateVirtualMic(ctx, name)
	}
	vm, err := ensure(context.Background())
	if err != nil {
		return err
	}
	defer func() {
		if err := vm.Close(context.Background()); err != nil {
			fmt.Fprintf(log, "virtual-mic: removing the virtual devices: %v\n", err)
		}
	}()
	// A module unloaded while we run (pactl unload-module) is loaded again. The watch
	// ends before the devices are removed above.
	watchCtx, endWatch := context.WithCancel(runCtx)
	watched := make(chan struct{})
	defer func() { endWatch(); <-watched }()
	go func() {
		defer close(watched)
		watch(watchCtx, ensure, log)
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
			fmt.Fprintf(log, "virtual-mic: %q is ready on %s (source %s); pick it in your call app\n", vm.Description, server, vm.Source)
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
	return session.Run(runCtx, proc, cfg, log)
}

// watchEvery is how often Run checks that its modules are still loaded.
const watchEvery = time.Second

// watch checks every watchEvery, until ctx ends, that the virtual devices are there, and
// has ensure load again what was unloaded, saying so. A server that does not answer is the
// stream's to report.
func watch(ctx context.Context, ensure func(context.Context) (*pulse.VirtualMic, error), log io.Writer) {
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
			fmt.Fprintf(log, "virtual-mic: %s %s unloaded while running; loaded again\n", strings.Join(vm.Loaded, " and "), verb)
		}
	}
}

// List writes our virtual devices on the server to w, one module a line, saying whether
// the process that made each still runs.
func List(ctx context.Context, w io.Writer) error {
	mods, err := pulse.Ours(ctx)
	if err != nil {
		return err
	}
	if len(mods) == 0 {
		fmt.Fprintln(w, "no RestoreGrad virtual devices")
		return nil
	}
	for _, m := range mods {
		state := "running"
		if m.PID > 0 && syscall.Kill(m.PID, 0) != nil {
			state = "stale (owner gone)"
		}
		fmt.Fprintf(w, "module %d  %-20s pid %d %s  %s\n", m.Index, m.Name, m.PID, state, m.Argument)
	}
	return nil
}

// Remove removes the virtual devices a killed run left and says how many modules went. It
// refuses while a run is alive: removing its devices would send its playback to the
// default sink, the microphone on the speakers.
func Remove(ctx context.Context, w io.Writer) error {
	if pid, err := pulse.Owner(ctx); err != nil {
		return err
	} else if pid != 0 {
		return fmt.Errorf("%w (pid %d): stop it (kill %d); it removes its devices itself", pulse.ErrInUse, pid, pid)
	}
	n, err := pulse.Remove(ctx, 0)
	fmt.Fprintf(w, "removed %d module(s)\n", n)
	return err
}
