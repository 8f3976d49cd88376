package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/restoregrad/restoregrad/models"
)

// RealtimeConfig tunes a Realtime. The zero value gives the defaults noted on each field.
type RealtimeConfig struct {
	// Steps is the number of reverse steps to run while the processor keeps up
	// (0: the processor's Steps() at construction).
	Steps int
	// MinSteps is the fewest steps tried before bypassing (0: 1).
	MinSteps int
	// Percentile of the per-frame compute times the controller decides on (0: 0.95). A
	// mean hides the slow frames that empty the output buffer; the maximum reacts to
	// every preemption.
	Percentile float64
	// HighLoad: when that percentile of the compute time per frame, over the frames since
	// the last change (at most Window), exceeds this fraction of the frame period, lower
	// the steps, or bypass when already at MinSteps (0: 0.8).
	HighLoad float64
	// LowLoad: raise the steps again only when the percentile predicted at one more step
	// stays below this fraction over a whole Recover window (0: 0.5). Must be below
	// HighLoad.
	LowLoad float64
	// Window is how many recent frames the percentile is taken over (0: 2 s).
	Window time.Duration
	// Hold is the least time between two step changes, so each change is measured (0: 200 ms).
	Hold time.Duration
	// Recover is how long the load must leave room before the steps go up by one (0: 4 s).
	Recover time.Duration
	// Probe is how long a bypass lasts before a trial of the processor (0: 1 s). After a
	// failed trial it doubles, up to 30 s.
	Probe time.Duration
	// Trial is how long the processor runs, with its output discarded, before it takes over
	// again from bypass (0: 200 ms, at least its latency plus one frame).
	Trial time.Duration
	// MaxBacklog: when the caller reports more waiting input than this (SetBacklog) while the
	// load is above HighLoad, lower the steps at once without waiting for Hold; at MinSteps,
	// or beyond twice this backlog, bypass at once (0: 100 ms).
	MaxBacklog time.Duration
	// Fade is the cross-fade length between processed and dry audio (0: 10 ms; at most one
	// frame).
	Fade time.Duration
	// Now is a monotonic clock for measuring compute time (nil: the real clock). Tests
	// inject a fake one.
	Now func() time.Duration
	// OnEvent, if set, is called from Process's goroutine for every change of state.
	OnEvent func(RealtimeEvent)
}

// RealtimeEventKind says what changed.
type RealtimeEventKind int

// The changes a Realtime reports.
const (
	StepsDown    RealtimeEventKind = iota // steps lowered because the load was too high
	StepsUp                               // steps raised because the load left room
	BypassOn                              // cross-faded to the dry signal
	TrialStart                            // started running the processor again in the background
	TrialFailed                           // the trial was too slow; stay bypassed
	BypassOff                             // cross-faded back to the processed signal
	ProcessError                          // the processor returned an error; the frame is dry
)

func (k RealtimeEventKind) String() string {
	switch k {
	case StepsDown:
		return "steps-down"
	case StepsUp:
		return "steps-up"
	case BypassOn:
		return "bypass-on"
	case TrialStart:
		return "trial-start"
	case TrialFailed:
		return "trial-failed"
	case BypassOff:
		return "bypass-off"
	case ProcessError:
		return "process-error"
	}
	return fmt.Sprintf("RealtimeEventKind(%d)", int(k))
}

// RealtimeEvent is one change of state.
type RealtimeEvent struct {
	Kind RealtimeEventKind
	// At is the stream position of the frame where it happened (audio time, not wall time).
	At time.Duration
	// Steps before and after (equal for events that do not change them).
	From, To int
	// Load is the smoothed compute time per frame over the frame period at that moment.
	Load float64
	Err  error // for ProcessError
}

func (e RealtimeEvent) String() string {
	s := fmt.Sprintf("%s at %.2fs: steps %d→%d, load %.2f", e.Kind, e.At.Seconds(), e.From, e.To, e.Load)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// RealtimeStats is a snapshot of a Realtime's counters. In JSON every key is snake_case
// and every duration is in milliseconds (see MarshalJSON).
type RealtimeStats struct {
	Frames        int64         `json:"frames"`         // frames through Process
	WetFrames     int64         `json:"wet_frames"`     // frames whose output is the processor's (fades included)
	BypassFrames  int64         `json:"bypass_frames"`  // frames output dry (trial frames included)
	StepChanges   int64         `json:"step_changes"`   // SetSteps calls made by the controller
	BypassEntries int64         `json:"bypass_entries"` // times bypass was entered
	TrialsFailed  int64         `json:"trials_failed"`  // trials that found the processor still too slow
	Errors        int64         `json:"errors"`         // frames where the processor returned an error
	BypassTime    time.Duration `json:"-"`              // audio time output dry
	Steps         int           `json:"steps"`          // steps now in use
	Bypassed      bool          `json:"bypassed"`       // output is dry now
	Load          float64       `json:"load"`           // smoothed compute time per frame / frame period
	P99Load       float64       `json:"p99_load"`       // 99th percentile of the recent per-frame loads
	MaxLoad       float64       `json:"max_load"`       // the highest single-frame load seen
	RTF           float64       `json:"rtf"`            // total compute time / total audio time processed
	ComputeTime   time.Duration `json:"-"`              // total time inside the processor
	Latency       time.Duration `json:"-"`              // algorithmic latency (the processor's Latency)
}

// MarshalJSON writes the durations in milliseconds, under keys ending in _ms.
func (s RealtimeStats) MarshalJSON() ([]byte, error) {
	type plain RealtimeStats // the same fields without this method
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return json.Marshal(struct {
		plain
		BypassTime  float64 `json:"bypass_ms"`
		ComputeTime float64 `json:"compute_ms"`
		Latency     float64 `json:"latency_ms"`
	}{plain(s), ms(s.BypassTime), ms(s.ComputeTime), ms(s.Latency)})
}

type rtMode int

const (
	modeWet    rtMode = iota // processor output
	modeBypass               // dry output, processor idle
	modeTrial                // dry output, processor running to measure it
)

// FrameProcessor is what Realtime and Limited wrap, and what they are: the runtime's
// models.FrameProcessor (what models.Runner.Frames returns), whose doc comment holds the
// contract. Producers (streaming.Processor, models.BlockProcessor) say whether their
// Process allocates.
type FrameProcessor = models.FrameProcessor

// Realtime wraps a FrameProcessor for live use: it measures the compute time of every frame
// against the frame period and, when the processor falls behind, first lowers its step
// count, then bypasses it with a short cross-fade to the dry input delayed by the
// processor's latency (so bypass stays time-aligned), and later tries to recover
// (hysteresis: the steps go back up only when the predicted load leaves room for a while;
// a bypass ends only after a trial run of the processor proves fast enough). Every change
// is counted in Stats and reported to OnEvent.
//
// Several channels (NewRealtimeChannels, ProcessChannels) run under one controller: their
// compute times add up against one frame period, and they always run the same steps and
// bypass together.
//
// A one-channel Realtime is itself a FrameProcessor with the same rate, frame size and
// latency. Process, ProcessChannels, SetBacklog, SetSteps and Reset belong to one goroutine
// (the worker); Stats may be called from any goroutine. Processing allocates nothing
// beyond what the wrapped processors' does.
type Realtime struct {
	p   Channels
	cfg RealtimeConfig

	n, lat     int
	frameDur   time.Duration
	window     loadWindow
	holdFrames int
	recFrames  int
	probeBase  int
	trialLen   int
	fadeLen    int

	wet     [][]float32 // per channel
	dryBuf  [][]float32 // per channel: delay line (lat samples) followed by the newest frame
	fadeWin []float32   // rising half-cosine, fadeLen samples
	in1     [][]float32 // Process's one channel, without allocating
	out1    [][]float32

	mode        rtMode
	target      int // steps wanted when keeping up
	steps       int // steps set on the processor
	sinceChange int // frames since the last step change or mode change
	probeFrames int // frames of bypass before the next trial
	modeFrames  int // frames in the current mode
	trialSum    float64
	errRun      int
	backlog     time.Duration
	ewma        float64

	mu    sync.Mutex
	stats RealtimeStats
}

// NewRealtime wraps p. It sets p's steps to cfg.Steps.
func NewRealtime(p FrameProcessor, cfg RealtimeConfig) (*Realtime, error) {
	return NewRealtimeChannels([]FrameProcessor{p}, cfg)
}

// NewRealtimeChannels wraps one processor per channel under one controller (see Realtime).
// The processors must agree on rate, frame size and latency. It sets their steps to
// cfg.Steps (0: the first one's Steps()).
func NewRealtimeChannels(ps []FrameProcessor, cfg RealtimeConfig) (*Realtime, error) {
	p, err := NewChannels(ps)
	if err != nil {
		return nil, fmt.Errorf("realtime: %w", err)
	}
	rate, n, lat := p.SampleRate(), p.FrameSize(), p.Latency()
	if rate <= 0 || n <= 0 || lat < 0 {
		return nil, fmt.Errorf("realtime: processor reports rate %d, frame %d, latency %d", rate, n, lat)
	}
	if cfg.Steps == 0 {
		cfg.Steps = p.Steps()
	}
	if cfg.MinSteps == 0 {
		cfg.MinSteps = 1
	}
	if cfg.Steps < 1 || cfg.Steps > p.MaxSteps() || cfg.MinSteps < 1 || cfg.MinSteps > cfg.Steps {
		return nil, fmt.Errorf("realtime: steps %d, min steps %d: want 1 ≤ min ≤ steps ≤ %d", cfg.Steps, cfg.MinSteps, p.MaxSteps())
	}
	if cfg.HighLoad == 0 {
		cfg.HighLoad = 0.8
	}
	if cfg.Percentile == 0 {
		cfg.Percentile = 0.95
	}
	if !(cfg.Percentile > 0 && cfg.Percentile <= 1) {
		return nil, fmt.Errorf("realtime: percentile %g outside (0, 1]", cfg.Percentile)
	}
	if cfg.LowLoad == 0 {
		cfg.LowLoad = 0.5
	}
	if !(cfg.LowLoad > 0 && cfg.LowLoad < cfg.HighLoad) {
		return nil, fmt.Errorf("realtime: want 0 < low load %g < high load %g", cfg.LowLoad, cfg.HighLoad)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.Hold, 200*time.Millisecond)
	def(&cfg.Recover, 4*time.Second)
	def(&cfg.Window, 2*time.Second)
	def(&cfg.Probe, time.Second)
	def(&cfg.Trial, 200*time.Millisecond)
	def(&cfg.MaxBacklog, 100*time.Millisecond)
	def(&cfg.Fade, 10*time.Millisecond)
	if cfg.Now == nil {
		base := time.Now()
		cfg.Now = func() time.Duration { return time.Since(base) }
	}
	r := &Realtime{p: p, cfg: cfg, n: n, lat: lat}
	r.frameDur = time.Duration(float64(n) / float64(rate) * float64(time.Second))
	frames := func(d time.Duration) int { return max(1, int(math.Ceil(float64(d)/float64(r.frameDur)))) }
	r.holdFrames = frames(cfg.Hold)
	r.recFrames = frames(cfg.Recover)
	r.probeBase = frames(cfg.Probe)
	r.trialLen = max(frames(cfg.Trial), (lat+n-1)/n+1)
	r.fadeLen = min(n, max(1, int(cfg.Fade.Seconds()*float64(rate))))
	r.window.ring = make([]uint16, max(frames(cfg.Window), frames(cfg.Recover)))
	for range p {
		r.wet = append(r.wet, make([]float32, n))
		r.dryBuf = append(r.dryBuf, make([]float32, lat+n))
	}
	r.in1, r.out1 = make([][]float32, 1), make([][]float32, 1)
	r.fadeWin = make([]float32, r.fadeLen)
	for i := range r.fadeWin {
		r.fadeWin[i] = float32(0.5 - 0.5*math.Cos(math.Pi*(float64(i)+0.5)/float64(r.fadeLen)))
	}
	if err := p.SetSteps(cfg.Steps); err != nil {
		return nil, fmt.Errorf("realtime: set steps %d: %w", cfg.Steps, err)
	}
	r.target, r.steps = cfg.Steps, cfg.Steps
	r.probeFrames = r.probeBase
	r.stats.Steps = r.steps
	r.stats.Latency = time.Duration(float64(lat) / float64(rate) * float64(time.Second))
	return r, nil
}

// Channels is the number of channels, one processor each.
func (r *Realtime) Channels() int { return len(r.p) }

// SampleRate is the processor's rate.
func (r *Realtime) SampleRate() int { return r.p.SampleRate() }

// FrameSize is the processor's frame size.
func (r *Realtime) FrameSize() int { return r.n }

// Latency is the processor's latency; the dry path is delayed by the same amount.
func (r *Realtime) Latency() int { return r.lat }

// Steps is the step count in use now (it may be below the one asked for while overloaded).
func (r *Realtime) Steps() int { return r.steps }

// MaxSteps is the processor's.
func (r *Realtime) MaxSteps() int { return r.p.MaxSteps() }

// SetSteps sets the step count wanted while the processor keeps up; the controller may
// still run fewer.
func (r *Realtime) SetSteps(n int) error {
	if n < r.cfg.MinSteps || n > r.p.MaxSteps() {
		return fmt.Errorf("realtime: steps %d out of range [%d, %d]", n, r.cfg.MinSteps, r.p.MaxSteps())
	}
	r.target = n
	if r.mode == modeWet && n != r.steps {
		if err := r.p.SetSteps(n); err != nil {
			return err
		}
		r.steps = n
		r.sinceChange = 0
		r.mu.Lock()
		r.stats.Steps = n
		r.mu.Unlock()
	}
	return nil
}

// SetBacklog tells the controller how much input is waiting behind the next frame. A
// growing backlog while the load is high makes it bypass at once.
func (r *Realtime) SetBacklog(d time.Duration) { r.backlog = d }

// Reset forgets the stream state of the processor and of the dry delay line. Counters
// and the controller's state are kept.
func (r *Realtime) Reset() {
	r.p.Reset()
	for _, d := range r.dryBuf {
		clear(d)
	}
}

// Warm runs the processor on frames of silence, uncounted and unmeasured, and resets it:
// the first runs of a model are slow (memory, caches, lazy initialisation), and spent
// before the devices start they cannot make the output late.
func (r *Realtime) Warm(frames int) error {
	zeros := make([]float32, r.n)
	for range frames {
		for c, p := range r.p {
			if err := p.Process(r.wet[c], zeros); err != nil {
				return err
			}
		}
	}
	r.Reset()
	return nil
}

// Stats returns a snapshot of the counters. Safe from any goroutine.
func (r *Realtime) Stats() RealtimeStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Process denoises one frame of a one-channel Realtime, or passes it through delayed
// while bypassed.
func (r *Realtime) Process(out, in []float32) error {
	r.in1[0], r.out1[0] = in, out
	err := r.ProcessChannels(r.out1, r.in1)
	r.in1[0], r.out1[0] = nil, nil
	return err
}

// ProcessChannels denoises one frame of every channel (in[c] and out[c] hold FrameSize
// samples each), or passes them through delayed while bypassed.
func (r *Realtime) ProcessChannels(out, in [][]float32) error {
	if len(in) != len(r.p) || len(out) != len(r.p) {
		return fmt.Errorf("realtime: %d channels in, %d out, want %d", len(in), len(out), len(r.p))
	}
	for c := range in {
		if len(in[c]) != r.n || len(out[c]) != r.n {
			return fmt.Errorf("realtime: frame of %d in, %d out, want %d", len(in[c]), len(out[c]), r.n)
		}
		// Dry path: the input delayed by the processor's latency.
		copy(r.dryBuf[c][r.lat:], in[c])
	}

	var load float64
	var perr error
	ran := r.mode != modeBypass
	if ran {
		t0 := r.cfg.Now()
		perr = r.p.ProcessChannels(r.wet, in)
		dt := r.cfg.Now() - t0
		load = float64(dt) / float64(r.frameDur)
		r.mu.Lock()
		r.stats.ComputeTime += dt
		r.mu.Unlock()
	}
	at := time.Duration(r.stats.Frames) * r.frameDur
	wasWet := r.mode == modeWet
	fadeOut, fadeIn := false, false

	switch r.mode {
	case modeWet:
		if perr != nil {
			r.errRun++
			r.emit(RealtimeEvent{Kind: ProcessError, At: at, From: r.steps, To: r.steps, Load: r.ewma, Err: perr})
			r.countErr()
			if r.errRun >= 3 {
				r.enterBypass(at)
			}
			wasWet = false // the frame is dry, no fade possible
			break
		}
		r.errRun = 0
		r.smooth(load)
		r.window.add(load)
		r.sinceChange++
		fadeOut = r.control(at, load)
	case modeBypass:
		r.modeFrames++
		if r.modeFrames >= r.probeFrames {
			r.mode, r.modeFrames, r.trialSum = modeTrial, 0, 0
			r.p.Reset()
			if r.steps != r.cfg.MinSteps {
				r.setSteps(r.cfg.MinSteps)
			}
			r.emit(RealtimeEvent{Kind: TrialStart, At: at, From: r.steps, To: r.steps, Load: r.ewma})
		}
	case modeTrial:
		r.modeFrames++
		if perr != nil {
			r.countErr()
			r.emit(RealtimeEvent{Kind: ProcessError, At: at, From: r.steps, To: r.steps, Load: load, Err: perr})
			r.failTrial(at, load)
			break
		}
		r.trialSum += load
		if load > 1 {
			r.failTrial(at, load)
			break
		}
		if r.modeFrames >= r.trialLen {
			mean := r.trialSum / float64(r.modeFrames)
			if mean > r.cfg.HighLoad*0.9 {
				r.failTrial(at, mean)
				break
			}
			r.mode, r.sinceChange, r.ewma = modeWet, 0, mean
			r.window.reset()
			r.probeFrames = r.probeBase
			fadeIn = true
			r.emit(RealtimeEvent{Kind: BypassOff, At: at, From: r.steps, To: r.steps, Load: mean})
		}
	}

	for c, o := range out {
		wet, dry := r.wet[c], r.dryBuf[c][:r.n]
		switch {
		case fadeOut: // processed → dry over the end of this frame
			k := r.n - r.fadeLen
			copy(o[:k], wet[:k])
			for i, g := range r.fadeWin {
				o[k+i] = wet[k+i] + g*(dry[k+i]-wet[k+i])
			}
		case fadeIn: // dry → processed over the end of this frame
			k := r.n - r.fadeLen
			copy(o[:k], dry[:k])
			for i, g := range r.fadeWin {
				o[k+i] = dry[k+i] + g*(wet[k+i]-dry[k+i])
			}
		case wasWet:
			copy(o, wet)
		default:
			copy(o, dry)
		}
		// Shift the delay line by one frame.
		copy(r.dryBuf[c], r.dryBuf[c][r.n:])
	}

	r.mu.Lock()
	s := &r.stats
	s.Frames++
	if wasWet || fadeIn {
		s.WetFrames++
	} else {
		s.BypassFrames++
		s.BypassTime += r.frameDur
	}
	if ran && perr == nil {
		s.MaxLoad = max(s.MaxLoad, load)
	}
	s.Load = r.ewma
	s.P99Load = r.window.quantile(0.99)
	s.Steps = r.steps
	s.Bypassed = r.mode != modeWet
	s.RTF = float64(s.ComputeTime) / (float64(s.Frames) * float64(r.frameDur))
	r.mu.Unlock()
	return nil
}

// smooth folds one frame's load into the moving average (about 8 frames).
func (r *Realtime) smooth(load float64) {
	if r.sinceChange == 0 && r.ewma == 0 {
		r.ewma = load
		return
	}
	r.ewma += (load - r.ewma) / 8
}

// control decides, after a processed frame, whether to change the steps or bypass. It
// reports whether this frame fades out to dry. It decides on a high percentile of the
// per-frame compute time since the last change (at least Hold of frames, at most Window),
// and on the backlog the caller reports.
func (r *Realtime) control(at time.Duration, load float64) bool {
	pct := r.window.quantile(r.cfg.Percentile)
	measured := r.window.n >= r.holdFrames
	over := measured && pct > r.cfg.HighLoad
	// Falling behind (input piling up while frames take longer than they last) cannot wait
	// for a percentile.
	behind := r.backlog > r.cfg.MaxBacklog && (load > 1 || r.ewma > r.cfg.HighLoad || over)
	if behind && (r.steps <= r.cfg.MinSteps || r.backlog > 2*r.cfg.MaxBacklog) {
		r.enterBypass(at)
		return true
	}
	if over || behind {
		if r.steps <= r.cfg.MinSteps {
			r.enterBypass(at)
			return true
		}
		// Aim between the thresholds, assuming the cost is proportional to the steps.
		aim := (r.cfg.HighLoad + r.cfg.LowLoad) / 2
		next := r.steps - 1
		if pct > 0 {
			next = int(math.Floor(float64(r.steps) * aim / max(pct, r.ewma)))
		}
		next = min(max(next, r.cfg.MinSteps), r.steps-1)
		from := r.steps
		if !r.setSteps(next) {
			r.enterBypass(at)
			return true
		}
		r.ewma *= float64(next) / float64(from)
		r.emit(RealtimeEvent{Kind: StepsDown, At: at, From: from, To: next, Load: pct})
		return false
	}
	// Step up only after a sustained margin: the percentile over a whole Recover window,
	// scaled to one more step, below LowLoad.
	if r.steps < r.target && r.sinceChange >= r.holdFrames+r.recFrames && r.window.n >= r.recFrames {
		pred := r.window.quantileOver(r.cfg.Percentile, r.recFrames) * float64(r.steps+1) / float64(r.steps)
		if pred < r.cfg.LowLoad {
			from := r.steps
			if r.setSteps(from + 1) {
				r.ewma *= float64(from+1) / float64(from)
				r.emit(RealtimeEvent{Kind: StepsUp, At: at, From: from, To: from + 1, Load: pred})
			}
		}
	}
	return false
}

// setSteps changes the processor's steps and counts it; false if the processor refused.
func (r *Realtime) setSteps(n int) bool {
	if err := r.p.SetSteps(n); err != nil {
		r.countErr()
		return false
	}
	r.steps = n
	r.sinceChange = 0
	r.window.reset() // the loads at the old step count no longer apply
	r.mu.Lock()
	r.stats.StepChanges++
	r.stats.Steps = n
	r.mu.Unlock()
	return true
}

func (r *Realtime) enterBypass(at time.Duration) {
	r.mode, r.modeFrames = modeBypass, 0
	r.errRun = 0
	r.mu.Lock()
	r.stats.BypassEntries++
	r.mu.Unlock()
	r.emit(RealtimeEvent{Kind: BypassOn, At: at, From: r.steps, To: r.steps, Load: r.ewma})
}

func (r *Realtime) failTrial(at time.Duration, load float64) {
	r.mode, r.modeFrames = modeBypass, 0
	r.probeFrames = min(2*r.probeFrames, max(r.probeBase, int(30*time.Second/r.frameDur)))
	r.mu.Lock()
	r.stats.TrialsFailed++
	r.mu.Unlock()
	r.emit(RealtimeEvent{Kind: TrialFailed, At: at, From: r.steps, To: r.steps, Load: load})
}

func (r *Realtime) countErr() {
	r.mu.Lock()
	r.stats.Errors++
	r.mu.Unlock()
}

func (r *Realtime) emit(e RealtimeEvent) {
	if r.cfg.OnEvent != nil {
		r.cfg.OnEvent(e)
	}
}

var _ FrameProcessor = (*Realtime)(nil)

// loadWindow holds the per-frame loads of the last len(ring) frames as a histogram, so
// that percentiles cost a scan of the bins, with no sorting and no allocation.
type loadWindow struct {
	ring []uint16 // the bin of each frame, circular
	pos  int      // where the next frame goes
	n    int      // frames held
	bins [loadBins]int32
}

// Loads are binned in steps of 1/loadBinsPerUnit of the frame period up to the last bin,
// which holds everything from loadBins/loadBinsPerUnit (4 frame periods) on.
const (
	loadBins        = 512
	loadBinsPerUnit = 128
)

func (w *loadWindow) add(load float64) {
	b := min(loadBins-1, max(0, int(load*loadBinsPerUnit)))
	if w.n == len(w.ring) {
		w.bins[w.ring[w.pos]]--
	} else {
		w.n++
	}
	w.ring[w.pos] = uint16(b)
	w.bins[b]++
	w.pos = (w.pos + 1) % len(w.ring)
}

func (w *loadWindow) reset() {
	w.pos, w.n = 0, 0
	clear(w.bins[:])
}

// quantile is the q-quantile of the loads held (the upper edge of its bin), 0 when empty.
func (w *loadWindow) quantile(q float64) float64 {
	if w.n == 0 {
		return 0
	}
	need := int32(math.Ceil(q * float64(w.n)))
	var c int32
	for b, k := range w.bins {
		if c += k; c >= max(need, 1) {
			return float64(b+1) / loadBinsPerUnit
		}
	}
	return float64(loadBins) / loadBinsPerUnit
}

// quantileOver is the q-quantile of the newest frames only (at most n of them). It
// scans the ring, so it is for the rare step-up decision.
func (w *loadWindow) quantileOver(q float64, frames int) float64 {
	if frames >= w.n {
		return w.quantile(q)
	}
	var bins [loadBins]int32
	for i := 1; i <= frames; i++ {
		bins[w.ring[(w.pos-i+len(w.ring))%len(w.ring)]]++
	}
	need := int32(math.Ceil(q * float64(frames)))
	var c int32
	for b, k := range bins {
		if c += k; c >= max(need, 1) {
			return float64(b+1) / loadBinsPerUnit
		}
	}
	return float64(loadBins) / loadBinsPerUnit
}
