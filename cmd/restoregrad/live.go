package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/stream"
	"github.com/restoregrad/restoregrad/stream/pulse"
	"github.com/restoregrad/restoregrad/stream/session"
)

func init() {
	register(command{name: "live", summary: "denoise a microphone live to the speakers", run: runLive})
}

type liveOptions struct {
	input, output string
	model         string
	steps         int
	record        string
	jsonStats     string
	reconnect     bool
	duration      time.Duration
	rate          int
	block         time.Duration
	cushion       time.Duration
	busyCushion   time.Duration
	quiet         bool
	backend       string
	runtime       modelFlags       // --threads, --provider, --cpu-fallback, --ort-lib
	attenuation   attenuationLimit // --attenuation-limit
}

func runLive(args []string) error {
	fs := newFlagSet("live", "[flags]",
		"Reads the input device, denoises it and plays the result on the output device until\n"+
			"Ctrl-C. Devices are given by index, name or name substring (see 'restoregrad devices'),\n"+
			"or by PulseAudio source/sink name (e.g. --input alsa_input.usb-...).\n"+
			"When the model cannot keep up it first runs fewer steps, then passes the input through.")
	var o liveOptions
	fs.StringVar(&o.input, "input", "", "input `device`: index, name or part of it, or PulseAudio source (default: the system default)")
	fs.StringVar(&o.output, "output", "", "output `device`: index, name or part of it, or PulseAudio sink (default: the system default)")
	fs.StringVar(&o.model, "model", defaultLiveModel, "model `name` or bundle path; 'passthrough' tests the audio path")
	fs.IntVar(&o.steps, "steps", 0, "run `N` reverse diffusion steps (0: the model's default)")
	registerAttenuation(fs, &o.attenuation)
	o.runtime.registerThreads(fs)
	o.runtime.registerRuntime(fs)
	fs.StringVar(&o.record, "record", "", "record each run as a new take in this `folder`: take-YYYYMMDD-HHMMSS-raw.wav and -denoised.wav (float, device rate)")
	fs.StringVar(&o.jsonStats, "json-stats", "", "write the counters as JSON to this `file` (every second and at the end)")
	fs.BoolVar(&o.reconnect, "reconnect", false, "when a device is missing or goes away, keep retrying instead of exiting")
	fs.Var(durationFlag{&o.duration, 0, 0}, "duration", "stop after this `duration`, e.g. 30s or 5m (0: until Ctrl-C)")
	fs.IntVar(&o.rate, "rate", 0, "device sample rate in `Hz` (0: the device's native rate)")
	o.block, o.cushion = 10*time.Millisecond, defaultCushion
	fs.Var(durationFlag{&o.block, time.Millisecond, time.Second}, "block", "audio callback period, a `duration` from 1ms to 1s")
	fs.Var(durationFlag{&o.cushion, 0, 2 * time.Second}, "cushion", "extra output buffering against dropouts, a `duration` up to 2s (adds latency)")
	registerBusyCushion(fs, &o.busyCushion)
	fs.BoolVar(&o.quiet, "quiet", false, "no live status line")
	fs.StringVar(&o.backend, "backend", stream.BackendAuto, "audio `backend`: auto (PulseAudio when its server answers and the devices are its own, else PortAudio), pulse or portaudio")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q", pos)}
	}
	if err := o.check(); err != nil {
		return err
	}
	ignoreSIGPIPE()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	proc, err := openLiveProcessor(o)
	if err != nil {
		return err
	}
	return session.Run(ctx, proc, o.sessionConfig(os.Stderr), os.Stderr)
}

// durationFlag is a duration flag with bounds (max 0: none) and errors that say what is
// wrong: flag.Duration answers a missing unit or a negative value with "parse error" or
// not at all.
type durationFlag struct {
	d        *time.Duration
	min, max time.Duration
}

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return fmt.Errorf("%q has no unit: write e.g. %ss or %sms", s, s, s)
		}
		return fmt.Errorf("%q is not a duration (e.g. 10ms, 30s, 5m)", s)
	}
	switch {
	case d < 0:
		return fmt.Errorf("%s is negative", s)
	case d < f.min:
		return fmt.Errorf("%s is below the minimum %v", s, f.min)
	case f.max > 0 && d > f.max:
		return fmt.Errorf("%s is above the maximum %v", s, f.max)
	}
	*f.d = d
	return nil
}

// defaultCushion is the output margin kept all the time against the worker's jitter
// (10 ms until issue 24 item 15: a frame's compute is about 1 ms, and the margin against
// the sound server's stalls under load is the busy cushion's).
const defaultCushion = 5 * time.Millisecond

// defaultBusyCushion covers the sound server's stalls seen with every core busy (up to
// about 40 ms beyond the usual margin in the hog test, README) and costs that much
// latency only while the machine is that busy.
const defaultBusyCushion = 60 * time.Millisecond

// registerBusyCushion adds --busy-cushion, which live and virtual-mic share.
func registerBusyCushion(fs *flag.FlagSet, d *time.Duration) {
	*d = defaultBusyCushion
	fs.Var(durationFlag{d, 0, time.Second}, "busy-cushion",
		"more output buffering (and latency), a `duration`, while every core is over 90% busy, against the sound server's stalls under load (0: none)")
}

// ignoreSIGPIPE keeps a long run alive when whatever reads its output goes away
// (`restoregrad virtual-mic | head -1`): writes then fail with EPIPE instead of killing the
// process, which would leave the virtual devices behind, silent. Ctrl-C and SIGTERM still
// stop it cleanly.
func ignoreSIGPIPE() { signal.Ignore(syscall.SIGPIPE) }

// sessionConfig is the live session that o's flags ask for, writing its status to w. Our
// virtual microphone and its sink's monitor are never an input: they carry our own output.
func (o liveOptions) sessionConfig(w io.Writer) session.Config {
	return session.Config{
		Model: o.model, Steps: o.steps,
		Stream: stream.Config{Input: o.input, Output: o.output, Backend: o.backend,
			SampleRate: o.rate, Block: o.block, Cushion: o.cushion, BusyCushion: o.busyCushion,
			Avoid: pulse.OwnSources()},
		Record: o.record, JSONStats: o.jsonStats, Reconnect: o.reconnect, Quiet: o.quiet,
		Terminal: isTerminal(w),
	}
}

// check refuses numbers no run can use, before anything is opened.
func (o liveOptions) check() error {
	if o.runtime.threads < 1 {
		return &exitError{code: 2, err: fmt.Errorf("--threads %d: want 1 or more", o.runtime.threads)}
	}
	if o.steps < 0 {
		return &exitError{code: 2, err: fmt.Errorf("--steps %d: want 0 (the model's default) or more", o.steps)}
	}
	return nil
}

// openLiveProcessor opens the model of o for live use, under o's attenuation limit.
func openLiveProcessor(o liveOptions) (engine.FrameProcessor, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	proc, err := openProcessor(o.model, o.steps, o.runtime)
	if err != nil {
		return nil, err
	}
	return o.attenuation.limited(proc)
}

// isTerminal says whether w is a terminal (the status line and the progress bar redraw in
// place there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
