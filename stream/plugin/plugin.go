// Package plugin runs the denoiser inside another program's audio thread, as a LADSPA
// plugin: the host's Run only copies into and out of lock-free rings; a worker goroutine
// resamples between the host rate and the model rate, runs the model under engine's
// deadline controller and attenuation limit, and the output leaves at a fixed latency,
// reported to the host.
//
// Hosts that are not real time (sox, applyplugin, Audacity's Apply) call Run back to back,
// faster than the clock. An instance notices when the host has delivered more audio than
// wall-clock time allows a real-time host to, and from then on Run waits for the worker:
// such a host has no deadline, and its output is then the full model output, sample for
// sample the signal `restoregrad enhance` writes. Before that, and for real-time hosts
// always, Run never waits: output the worker has not produced in time is the input
// delayed by the same latency. A host taken for offline that then keeps the clock's pace
// is real time again.
//
// Files: plugin.go (the host side: Run, latency, pace), worker.go (the worker goroutine
// and controls), pipeline.go (the model under the limit and the controller, in an
// adapt.Stage between the rings). Audio stays one slice per channel throughout.
package plugin

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/restoregrad/restoregrad/dsp/sanitize"
	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/stream/ring"
)

// Opener loads the model with the given index for channels channels: one frame processor
// per channel, each drawing its own diffusion noise (models.Runner.ChannelFrames), and the
// closer that releases them all (the models.Runner). The pipeline runs the processors
// under engine's attenuation limit and deadline controller, so they are what those wrap,
// engine.FrameProcessors. Steps are set afterwards; a processor's initial Steps is taken
// as the model's default.
type Opener func(index, channels int) ([]engine.FrameProcessor, io.Closer, error)

// Config describes an instance.
type Config struct {
	Rate     int // the host's sample rate
	Channels int // 1 or more
	Model    int // index of the model to load first
	Open     Opener
}

// Controls are the host's control values, read on every Run.
type Controls struct {
	Attenuation float32 // attenuation limit in dB (engine.AttenuationGain)
	Steps       float32 // reverse steps; 0 or less: the model's default
	Model       float32 // model index
}

// DefaultControls are the values Run assumes for ports the host did not connect.
var DefaultControls = Controls{Attenuation: engine.FullStrength, Steps: 0, Model: 0}

// Modes of an instance, decided by Run from the host's pace.
const (
	modeUndecided int32 = iota // first calls: never wait, no deadline controller yet
	modeRealtime               // never wait; the deadline controller steps down and bypasses
	modeOffline                // wait for the worker; the model runs at the steps asked for
)

const (
	maxChunk   = 8192    // frames per internal Run step (any host block is cut into these)
	histFrames = 1 << 16 // input history per channel, for the pass-through path
	maxLatency = histFrames - maxChunk
	decideRT   = 500 * time.Millisecond // a host still at real-time pace after this is real time
	offlineMax = 5 * time.Second        // longest wait for the worker in offline mode
	maxBehind  = time.Second            // how far behind the clock a host's pace is remembered
	clockLeak  = 0.002                  // device clocks faster than the wall clock by this are real time
	// rtToOffline is how far beyond a block a real-time host must get ahead of the clock
	// to be taken for an offline one (a freewheeling graph).
	rtToOffline = 250 * time.Millisecond
	// offlineCheck and offlinePace: an offline host that then delivers this much audio at
	// this fraction of real time or slower is a real-time one after all.
	offlineCheck = 500 * time.Millisecond
	offlinePace  = 0.9
)

// Instance is one plugin instance. Run belongs to the host's audio thread; Activate, Stats
// and Close to its other threads, Activate and Close never concurrent with Run.
type Instance struct {
	ch, rate int
	open     Opener

	in, out  *ring.Channels // host-rate frames: host → worker, worker → host
	outReady chan struct{}

	// Host side (Run).
	scratch [][]float32 // sanitised input per channel, maxChunk frames
	views   [][]float32 // slices of the host's buffers or of scratch, one per channel
	hist    [][]float32 // input history per channel, indexed by absolute frame mod histFrames
	inPos   int64       // frames received
	outPos  int64       // frames returned
	lat     int         // latency in effect (host frames)
	first   int         // the first block: the latency's allowance for a block until the host is known to be real time
	planned int         // the largest block seen: the allowance once it is
	debt    int64       // >0: ring frames to drop (already played as pass-through); <0: frames still to hold back
	started bool
	base    time.Time
	last    time.Duration
	ahead   float64       // seconds of audio delivered beyond the wall clock since the first call
	offAt   time.Duration // when the host was taken for an offline one
	offFrom int64         // input frames then
	timer   *time.Timer
	ctl     Controls

	// Shared with the worker.
	mode       atomic.Int32
	alg        atomic.Int64 // the pipeline's latency beyond the block
	atten      atomic.Uint32
	steps      atomic.Int32
	model      atomic.Int32
	latency    atomic.Int64 // lat, for readers outside Run
	fallback   atomic.Int64 // frames output as pass-through because the worker was late
	lost       atomic.Int64 // input frames dropped because the input ring was full
	replaced   atomic.Int64 // input samples that were NaN, infinite or beyond full scale
	stalls     atomic.Int64 // offline waits that timed out
	minBlock   atomic.Int64
	maxBlock   atomic.Int64
	calls      atomic.Int64
	modelLoads atomic.Int64
	maxAhead   atomic.Int64 // the most the host got ahead of the clock, ns
	decidedAt  atomic.Int64 // audio frames when the mode was decided
	modelFrom  atomic.Int64 // input frame where the model in use took over

	w    *worker
	quit chan struct{}
	done chan struct{}
	mu   sync.Mutex // guards errs
	errs []error
}

// New loads the model and starts the worker.
func New(cfg Config) (*Instance, error) {
	if cfg.Rate < 1000 || cfg.Rate > 768000 {
		return nil, fmt.Errorf("host sample rate %d Hz not supported", cfg.Rate)
	}
	if cfg.Channels < 1 || cfg.Channels > 8 {
		return nil, fmt.Errorf("%d channels not supported", cfg.Channels)
	}
	if cfg.Open == nil {
		return nil, errors.New("no model opener")
	}
	p := &Instance{ch: cfg.Channels, rate: cfg.Rate, open: cfg.Open, outReady: make(chan struct{}, 1)}
	var err error
	// Room for several seconds: the deadline controller bypasses long before it fills.
	if p.in, err = ring.NewChannels(p.ch, 4*cfg.Rate); err != nil {
		return nil, err
	}
	if p.out, err = ring.NewChannels(p.ch, 4*cfg.Rate); err != nil {
		return nil, err
	}
	p.scratch, p.views, p.hist = make([][]float32, p.ch), make([][]float32, p.ch), make([][]float32, p.ch)
	for c := range p.hist {
		p.scratch[c] = make([]float32, maxChunk)
		p.hist[c] = make([]float32, histFrames)
	}
	p.timer = time.NewTimer(time.Hour)
	p.timer.Stop()
	p.ctl = DefaultControls
	p.ctl.Model = float32(cfg.Model)
	p.storeControls(p.ctl)

	w := &worker{p: p, model: cfg.Model, atten: engine.FullStrength, resetReq: make(chan chan struct{})}
	if w.pipe, err = p.load(cfg.Model, engine.FullStrength, w.event); err != nil {
		return nil, err
	}
	w.raw = make([][]float32, p.ch)
	for c := range w.raw {
		w.raw[c] = make([]float32, workerChunk)
	}
	w.emit = w.write
	w.pipe.warm()
	p.alg.Store(int64(min(w.pipe.alg, maxLatency/2)))
	p.w = w
	p.reset()
	p.quit, p.done = make(chan struct{}), make(chan struct{})
	go w.loop(p.quit, p.done)
	return p, nil
}

func (p *Instance) storeControls(c Controls) {
	p.atten.Store(math.Float32bits(c.Attenuation))
	p.steps.Store(int32(roundClamp(c.Steps, 0, 1<<20)))
	p.model.Store(int32(roundClamp(c.Model, 0, 1<<20)))
}

func roundClamp(v float32, lo, hi int) int {
	if v != v { // NaN
		return lo
	}
	return int(math.Round(math.Min(math.Max(float64(v), float64(lo)), float64(hi))))
}

// reset clears the host side; the worker must be idle (before it starts, or parked).
func (p *Instance) reset() {
	for c := range p.hist {
		clear(p.hist[c])
	}
	p.inPos, p.outPos, p.lat, p.first, p.planned, p.debt = 0, 0, 0, 0, 0, 0
	p.started, p.ahead = false, 0
	p.mode.Store(modeUndecided)
	p.latency.Store(0)
}

// Activate starts a new stream (LADSPA activate): the worker resets the model and both
// rings are emptied. It blocks until the worker has done so.
func (p *Instance) Activate() {
	ack := make(chan struct{})
	p.w.resetReq <- ack
	<-ack
	p.out.Discard(p.out.Len())
	p.reset()
}

// load opens model index and builds its pipeline; on failure it releases what it opened.
func (p *Instance) load(index int, atten float64, onEvent func(engine.RealtimeEvent)) (*pipeline, error) {
	procs, release, err := p.open(index, p.ch)
	if err != nil {
		return nil, err
	}
	if len(procs) != p.ch {
		err = fmt.Errorf("model opener returned %d processors for %d channels", len(procs), p.ch)
	}
	var pipe *pipeline
	if err == nil {
		pipe, err = newPipeline(procs, release, p.rate, atten, onEvent)
	}
	if err != nil {
		release.Close()
		return nil, err
	}
	p.modelLoads.Add(1)
	return pipe, nil
}

// Close stops the worker and releases the model.
func (p *Instance) Close() error {
	close(p.quit)
	<-p.done
	p.w.pipe.close()
	return nil
}

// Latency is the output's delay behind the input, in host frames: what Run returned last.
func (p *Instance) Latency() int { return int(p.latency.Load()) }

// Run reads n frames from in (one slice per channel) and writes n frames to out. in and
// out may be the same memory. It returns the latency to report. It never allocates, locks
// or waits, except in offline mode (see the package comment).
func (p *Instance) Run(in, out [][]float32, n int, ctl Controls) int {
	if ctl != p.ctl {
		p.ctl = ctl
		p.storeControls(ctl)
	}
	for off := 0; off < n; {
		k := min(maxChunk, n-off)
		p.chunk(in, out, off, k)
		off += k
	}
	return p.lat
}

func (p *Instance) chunk(in, out [][]float32, off, k int) {
	ch := p.ch
	if p.first == 0 {
		p.first = k
	}
	p.planned = max(p.planned, k)
	p.pace(k)
	// The latency: the pipeline's plus room for one block. It stays as set by the first
	// block unless the host is real time: sox reads it once, after the first block, and an
	// offline host needs no room (Run waits). A real-time host gets room for its largest
	// block.
	block := p.first
	if p.mode.Load() == modeRealtime {
		block = p.planned
	}
	if lat := min(int(p.alg.Load())+block, maxLatency); lat != p.lat {
		p.debt += int64(p.lat - lat) // more latency: hold frames back; less: drop some
		p.lat = lat
		p.latency.Store(int64(lat))
	}

	// Input: to the worker and to the history (read it all before writing any output: the
	// host may pass the same buffer for both). NaN, infinite and out-of-range samples go on
	// as 0 or ±1 (dsp/sanitize), so that one cannot poison the resamplers' and the model's
	// state for good; they are counted, not logged.
	replaced := 0
	for c := 0; c < ch; c++ {
		h, buf := p.hist[c], p.scratch[c][:k]
		for i, v := range in[c][off : off+k] {
			if !(v >= -1 && v <= 1) {
				v, _ = sanitize.Sample(v)
				replaced++
			}
			buf[i] = v
			h[(p.inPos+int64(i))&(histFrames-1)] = v
		}
		p.views[c] = buf
	}
	if replaced > 0 {
		p.replaced.Add(int64(replaced))
	}
	p.inPos += int64(k)
	if wrote := p.in.Write(p.views); wrote < k {
		p.lost.Add(int64(k - wrote))
		p.debt += int64(k - wrote) // the worker never sees these: skip their output
	}

	// Output: frames held back (the latency), then what the worker produced, then the
	// delayed input for what it has not.
	if p.mode.Load() == modeOffline {
		p.waitFor(k)
	}
	if p.debt > 0 {
		d := min(p.debt, int64(p.out.Len()))
		p.out.Discard(int(d))
		p.debt -= d
	}
	i := 0
	if p.debt < 0 {
		h := int(min(-p.debt, int64(k)))
		p.dry(out, off, 0, h)
		p.debt += int64(h)
		i = h
	}
	if r := min(p.out.Len(), k-i); r > 0 {
		for c := 0; c < ch; c++ {
			p.views[c] = out[c][off+i : off+i+r]
		}
		p.out.Read(p.views)
		i += r
	}
	if i < k {
		p.dry(out, off, i, k)
		p.debt += int64(k - i)
		p.fallback.Add(int64(k - i))
	}
	p.outPos += int64(k)
}

// dry writes the input delayed by the latency into out[c][off+from : off+to].
func (p *Instance) dry(out [][]float32, off, from, to int) {
	for c := 0; c < p.ch; c++ {
		h := p.hist[c]
		for j := from; j < to; j++ {
			src := p.outPos + int64(j) - int64(p.lat)
			v := float32(0)
			if src >= 0 {
				v = h[src&(histFrames-1)]
			}
			out[c][off+j] = v
		}
	}
}

// waitFor waits (offline mode only) until the output ring holds what this block needs.
func (p *Instance) waitFor(k int) {
	need := int64(k) + p.debt // frames to drop first, minus frames held back
	if need <= 0 {
		return
	}
	if int64(p.out.Len()) >= need {
		return
	}
	p.timer.Reset(offlineMax)
	defer p.timer.Stop()
	for int64(p.out.Len()) < need {
		select {
		case <-p.outReady:
		case <-p.timer.C:
			p.stalls.Add(1)
			return
		}
	}
}

// pace measures how far the host runs ahead of the wall clock and decides the mode. A
// real-time host delivers audio at its device's clock: after a stall it may catch up in a
// burst, but never gets more than about one block plus its scheduling jitter ahead of the
// wall clock since its first call (the slow leak forgives the device clock running up to
// 0.2% fast). An offline host gets further ahead with every call. The threshold allows a quarter of the pipeline's latency for jitter: an offline
// host reaches it while its output still comes from the initial latency (silence), so the
// switch costs nothing.
func (p *Instance) pace(k int) {
	p.calls.Add(1)
	if m := p.minBlock.Load(); m == 0 || int64(k) < m {
		p.minBlock.Store(int64(k))
	}
	p.maxBlock.Store(max(p.maxBlock.Load(), int64(k)))
	if !p.started {
		p.started, p.base, p.last = true, time.Now(), 0
	}
	now := time.Since(p.base)
	dt := (now - p.last).Seconds()
	p.ahead = math.Max(-maxBehind.Seconds(), p.ahead+float64(k)/float64(p.rate)-dt*(1+clockLeak))
	p.last = now
	if a := int64(p.ahead * 1e9); a > p.maxAhead.Load() {
		p.maxAhead.Store(a)
	}
	mode := p.mode.Load()
	if mode == modeOffline {
		// A real-time host taken for an offline one (a burst of cycles as its graph
		// started) keeps the clock's pace although Run waits: after half a second of audio
		// at 90% of real time or slower, it is real time again. An offline host waiting
		// for the model runs at the model's speed, far faster.
		audio := float64(p.inPos-p.offFrom) / float64(p.rate)
		if audio >= offlineCheck.Seconds() && (now-p.offAt).Seconds() >= offlinePace*audio {
			p.mode.Store(modeRealtime)
			p.decidedAt.Store(p.inPos)
		}
		return
	}
	// A real-time host's first call comes one block after its stream started, so it stays
	// about that block ahead of the clock. Until the mode is known the latency has room
	// for the first block only: the output is still inside it when an offline host crosses
	// this threshold. Once a host has been real time, it must get far ahead to count as
	// offline: a graph driven by a timer catches up late cycles in bursts, and a quantum
	// change adds a block.
	jitter := float64(p.alg.Load()) / float64(p.rate) / 4
	block := float64(p.first) / float64(p.rate)
	if mode == modeRealtime {
		block = float64(max(p.planned, k))/float64(p.rate) + rtToOffline.Seconds()
	}
	switch {
	case p.ahead > block+jitter:
		p.mode.Store(modeOffline)
		p.decidedAt.Store(p.inPos)
		p.offAt, p.offFrom = now, p.inPos
	case mode == modeUndecided && (now > decideRT || p.paced(now, jitter)):
		p.mode.Store(modeRealtime)
		p.decidedAt.Store(p.inPos)
	}
}

// paced reports positive evidence of a real-time host: it has delivered two first blocks
// and twice the jitter allowance, and that took at least half as long as the audio lasts.
// (An offline host crosses the offline threshold before it has delivered that much, unless
// it runs at less than twice real time.) Deciding early keeps a real-time host whose
// blocks grow soon after it starts (PipeWire changing the quantum) from being taken for
// an offline one.
func (p *Instance) paced(now time.Duration, jitter float64) bool {
	audio := float64(p.inPos) / float64(p.rate)
	return audio >= 2*float64(p.first)/float64(p.rate)+2*jitter && now.Seconds() >= audio/2
}

// Stats are an instance's counters, for the host's log.
type Stats struct {
	Mode          string
	Latency       int   // host frames
	Calls         int64 // Run chunks
	MinBlock      int64
	MaxBlock      int64
	FallbackFrame int64 // frames output as pass-through because the worker was late
	LostFrames    int64 // input frames dropped: the input ring was full
	Replaced      int64 // input samples that were NaN, infinite or beyond full scale, passed on as 0 or ±1
	Stalls        int64 // offline waits that timed out
	ModelLoads    int64
	MaxAhead      time.Duration // the most the host got ahead of the wall clock
	DecidedAt     int64         // input frames when the mode was decided
	ModelFrom     int64         // input frame where the model in use took over (a new stream from there)
	Engine        engine.RealtimeStats
	Errors        []error
}

// Stats returns the counters. Not for the audio thread.
func (p *Instance) Stats() Stats {
	mode := [...]string{"undecided", "real-time", "offline"}[p.mode.Load()]
	p.mu.Lock()
	errs := append([]error(nil), p.errs...)
	p.mu.Unlock()
	return Stats{Mode: mode, Latency: p.Latency(), Calls: p.calls.Load(), MinBlock: p.minBlock.Load(), MaxBlock: p.maxBlock.Load(),
		FallbackFrame: p.fallback.Load(), LostFrames: p.lost.Load(), Replaced: p.replaced.Load(), Stalls: p.stalls.Load(), ModelLoads: p.modelLoads.Load(),
		MaxAhead: time.Duration(p.maxAhead.Load()), DecidedAt: p.decidedAt.Load(), ModelFrom: p.modelFrom.Load(),
		Engine: p.w.stats(), Errors: errs}
}

func (p *Instance) fail(err error) {
	p.mu.Lock()
	if len(p.errs) < 8 {
		p.errs = append(p.errs, err)
	}
	p.mu.Unlock()
}
