package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/restoregrad/restoregrad/stream/ring"
)

// Config chooses the devices and buffering of a Stream. The zero value opens the default
// input and output at the input's default rate with 10 ms callbacks.
type Config struct {
	// Input and Output pick the devices. With the PulseAudio backend: a source (sink) name,
	// or a unique substring of one's name or description; "" is the server's default. With
	// PortAudio: see FindDevice; a name that matches no PortAudio device but names a
	// PulseAudio source (sink) is used through the "pulse" ALSA device, with PULSE_SOURCE
	// (PULSE_SINK) set.
	Input, Output string
	// Backend is BackendAuto (""), BackendPulse or BackendPortAudio.
	Backend string
	// SampleRate is the device rate (0: the input device's native rate; for a PulseAudio
	// source, its own rate).
	SampleRate int
	// Block is the callback period (0: 10 ms).
	Block time.Duration
	// DeviceLatency is the latency asked of the devices (0: the backend's low-latency
	// default; for PulseAudio 10 ms of capture fragments and 40 ms of playback buffer).
	DeviceLatency time.Duration
	// Cushion is the output pre-fill beyond one block, the margin for worker jitter
	// (0: 5 ms). It adds to the end-to-end latency.
	Cushion time.Duration
	// Separate opens input and output as two PortAudio streams even when one duplex stream
	// could serve both (each then runs on its own device's clock). The PulseAudio backend
	// always uses two streams.
	Separate bool
	// FreshSink says the output is a sink this process just created (the virtual mic's null
	// sink). A null sink with no client renders 2 s ahead and then takes nothing for up to
	// 2 s; the PulseAudio backend suspends and resumes such a sink once its own stream is
	// connected, which restarts it at the stream's latency.
	FreshSink bool
	// NoRealtime keeps the worker and the audio side at normal scheduling priority
	// (by default they ask for SCHED_FIFO; see Stats.Realtime).
	NoRealtime bool
	// Avoid names sources that must never be recorded from, as input or as a fallback
	// (the virtual mic's own source and its sink's monitor: recording them feeds the
	// output back into the input). The monitor of Output is always avoided.
	Avoid []string
	// MaxBacklog bounds the input waiting for the worker: older input beyond twice it is
	// dropped and counted (0: 200 ms).
	MaxBacklog time.Duration
	// BusyCushion is the output margin added while every core is busy (see load.go; 0:
	// none).
	BusyCushion time.Duration
}

// Stats are a Stream's counters. Xruns count events (callbacks), samples count audio. In
// JSON every key is snake_case and every duration is in milliseconds (see MarshalJSON).
type Stats struct {
	Backend          string  `json:"backend"`
	Rate             int     `json:"device_rate"`
	Block            int     `json:"block_samples"`
	Callbacks        int64   `json:"callbacks"`
	InputXruns       int64   `json:"input_xruns"`          // device input overflows + input ring full
	OutputXruns      int64   `json:"output_xruns"`         // device output underflows + output ring empty once started
	InputLost        int64   `json:"input_lost_samples"`   // samples the input ring had no room for
	OutputGaps       int64   `json:"output_gap_samples"`   // zero samples played because the ring was empty (PortAudio; PulseAudio counts underflows as xruns only)
	DroppedFrames    int64   `json:"dropped_frames"`       // model frames skipped by the worker to bound latency (input discarded, or output far behind)
	DroppedInput     int64   `json:"dropped_input_frames"` // of DroppedFrames, those of input discarded because the worker was MaxBacklog behind
	ShedSamples      int64   `json:"shed_samples"`         // output samples played up to 4% fast to shed latency after a stall
	StretchedSamples int64   `json:"stretched_samples"`    // output samples played up to 0.5% slow to keep the cushion (an output clock faster than the input's)
	TrimmedFrames    int64   `json:"trimmed_frames"`       // silent output frames (under −50 dBFS) left out to shed latency
	ReplacedSamples  int64   `json:"replaced_samples"`     // input samples that were NaN, infinite or beyond full scale, processed as 0 or ±1
	InputPeak        float32 `json:"input_peak"`           // peak of the last worker chunk, linear
	OutputPeak       float32 `json:"output_peak"`
	// Realtime says what scheduling the worker and audio-side threads got, e.g.
	// "SCHED_FIFO 3", or "refused: ..." when the system said no.
	Realtime         string        `json:"realtime"`
	ExtraCushion     time.Duration `json:"-"`             // output margin added after underflows
	BusyCushion      time.Duration `json:"-"`             // output margin added while every core is busy
	PaddedFrames     int64         `json:"padded_frames"` // silent frames doubled to grow the margin
	DeviceLatency    time.Duration `json:"-"`             // input + output latency reported by the backend (PulseAudio: measured, with the server's buffers)
	SinkLatency      time.Duration `json:"-"`             // the output device's own part of DeviceLatency (PulseAudio; 0 if unknown)
	Buffered         time.Duration `json:"-"`             // audio now waiting in the rings (and beyond the device's target)
	Algorithmic      time.Duration `json:"-"`             // resamplers + processor latency (gathering a frame is buffered)
	EstimatedLatency time.Duration `json:"-"`             // now: devices + buffered + algorithmic, the sum of Latency's parts
	MeanLatency      time.Duration `json:"-"`             // EstimatedLatency averaged over the run (sampled every 100 ms by the worker)
	// Latency is EstimatedLatency by where the audio waits, now; MeanLatencyParts the same
	// averaged over the run (their sum is MeanLatency).
	Latency          LatencyParts `json:"latency_parts"`
	MeanLatencyParts LatencyParts `json:"mean_latency_parts"`
}

// MarshalJSON writes the durations in milliseconds, under keys ending in _ms.
func (s Stats) MarshalJSON() ([]byte, error) {
	type plain Stats // the same fields without this method
	return json.Marshal(struct {
		plain
		DeviceLatency    float64 `json:"device_latency_ms"`
		SinkLatency      float64 `json:"sink_latency_ms"`
		Buffered         float64 `json:"buffered_ms"`
		Algorithmic      float64 `json:"algorithmic_ms"`
		EstimatedLatency float64 `json:"estimated_latency_ms"`
		MeanLatency      float64 `json:"mean_latency_ms"`
		ExtraCushion     float64 `json:"extra_cushion_ms"`
		BusyCushion      float64 `json:"busy_cushion_ms"`
	}{plain(s), ms(s.DeviceLatency), ms(s.SinkLatency), ms(s.Buffered), ms(s.Algorithmic), ms(s.EstimatedLatency), ms(s.MeanLatency), ms(s.ExtraCushion), ms(s.BusyCushion)})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// AddCounts adds the counts of an earlier stream to s (the callbacks, xruns, lost, gap,
// dropped, shed, stretched, trimmed and padded counts: every int64 field) and keeps s's own values of the
// rest, which describe the stream now. A session that reopens its devices reports its
// totals this way.
func (s *Stats) AddCounts(earlier Stats) {
	s.Callbacks += earlier.Callbacks
	s.InputXruns += earlier.InputXruns
	s.OutputXruns += earlier.OutputXruns
	s.InputLost += earlier.InputLost
	s.OutputGaps += earlier.OutputGaps
	s.DroppedFrames += earlier.DroppedFrames
	s.DroppedInput += earlier.DroppedInput
	s.ShedSamples += earlier.ShedSamples
	s.StretchedSamples += earlier.StretchedSamples
	s.TrimmedFrames += earlier.TrimmedFrames
	s.ReplacedSamples += earlier.ReplacedSamples
	s.PaddedFrames += earlier.PaddedFrames
}

// Stream is a live input → output path with lock-free rings on both sides of the audio
// callbacks. Open, then Run (which starts the devices), then Close.
type Stream struct {
	cfg            Config
	backendName    string
	dev            backend
	in, out        Device
	inPulse        string // PulseAudio source name ("" when not PulseAudio)
	outPulse       string
	rate, block    int
	inRing         *ring.Ring
	outRing        *ring.Ring
	cushion        int
	maxBacklog     int
	callbacks      atomic.Int64
	inXruns        atomic.Int64
	outXruns       atomic.Int64
	inLost         atomic.Int64
	outGaps        atomic.Int64
	outPrimed      atomic.Bool
	dropped        atomic.Int64
	shed           atomic.Int64
	stretched      atomic.Int64
	trimmed        atomic.Int64
	droppedIn      atomic.Int64
	replaced       atomic.Int64
	extraCushion   atomic.Int64 // samples
	loadCushion    atomic.Int64 // samples, set by watchLoad
	loadMeter      busyMeter    // nil: /proc/stat (tests set a fake)
	padded         atomic.Int64
	inPeak         atomic.Uint32
	outPeak        atomic.Uint32
	resampleIn     atomic.Int64 // ns
	modelLatency   atomic.Int64 // ns
	resampleOut    atomic.Int64 // ns
	closeOnce      sync.Once
	started        bool
	pendingAtModel atomic.Int64 // samples at model rate gathered but not yet processed
	modelRate      atomic.Int64
	workerSched    atomic.Pointer[string] // what the worker thread got
	latMu          sync.Mutex             // guards latMean
	latMean        latencyMean            // samples of the latency's parts, for their mean
	audioRefused   atomic.Bool            // an audio-side thread was refused real-time
}

// Real-time priorities (SCHED_FIFO): the audio side above the worker, both below the
// sound server's own threads (PulseAudio's run at 5, PipeWire's at 88) so that the model
// never delays the server, and above every normal-priority thread.
const (
	audioPriority  = 4
	workerPriority = 3
)

// audioThread asks for real-time scheduling for the calling audio-side goroutine, once
// per goroutine (*done is that goroutine's own flag).
func (s *Stream) audioThread(done *bool) {
	if *done || s.cfg.NoRealtime {
		return
	}
	*done = true
	if _, _, err := realtimeThread(audioPriority); err != nil {
		s.audioRefused.Store(true)
	}
}

// Open resolves the devices and opens (but does not start) them with the backend that
// cfg.Backend picks.
func Open(cfg Config) (*Stream, error) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"block", cfg.Block}, {"cushion", cfg.Cushion}, {"device latency", cfg.DeviceLatency}, {"max backlog", cfg.MaxBacklog}} {
		if d.v < 0 {
			return nil, fmt.Errorf("stream: %s %v is negative", d.name, d.v)
		}
	}
	if cfg.SampleRate < 0 {
		return nil, fmt.Errorf("stream: sample rate %d is negative", cfg.SampleRate)
	}
	if cfg.Block == 0 {
		cfg.Block = 10 * time.Millisecond
	}
	if cfg.Cushion == 0 {
		cfg.Cushion = 5 * time.Millisecond
	}
	if cfg.MaxBacklog == 0 {
		cfg.MaxBacklog = 200 * time.Millisecond
	}
	s := &Stream{cfg: cfg}
	dev, err := openBackend(s)
	if err != nil {
		return nil, err
	}
	s.dev = dev
	return s, nil
}

// setup sizes the blocks and rings for the device rate; the backends call it once they
// know the rate.
func (s *Stream) setup(rate int) error {
	if rate <= 0 {
		return errors.New("no sample rate: the device reports none; give one")
	}
	s.rate = rate
	s.block = max(1, int(math.Round(s.cfg.Block.Seconds()*float64(s.rate))))
	s.cushion = s.block + int(s.cfg.Cushion.Seconds()*float64(s.rate))
	s.maxBacklog = max(2*s.block, int(s.cfg.MaxBacklog.Seconds()*float64(s.rate)))
	var err error
	if s.inRing, err = ring.New(max(s.rate, 4*s.maxBacklog)); err != nil {
		return err
	}
	if s.outRing, err = ring.New(max(s.rate, 4*(s.cushion+s.maxBacklog))); err != nil {
		return err
	}
	return nil
}

// capture is the audio side of the input: it queues mono input for the worker and counts
// what does not fit. xrun reports a device-side overflow. No locks, no allocation.
func (s *Stream) capture(mono []float32, xrun bool) {
	if n := s.inRing.Write(mono); n < len(mono) {
		s.inLost.Add(int64(len(mono) - n))
		xrun = true
	}
	if xrun {
		s.inXruns.Add(1)
	}
}

// render is the audio side of the output: it fills mono from the output ring, with zeros
// where the worker has nothing yet, and counts those gaps once output has started. It
// reports whether it had to fill a gap. No locks, no allocation.
func (s *Stream) render(mono []float32) bool {
	primed := s.outPrimed.Load() // before the read: the worker sets it after its first write
	n := s.outRing.Read(mono)
	if n == len(mono) {
		return false
	}
	clear(mono[n:])
	if !primed {
		return false
	}
	s.outGaps.Add(int64(len(mono) - n))
	return true
}

// resolved records the devices a backend found (for PulseAudio, Devices that describe the
// source and sink) and their PulseAudio names ("" when not PulseAudio).
func (s *Stream) resolved(in, out Device, inPulse, outPulse string) {
	s.in, s.out, s.inPulse, s.outPulse = in, out, inPulse, outPulse
}

// called counts one audio-side callback: the worker's watchdog takes it as a sign of life.
func (s *Stream) called() { s.callbacks.Add(1) }

// outputXrun counts an output underflow that the device reported.
func (s *Stream) outputXrun() { s.outXruns.Add(1) }

// outputStarted says whether the worker has queued its first output; until then the
// audio side plays silence, which is no gap.
func (s *Stream) outputStarted() bool { return s.outPrimed.Load() }

// drain moves the output the worker queued into mono, as much as there is up to
// len(mono), without filling the rest, and returns how much: for a backend that pushes
// output to its device (pusher) rather than answering callbacks with render.
func (s *Stream) drain(mono []float32) int { return s.outRing.Read(mono) }

// outputWaiting is how much output the worker queued that the audio side has not taken.
func (s *Stream) outputWaiting() int { return s.outRing.Len() }

// Rate is the device sample rate.
func (s *Stream) Rate() int { return s.rate }

// Backend names the backend in use: BackendPulse or BackendPortAudio.
func (s *Stream) Backend() string { return s.backendName }

// Devices returns the input and output devices in use. With the PulseAudio backend they
// carry the source's and sink's names, HostAPI "PulseAudio" and Index -1.
func (s *Stream) Devices() (in, out Device) { return s.in, s.out }

// PulseNames returns the PulseAudio source and sink in use ("" when not PulseAudio).
func (s *Stream) PulseNames() (source, sink string) { return s.inPulse, s.outPulse }

// Stats returns the counters; safe from any goroutine.
func (s *Stream) Stats() Stats {
	st := Stats{
		Backend: s.backendName,
		Rate:    s.rate, Block: s.block,
		Callbacks:        s.callbacks.Load(),
		InputXruns:       s.inXruns.Load(),
		OutputXruns:      s.outXruns.Load(),
		InputLost:        s.inLost.Load(),
		OutputGaps:       s.outGaps.Load(),
		DroppedFrames:    s.dropped.Load(),
		ShedSamples:      s.shed.Load(),
		StretchedSamples: s.stretched.Load(),
		TrimmedFrames:    s.trimmed.Load(),
		PaddedFrames:     s.padded.Load(),
		DroppedInput:     s.droppedIn.Load(),
		ReplacedSamples:  s.replaced.Load(),
		InputPeak:        math.Float32frombits(s.inPeak.Load()),
		OutputPeak:       math.Float32frombits(s.outPeak.Load()),
	}
	if s.rate > 0 {
		st.ExtraCushion = time.Duration(float64(s.extraCushion.Load()) / float64(s.rate) * float64(time.Second))
		st.BusyCushion = time.Duration(float64(s.loadCushion.Load()) / float64(s.rate) * float64(time.Second))
	}
	if p := s.workerSched.Load(); p != nil {
		st.Realtime = *p
		if s.audioRefused.Load() && !strings.HasPrefix(*p, "refused") {
			st.Realtime += " (audio side refused)"
		}
	}
	st.Latency = s.latencyParts()
	l := st.Latency
	st.DeviceLatency = l.Capture + l.Playback
	st.Buffered = l.InputRing + l.Gathering + l.OutputRing
	if m, ok := s.dev.(latencyMeter); ok {
		if _, _, sink, measured := m.measuredLatency(); measured {
			st.SinkLatency = sink
			st.DeviceLatency += l.ServerQueue // the server's buffers, as measured
		} else {
			st.Buffered += l.ServerQueue // what we sent beyond the server's target
		}
	} else {
		st.Buffered += l.ServerQueue
	}
	st.Algorithmic = l.ResampleIn + l.Model + l.ResampleOut
	st.EstimatedLatency = l.Sum()
	s.latMu.Lock()
	st.MeanLatencyParts = s.latMean.mean()
	s.latMu.Unlock()
	st.MeanLatency = st.MeanLatencyParts.Sum()
	return st
}

// latencyParts splits the latency now by where the audio waits (see LatencyParts). With
// the PulseAudio backend the server's side is what it last measured; until then, and with
// PortAudio, each device's reported latency, plus what a pushing backend sent beyond the
// server's target.
func (s *Stream) latencyParts() LatencyParts {
	p := LatencyParts{
		ResampleIn:  time.Duration(s.resampleIn.Load()),
		Model:       time.Duration(s.modelLatency.Load()),
		ResampleOut: time.Duration(s.resampleOut.Load()),
	}
	measured := false
	if m, ok := s.dev.(latencyMeter); ok {
		var in, out, sink time.Duration
		if in, out, sink, measured = m.measuredLatency(); measured {
			p.Capture, p.ServerQueue, p.Playback = in, out-sink, sink
		}
	}
	if s.dev != nil && !measured {
		p.Capture, p.Playback = s.dev.latency()
	}
	if s.inRing == nil || s.rate <= 0 {
		return p
	}
	perSample := 1 / float64(s.rate)
	if q, ok := s.dev.(pusher); ok && !measured {
		p.ServerQueue = seconds(float64(q.queued()) * perSample)
	}
	p.InputRing = seconds(float64(s.inRing.Len()) * perSample)
	p.OutputRing = seconds(float64(s.outRing.Len()) * perSample)
	if mr := s.modelRate.Load(); mr > 0 {
		p.Gathering = seconds(float64(s.pendingAtModel.Load()) / float64(mr))
	}
	return p
}

// setAlgorithmic records the fixed delays of the worker's stages, in seconds: the
// resampler to the model rate, the processor's latency, the resampler back.
func (s *Stream) setAlgorithmic(resampleIn, model, resampleOut float64) {
	s.resampleIn.Store(int64(seconds(resampleIn)))
	s.modelLatency.Store(int64(seconds(model)))
	s.resampleOut.Store(int64(seconds(resampleOut)))
}

// sampleLatency adds the latency's parts now to their mean over the run.
func (s *Stream) sampleLatency() {
	p := s.latencyParts()
	s.latMu.Lock()
	s.latMean.add(p)
	s.latMu.Unlock()
}

// start starts the devices.
func (s *Stream) start() error {
	if err := s.dev.start(); err != nil {
		return err
	}
	s.started = true
	return nil
}

// Close stops and closes the devices and releases the backend. Safe to call twice.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		if s.dev != nil {
			s.dev.close()
		}
	})
	return nil
}
