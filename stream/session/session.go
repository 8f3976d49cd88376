// Package session runs live denoising between two sound devices and looks after the run:
// it opens the devices (again, with back-off, when they go away and Reconnect is set),
// prints the model's events and a status line, writes JSON snapshots of the counters and
// records the raw and the denoised audio. The devices come from package stream, the
// deadline control from engine.Realtime.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/stream"
)

// Config is one live run. The zero value runs until ctx ends on the default devices, fails
// on the first device error, and writes only the start line, the events and the summary.
type Config struct {
	// Model names the model in the status and the JSON.
	Model string
	// Steps is the number of reverse steps to start with (0: the model's default).
	Steps int
	// Stream chooses the devices and buffering.
	Stream stream.Config
	// Record, when set, is a directory for the run's take: a new pair of float WAV files
	// at the device rate, take-YYYYMMDD-HHMMSS-raw.wav and -denoised.wav, whose headers
	// are kept up to date as they grow. A write error (a full disk) stops the recording,
	// not the run, with a message; Run then returns it at the end.
	Record string
	// JSONStats, when set, is a file that gets a Summary every second and at the end.
	JSONStats string
	// Reconnect keeps retrying when a device is missing or goes away, instead of
	// returning the error (a device that matches nothing, or would record our own output,
	// is still an error at the first attempt).
	Reconnect bool
	// Quiet leaves out the status line; events and the summary are still written.
	Quiet bool
	// Terminal says the writer is a terminal: the status line is redrawn in place five
	// times a second, instead of written as a line every five seconds.
	Terminal bool
	// Prepare, when set, runs before each attempt to open the devices (the virtual mic
	// creates its devices again after a sound-server restart).
	Prepare func(ctx context.Context) error
	// Started, when set, is called each time the devices have opened and the model is
	// about to run between them (the virtual mic says then that it is ready).
	Started func()
	// Open opens the devices (nil: stream.Open).
	Open func(stream.Config) (Stream, error)

	// createRecord creates each file of a take (nil: a new file on disk); tests fake it.
	createRecord func(name string) (recordFile, error)
}

// Stream is what a session needs of an open pair of devices; *stream.Stream is one.
type Stream interface {
	Run(ctx context.Context, p stream.Processor, opt stream.RunOptions) error
	Stats() stream.Stats
	Rate() int
	Devices() (in, out stream.Device)
	PulseNames() (source, sink string)
	Close() error
}

func openStream(cfg stream.Config) (Stream, error) {
	st, err := stream.Open(cfg)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return st, nil
}

// Summary is the state of a run, as --json-stats writes it.
type Summary struct {
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
	StoppedBy   string               `json:"stopped_by"` // "signal" (ctx cancelled), "duration" (ctx deadline) or "error"
	RecordFiles []string             `json:"record_files,omitempty"`
	RecordError string               `json:"record_error,omitempty"` // why the recording stopped early
}

// Back-off between attempts to open the devices.
const firstBackoff, maxBackoff = 500 * time.Millisecond, 2 * time.Second

// session is the state shared by the device loop and the printer.
type session struct {
	cfg   Config
	w     io.Writer
	rt    *engine.Realtime
	start time.Time

	mu      sync.Mutex
	sum     Summary
	prev    stream.Stats // totals of the streams closed by reconnects
	current Stream
	rec     *recorder
}

// Run runs proc between the devices of cfg until ctx ends, writing events, the status line
// and a summary to w. It returns nil when ctx ends, and the device or model error that
// ended the run otherwise.
func Run(ctx context.Context, proc engine.FrameProcessor, cfg Config, w io.Writer) error {
	// Collect garbage rarely: every collection stops all goroutines, the real-time worker
	// too, until each thread reaches a safe point, and under a CPU hog a normal-priority
	// thread can take tens of milliseconds to get there. The live heap is a few MB, so the
	// heap may grow to 5× that before the next collection.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	// The stream makes its audio side and worker real-time; the rest of the process's
	// threads follow at the lowest real-time priority, so that neither waits for a Go
	// scheduler slot held by a thread that a CPU hog keeps off the CPU
	// (stream.RealtimeProcess). A refusal is the stream's too, which its stats report.
	if !cfg.Stream.NoRealtime {
		if restore, err := stream.RealtimeProcess(); err == nil {
			defer restore()
		}
	}
	if cfg.Open == nil {
		cfg.Open = openStream
	}
	events := make(chan engine.RealtimeEvent, 64)
	rt, err := engine.NewRealtime(proc, engine.RealtimeConfig{
		Steps: cfg.Steps,
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
	s := &session{cfg: cfg, w: w, rt: rt, start: time.Now(),
		sum: Summary{Model: cfg.Model, ModelRate: proc.SampleRate()}}

	printerDone := make(chan struct{})
	printerCtx, stopPrinter := context.WithCancel(context.Background())
	go func() {
		defer close(printerDone)
		s.print(printerCtx, events)
	}()
	rec, runErr := s.loop(ctx)
	stopPrinter()
	<-printerDone
	for {
		select {
		case e := <-events:
			s.sum.Events = append(s.sum.Events, e.String())
			continue
		default:
		}
		break
	}
	// A recording that stopped early is reported, and returned when nothing else went
	// wrong, but it did not stop the run.
	var recErr error
	if rec != nil {
		if recErr = rec.close(); recErr != nil {
			s.mu.Lock()
			s.sum.RecordError = rec.failure()
			s.mu.Unlock()
		}
	}
	sum := s.snapshot()
	switch {
	case runErr != nil:
		sum.Error, sum.StoppedBy = runErr.Error(), "error"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		sum.StoppedBy = "duration"
	default:
		sum.StoppedBy = "signal"
	}
	if runErr == nil {
		runErr = recErr
	}
	s.clearLine()
	if sum.Stream.Callbacks > 0 {
		fmt.Fprint(w, summaryText(sum))
	}
	if cfg.JSONStats != "" {
		if err := writeJSONFile(cfg.JSONStats, sum); err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

// loop opens the devices and runs the model between them until ctx ends, the devices fail
// without Reconnect, or a mistake in the configuration shows. It returns the recorder (nil
// without Record) for the caller to close.
func (s *session) loop(ctx context.Context) (*recorder, error) {
	var rec *recorder
	backoff := firstBackoff
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return rec, nil
		}
		var st Stream
		var err error
		if s.cfg.Prepare != nil {
			err = s.cfg.Prepare(ctx)
		}
		if err == nil {
			st, err = s.cfg.Open(s.cfg.Stream)
		}
		if err == nil && rec == nil && s.cfg.Record != "" {
			rec, err = newRecorder(s.cfg.Record, st.Rate(), time.Now(), s.cfg.createRecord)
			if err != nil {
				st.Close()
				return nil, err
			}
			s.mu.Lock()
			s.sum.RecordFiles = rec.names
			s.rec = rec
			s.mu.Unlock()
			fmt.Fprintf(s.w, "live: recording to %s and %s\n", rec.names[0], rec.names[1])
		}
		if err == nil {
			if err = s.run(ctx, st, rec); err == nil {
				return rec, nil
			}
		}
		// A device that matches nothing, or that would record our own output, is a
		// mistake in the command line, not a device that went away: retrying would
		// run silent forever.
		if !s.cfg.Reconnect || (attempt == 0 && (errors.Is(err, stream.ErrNoDevice) || errors.Is(err, stream.ErrFeedback))) {
			return rec, err
		}
		s.clearLine()
		fmt.Fprintf(s.w, "live: %v; retrying in %v (--reconnect)\n", err, backoff)
		s.mu.Lock()
		s.sum.Reconnects++
		s.sum.Error = err.Error()
		s.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// run runs the model on one open stream until ctx ends or the stream fails, then closes it
// and keeps its counts for the totals.
func (s *session) run(ctx context.Context, st Stream, rec *recorder) error {
	in, out := st.Devices()
	src, sink := st.PulseNames()
	s.mu.Lock()
	s.sum.Input, s.sum.Output = deviceLabel(in, src), deviceLabel(out, sink)
	s.sum.Error = "" // a working stream ends the last failure
	s.current = st
	s.mu.Unlock()
	// The model's own latency is named when it has one: an offline model run live in blocks
	// (models.Runner.Frames) adds its whole context, 500 ms for restoregrad-offline.
	latency := ""
	if n := s.rt.Latency(); n > 0 {
		latency = fmt.Sprintf(", %.0f ms model latency", 1000*float64(n)/float64(s.sum.ModelRate))
	}
	fmt.Fprintf(s.w, "live: %s → %s → %s at %d Hz (model %s at %d Hz, %d steps%s); Ctrl-C stops\n",
		s.sum.Input, s.cfg.Model, s.sum.Output, st.Rate(), s.cfg.Model, s.sum.ModelRate, s.rt.Steps(), latency)
	if s.cfg.Started != nil {
		s.cfg.Started()
	}
	opt := stream.RunOptions{}
	if rec != nil && rec.rate == st.Rate() {
		opt.OnInput, opt.OnOutput = rec.writeRaw, rec.writeDenoised
	}
	err := st.Run(ctx, s.rt, opt)
	s.mu.Lock()
	closed := st.Stats()
	closed.AddCounts(s.prev)
	s.prev, s.current = closed, nil
	s.mu.Unlock()
	st.Close()
	s.rt.Reset()
	return err
}

// snapshot returns the summary now: the totals over every stream so far.
func (s *session) snapshot() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := s.sum
	sum.Events = append([]string(nil), s.sum.Events...)
	sum.Elapsed = ms(time.Since(s.start))
	sum.Stream = s.prev
	if s.current != nil {
		sum.Stream = s.current.Stats()
		sum.Stream.AddCounts(s.prev)
	}
	sum.Engine = s.rt.Stats()
	sum.LatencyMs = ms(sum.Stream.EstimatedLatency)
	if sum.Stream.MeanLatency > 0 { // steadier than one snapshot of the buffers
		sum.LatencyMs = ms(sum.Stream.MeanLatency)
	}
	sum.BypassMs = ms(sum.Engine.BypassTime)
	return sum
}

// print writes the events as lines and the status on one line, and the JSON snapshots,
// until ctx ends.
func (s *session) print(ctx context.Context, events <-chan engine.RealtimeEvent) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastLine, lastJSON := time.Time{}, time.Now()
	recordTold := false
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-events:
			s.mu.Lock()
			s.sum.Events = append(s.sum.Events, e.String())
			s.mu.Unlock()
			s.clearLine()
			fmt.Fprintf(s.w, "live: %s\n", e)
		case <-tick.C:
			s.mu.Lock()
			rec := s.rec
			s.mu.Unlock()
			if rec != nil && !recordTold && rec.Failed() != nil {
				recordTold = true
				msg := rec.failure()
				s.mu.Lock()
				s.sum.RecordError = msg
				s.mu.Unlock()
				s.clearLine()
				fmt.Fprintf(s.w, "live: %s; the files keep what came before, the run goes on\n", msg)
			}
			sum := s.snapshot()
			if !s.cfg.Quiet && (s.cfg.Terminal || time.Since(lastLine) >= 5*time.Second) {
				if s.cfg.Terminal {
					fmt.Fprintf(s.w, "\r\033[K%s", statusLine(sum))
				} else {
					fmt.Fprintf(s.w, "live: %s\n", statusLine(sum))
				}
				lastLine = time.Now()
			}
			if s.cfg.JSONStats != "" && time.Since(lastJSON) >= time.Second {
				_ = writeJSONFile(s.cfg.JSONStats, sum)
				lastJSON = time.Now()
			}
		}
	}
}

// clearLine erases the status line on a terminal before a line of text.
func (s *session) clearLine() {
	if s.cfg.Terminal {
		fmt.Fprintf(s.w, "\r\033[K")
	}
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
