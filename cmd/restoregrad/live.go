package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/stream"
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
	quiet         bool
	separate      bool // two PortAudio streams instead of one duplex stream
	backend       string
	avoid         []string                        // sources never to record from (our own)
	prepare       func(ctx context.Context) error // before each open: (re)create the devices
	freshSink     bool                            // the output is the virtual mic's new null sink
	runtime       modelFlags                      // --threads, --provider, --cpu-fallback, --ort-lib
	attenuation   attenuationLimit                // --attenuation-limit
}

func runLive(args []string) error {
	fs := newFlagSet("live", "[flags]",
		"Reads the input device, denoises it and plays the result on the output device until\n"+
			"Ctrl-C. Devices are given by index, name or name substring (see 'restoregrad devices'),\n"+
			"or by PulseAudio source/sink name (e.g. --input alsa_input.usb-...).\n"+
			"When the model cannot keep up it first runs fewer steps, then passes the input through.")
	var o liveOptions
	fs.StringVar(&o.input, "input", "", "input device (default: the system default)")
	fs.StringVar(&o.output, "output", "", "output device (default: the system default)")
	fs.StringVar(&o.model, "model", defaultLiveModel, "model name or bundle path; 'passthrough' tests the audio path")
	fs.IntVar(&o.steps, "steps", 0, "reverse diffusion steps (0: the model's default)")
	registerAttenuation(fs, &o.attenuation)
	o.runtime.registerThreads(fs)
	o.runtime.registerRuntime(fs)
	fs.StringVar(&o.record, "record", "", "write raw.wav and denoised.wav (device rate) into this directory")
	fs.StringVar(&o.jsonStats, "json-stats", "", "write the counters as JSON to this file (every second and at the end)")
	fs.BoolVar(&o.reconnect, "reconnect", false, "when a device is missing or goes away, keep retrying instead of exiting")
	fs.Var(durationFlag{&o.duration, 0, 0}, "duration", "stop after this long, e.g. 30s or 5m (0: until Ctrl-C)")
	fs.IntVar(&o.rate, "rate", 0, "device sample rate (0: the device's native rate)")
	o.block, o.cushion = 10*time.Millisecond, 10*time.Millisecond
	fs.Var(durationFlag{&o.block, time.Millisecond, time.Second}, "block", "audio callback period, 1ms to 1s")
	fs.Var(durationFlag{&o.cushion, 0, 2 * time.Second}, "cushion", "extra output buffering against dropouts, up to 2s (adds latency)")
	fs.BoolVar(&o.quiet, "quiet", false, "no live status line")
	fs.StringVar(&o.backend, "backend", stream.BackendAuto, "audio backend: auto (PulseAudio when its server answers and the devices are its own, else PortAudio), pulse or portaudio")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q", pos)}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	proc, err := openProcessor(o.model, o.steps, o.runtime)
	if err != nil {
		return err
	}
	return runLivePipeline(ctx, o, proc, os.Stderr)
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

// liveSummary is what --json-stats writes.
type liveSummary struct {
	Model       string               `json:"model"`
	Input       string               `json:"input"`
	Output      string               `json:"output"`
	ModelRate   int                  `json:"model_rate"`
	Elapsed     float64              `json:"elapsed_ms"`
	Reconnects  int                  `json:"reconnects"`
	Stream      stream.Stats         `json:"stream"`
	Engine      engine.RealtimeStats `json:"engine"`
	Events      []string             `json:"events"`
	LatencyMs   float64              `json:"estimated_latency_ms"`
	BypassMs    float64              `json:"bypass_ms"`
	Error       string               `json:"error,omitempty"`
	StoppedBy   string               `json:"stopped_by"`
	RecordFiles []string             `json:"record_files,omitempty"`
}

// runLivePipeline runs proc between the devices of o until ctx ends, printing status to w.
func runLivePipeline(ctx context.Context, o liveOptions, proc engine.FrameProcessor, w io.Writer) error {
	// Collect garbage rarely: every collection stops all goroutines, the real-time worker
	// too, until each thread reaches a safe point, and under a CPU hog a normal-priority
	// thread can take tens of milliseconds to get there. The live heap is a few MB, so the
	// heap may grow to 5× that before the next collection.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	events := make(chan engine.RealtimeEvent, 64)
	proc, err := o.attenuation.limited(proc)
	if err != nil {
		return err
	}
	rt, err := engine.NewRealtime(proc, engine.RealtimeConfig{
		Steps: o.steps,
		OnEvent: func(e engine.RealtimeEvent) {
			select {
			case events <- e:
			default: // the printer is behind; the counters still have it
			}
		},
	})
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		sum     = liveSummary{Model: o.model, ModelRate: proc.SampleRate()}
		prev    stream.Stats // totals of streams closed by reconnects
		current *stream.Stream
		rec     *recorder
	)
	start := time.Now()
	snapshot := func() liveSummary {
		mu.Lock()
		defer mu.Unlock()
		s := sum
		s.Events = append([]string(nil), sum.Events...)
		s.Elapsed = ms(time.Since(start))
		s.Stream = prev
		if current != nil {
			addStats(&s.Stream, current.Stats())
		}
		s.Engine = rt.Stats()
		s.LatencyMs = ms(s.Stream.EstimatedLatency)
		if s.Stream.MeanLatency > 0 { // steadier than one snapshot of the buffers
			s.LatencyMs = ms(s.Stream.MeanLatency)
		}
		s.BypassMs = ms(s.Engine.BypassTime)
		return s
	}
	// Status printer: events as lines, the status on one line.
	tty := isTerminal(w)
	printerDone := make(chan struct{})
	printerCtx, stopPrinter := context.WithCancel(context.Background())
	go func() {
		defer close(printerDone)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		lastLine, lastJSON := time.Time{}, time.Now()
		for {
			select {
			case <-printerCtx.Done():
				return
			case e := <-events:
				mu.Lock()
				sum.Events = append(sum.Events, e.String())
				mu.Unlock()
				if tty {
					fmt.Fprintf(w, "\r\033[K")
				}
				fmt.Fprintf(w, "live: %s\n", e)
			case <-tick.C:
				s := snapshot()
				if !o.quiet && (tty || time.Since(lastLine) >= 5*time.Second) {
					if tty {
						fmt.Fprintf(w, "\r\033[K%s", statusLine(s))
					} else {
						fmt.Fprintf(w, "live: %s\n", statusLine(s))
					}
					lastLine = time.Now()
				}
				if o.jsonStats != "" && time.Since(lastJSON) >= time.Second {
					_ = writeJSONFile(o.jsonStats, s)
					lastJSON = time.Now()
				}
			}
		}
	}()

	var runErr error
	const firstBackoff, maxBackoff = 500 * time.Millisecond, 2 * time.Second
	backoff := firstBackoff
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			break
		}
		var st *stream.Stream
		var err error
		if o.prepare != nil {
			err = o.prepare(ctx)
		}
		if err == nil {
			st, err = stream.Open(stream.Config{Input: o.input, Output: o.output, Backend: o.backend,
				SampleRate: o.rate, Block: o.block, Cushion: o.cushion, Separate: o.separate, FreshSink: o.freshSink,
				Avoid: o.avoid})
		}
		if err == nil && rec == nil && o.record != "" {
			rec, err = newRecorder(o.record, st.Rate())
			if err != nil {
				st.Close()
				runErr = err
				break
			}
			mu.Lock()
			sum.RecordFiles = rec.names
			mu.Unlock()
		}
		if err == nil {
			in, out := st.Devices()
			src, sink := st.PulseNames()
			mu.Lock()
			sum.Input, sum.Output = deviceLabel(in, src), deviceLabel(out, sink)
			sum.Error = "" // a working stream ends the last failure
			backoff = firstBackoff
			current = st
			mu.Unlock()
			fmt.Fprintf(w, "live: %s → %s → %s at %d Hz (model %s at %d Hz, %d steps); Ctrl-C stops\n",
				sum.Input, o.model, sum.Output, st.Rate(), o.model, proc.SampleRate(), rt.Steps())
			opt := stream.RunOptions{}
			if rec != nil && rec.rate == st.Rate() {
				opt.OnInput, opt.OnOutput = rec.writeRaw, rec.writeDenoised
			}
			err = st.Run(ctx, rt, opt)
			mu.Lock()
			addStats(&prev, st.Stats())
			current = nil
			mu.Unlock()
			st.Close()
			rt.Reset()
			if err == nil {
				break
			}
		}
		// A device that matches nothing, or that would record our own output, is a
		// mistake in the command line, not a device that went away: retrying would
		// run silent forever.
		if !o.reconnect || (attempt == 0 && (errors.Is(err, stream.ErrNoDevice) || errors.Is(err, stream.ErrFeedback))) {
			runErr = err
			break
		}
		if tty {
			fmt.Fprintf(w, "\r\033[K")
		}
		fmt.Fprintf(w, "live: %v; retrying in %v (--reconnect)\n", err, backoff)
		mu.Lock()
		sum.Reconnects++
		sum.Error = err.Error()
		mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
	stopPrinter()
	<-printerDone
	for {
		select {
		case e := <-events:
			sum.Events = append(sum.Events, e.String())
			continue
		default:
		}
		break
	}
	if rec != nil {
		if err := rec.close(); err != nil && runErr == nil {
			runErr = err
		}
	}
	s := snapshot()
	switch {
	case runErr != nil:
		s.Error, s.StoppedBy = runErr.Error(), "error"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		s.StoppedBy = "duration"
	default:
		s.StoppedBy = "signal"
	}
	if tty {
		fmt.Fprintf(w, "\r\033[K")
	}
	if s.Stream.Callbacks > 0 {
		fmt.Fprint(w, summaryText(s))
	}
	if o.jsonStats != "" {
		if err := writeJSONFile(o.jsonStats, s); err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

func deviceLabel(d stream.Device, pulseName string) string {
	if pulseName != "" && d.HostAPI == "PulseAudio" {
		return fmt.Sprintf("%s (PulseAudio)", pulseName)
	}
	if pulseName != "" {
		return fmt.Sprintf("%s (PulseAudio via %q)", pulseName, d.Name)
	}
	return fmt.Sprintf("%q", d.Name)
}

// addStats adds the counters of b to a and takes b's instantaneous values.
func addStats(a *stream.Stats, b stream.Stats) {
	a.Callbacks += b.Callbacks
	a.InputXruns += b.InputXruns
	a.OutputXruns += b.OutputXruns
	a.InputLost += b.InputLost
	a.OutputGaps += b.OutputGaps
	a.DroppedFrames += b.DroppedFrames
	a.DroppedInput += b.DroppedInput
	a.ShedSamples += b.ShedSamples
	a.TrimmedFrames += b.TrimmedFrames
	a.ExtraCushion = b.ExtraCushion
	a.Backend, a.Rate, a.Block, a.Realtime = b.Backend, b.Rate, b.Block, b.Realtime
	a.InputPeak, a.OutputPeak = b.InputPeak, b.OutputPeak
	a.DeviceLatency, a.Buffered, a.Algorithmic, a.EstimatedLatency = b.DeviceLatency, b.Buffered, b.Algorithmic, b.EstimatedLatency
	a.SinkLatency, a.MeanLatency = b.SinkLatency, b.MeanLatency
}

func dbfs(peak float32) float64 {
	if peak <= 0 {
		return -96
	}
	return max(-96, 20*math.Log10(float64(peak)))
}

// meter draws a peak level from -60 to 0 dBFS in 10 cells.
func meter(peak float32) string {
	cells := int(math.Round((dbfs(peak) + 60) / 6))
	cells = min(max(cells, 0), 10)
	return "[" + strings.Repeat("#", cells) + strings.Repeat(" ", 10-cells) + "]"
}

func statusLine(s liveSummary) string {
	mode := fmt.Sprintf("%d steps", s.Engine.Steps)
	if s.Engine.Bypassed {
		mode = "BYPASS"
	}
	if strings.HasPrefix(s.Stream.Realtime, "refused") || strings.Contains(s.Stream.Realtime, "refused)") {
		mode += "  RT refused" // the summary says why
	}
	return fmt.Sprintf("in %s %4.0f dB  out %s %4.0f dB  load p99 %.2f  latency %3.0f ms  xruns in %d out %d  dropped %d  %s",
		meter(s.Stream.InputPeak), dbfs(s.Stream.InputPeak), meter(s.Stream.OutputPeak), dbfs(s.Stream.OutputPeak),
		s.Engine.P99Load, s.LatencyMs, s.Stream.InputXruns, s.Stream.OutputXruns, s.Stream.DroppedFrames, mode)
}

func summaryText(s liveSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "live: stopped (%s) after %.1f s\n", s.StoppedBy, s.Elapsed/1000)
	fmt.Fprintf(&b, "  frames %d (bypassed %d, %.1f s), RTF mean %.3f, max frame load %.2f, steps now %d, step changes %d\n",
		s.Engine.Frames, s.Engine.BypassFrames, s.BypassMs/1000, s.Engine.RTF, s.Engine.MaxLoad, s.Engine.Steps, s.Engine.StepChanges)
	fmt.Fprintf(&b, "  xruns: input %d, output %d; samples lost in %d, output gaps %d; dropped frames %d; reconnects %d\n",
		s.Stream.InputXruns, s.Stream.OutputXruns, s.Stream.InputLost, s.Stream.OutputGaps, s.Stream.DroppedFrames, s.Reconnects)
	fmt.Fprintf(&b, "  latency estimate %.1f ms (mean; now: devices %.1f, buffers %.1f, algorithmic %.1f); scheduling: %s\n",
		s.LatencyMs, ms(s.Stream.DeviceLatency), ms(s.Stream.Buffered), ms(s.Stream.Algorithmic), s.Stream.Realtime)
	for _, f := range s.RecordFiles {
		fmt.Fprintf(&b, "  wrote %s\n", f)
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func writeJSONFile(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// recorder writes the raw input and the processed output as float WAV files. Its writes
// run on the stream worker (buffered, never in the audio callback).
type recorder struct {
	rate     int
	names    []string
	files    []*os.File
	raw, den *wav.Writer
	err      error
	single   [1][]float32
}

func newRecorder(dir string, rate int) (*recorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	r := &recorder{rate: rate}
	f := wav.Format{SampleRate: rate, Channels: 1, BitsPerSample: 32, Float: true}
	for _, base := range []string{"raw.wav", "denoised.wav"} {
		name := filepath.Join(dir, base)
		file, err := os.Create(name)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("record: %w", err)
		}
		ww, err := wav.NewWriter(file, f)
		if err != nil {
			file.Close()
			r.close()
			return nil, fmt.Errorf("record %s: %w", name, err)
		}
		r.names = append(r.names, name)
		r.files = append(r.files, file)
		if r.raw == nil {
			r.raw = ww
		} else {
			r.den = ww
		}
	}
	return r, nil
}

func (r *recorder) write(w *wav.Writer, x []float32) {
	if r.err != nil || w == nil {
		return
	}
	r.single[0] = x
	r.err = w.Write(r.single[:])
}

func (r *recorder) writeRaw(x []float32)      { r.write(r.raw, x) }
func (r *recorder) writeDenoised(x []float32) { r.write(r.den, x) }

func (r *recorder) close() error {
	err := r.err
	for i, w := range []*wav.Writer{r.raw, r.den} {
		if w != nil {
			if e := w.Close(); e != nil && err == nil {
				err = e
			}
		}
		if i < len(r.files) {
			if e := r.files[i].Close(); e != nil && err == nil {
				err = e
			}
		}
	}
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}
