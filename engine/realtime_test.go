package engine

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is advanced by fake processors by their simulated compute time.
type fakeClock struct{ t time.Duration }

func (c *fakeClock) now() time.Duration { return c.t }

// delayProc is a fake FrameProcessor whose output is its input delayed by lat samples, and
// whose compute time per frame is cost(frame, steps) on a fake clock.
type delayProc struct {
	rate, n, lat int
	steps, max   int
	clock        *fakeClock
	cost         func(frame, steps int) time.Duration
	fail         func(frame int) bool
	buf          []float32
	frame        int
	resets       int
}

func newDelayProc(clock *fakeClock, lat int, cost func(frame, steps int) time.Duration) *delayProc {
	return &delayProc{rate: 16000, n: 160, lat: lat, steps: 6, max: 6, clock: clock, cost: cost, buf: make([]float32, lat+160)}
}

func (p *delayProc) SampleRate() int { return p.rate }
func (p *delayProc) FrameSize() int  { return p.n }
func (p *delayProc) Latency() int    { return p.lat }
func (p *delayProc) Steps() int      { return p.steps }
func (p *delayProc) MaxSteps() int   { return p.max }
func (p *delayProc) SetSteps(n int) error {
	if n < 1 || n > p.max {
		return errors.New("bad steps")
	}
	p.steps = n
	return nil
}
func (p *delayProc) Reset() { clear(p.buf); p.resets++ }
func (p *delayProc) Process(out, in []float32) error {
	p.clock.t += p.cost(p.frame, p.steps)
	p.frame++
	if p.fail != nil && p.fail(p.frame-1) {
		return errors.New("model exploded")
	}
	copy(p.buf[p.lat:], in)
	copy(out, p.buf[:p.n])
	copy(p.buf, p.buf[p.n:])
	return nil
}

// perStep returns a cost function of load (fraction of a 10 ms frame) per step.
func perStep(load float64) func(int, int) time.Duration {
	return func(_, steps int) time.Duration {
		return time.Duration(load * float64(steps) * float64(10*time.Millisecond))
	}
}

// run feeds frames of a ramp through r and checks that every output sample is the input
// delayed by the latency: wet and dry paths agree for a delay processor, so any
// misalignment of bypass or a broken cross-fade shows up.
func run(t *testing.T, r *Realtime, frames int, each func(frame int)) {
	t.Helper()
	n, lat := r.FrameSize(), r.Latency()
	in := make([]float32, n)
	out := make([]float32, n)
	for f := 0; f < frames; f++ {
		if each != nil {
			each(f)
		}
		for i := range in {
			in[i] = float32(f*n + i + 1)
		}
		if err := r.Process(out, in); err != nil {
			t.Fatal(err)
		}
		for i, v := range out {
			want := float32(f*n + i + 1 - lat)
			if want < 0 {
				want = 0
			}
			if v != want && !(want <= float32(lat) && v == 0) {
				t.Fatalf("frame %d sample %d: got %v, want %v (stats %+v)", f, i, v, want, r.Stats())
			}
		}
	}
}

func collect(events *[]RealtimeEvent) func(RealtimeEvent) {
	return func(e RealtimeEvent) { *events = append(*events, e) }
}

func count(events []RealtimeEvent, k RealtimeEventKind) int {
	c := 0
	for _, e := range events {
		if e.Kind == k {
			c++
		}
	}
	return c
}

func TestRealtimeFastProcessorIsLeftAlone(t *testing.T) {
	clock := &fakeClock{}
	var events []RealtimeEvent
	r, err := NewRealtime(newDelayProc(clock, 80, perStep(0.05)), RealtimeConfig{Now: clock.now, OnEvent: collect(&events)})
	if err != nil {
		t.Fatal(err)
	}
	run(t, r, 1000, nil)
	s := r.Stats()
	if len(events) != 0 || s.StepChanges != 0 || s.BypassFrames != 0 || s.Steps != 6 {
		t.Fatalf("fast processor was touched: %v %+v", events, s)
	}
	if s.RTF < 0.29 || s.RTF > 0.31 || s.Latency != 5*time.Millisecond {
		t.Fatalf("RTF %v (want 0.3), latency %v (want 5ms)", s.RTF, s.Latency)
	}
}

func TestRealtimeLowersStepsBeforeBypassing(t *testing.T) {
	clock := &fakeClock{}
	var events []RealtimeEvent
	// 0.25 per step: 6 steps = 1.5× real time, 2 steps = 0.5.
	r, _ := NewRealtime(newDelayProc(clock, 80, perStep(0.25)), RealtimeConfig{Now: clock.now, OnEvent: collect(&events)})
	run(t, r, 1000, nil)
	s := r.Stats()
	if s.Steps < 1 || s.Steps > 3 || s.Bypassed || s.BypassEntries != 0 {
		t.Fatalf("want 1–3 steps and no bypass, got %+v (%v)", s, events)
	}
	if s.StepChanges == 0 || count(events, StepsDown) == 0 {
		t.Fatalf("no step change reported: %+v", s)
	}
	// Hysteresis: at the settled count one more step would be over LowLoad, so no
	// oscillation.
	if count(events, StepsUp) != 0 {
		t.Fatalf("steps oscillate: %v", events)
	}
	if s.Load > 0.8 {
		t.Fatalf("settled load %.2f still above the high mark", s.Load)
	}
}

func TestRealtimeBypassesHopelessProcessorAndStaysAligned(t *testing.T) {
	clock := &fakeClock{}
	var events []RealtimeEvent
	p := newDelayProc(clock, 240, perStep(2)) // 2× real time even at one step
	r, _ := NewRealtime(p, RealtimeConfig{Now: clock.now, OnEvent: collect(&events)})
	run(t, r, 3000, nil) // 30 s
	s := r.Stats()
	if !s.Bypassed || s.BypassEntries != 1 || s.TrialsFailed == 0 {
		t.Fatalf("want one bypass and failed trials, got %+v", s)
	}
	if s.BypassTime < 29*time.Second {
		t.Fatalf("bypass time %v, want nearly all of 30 s", s.BypassTime)
	}
	// Probe backoff: trials get rarer, so the total compute stays small.
	if s.RTF > 0.2 {
		t.Fatalf("RTF %.2f: trials cost too much", s.RTF)
	}
	// The steps went down before the bypass.
	if count(events, StepsDown) == 0 || events[len(events)-1].Kind != TrialFailed {
		t.Fatalf("events: %v", events)
	}
}

func TestRealtimeRecoversWhenTheLoadDrops(t *testing.T) {
	clock := &fakeClock{}
	var events []RealtimeEvent
	slow := true
	cost := func(_, steps int) time.Duration {
		if slow {
			return time.Duration(2 * float64(steps) * float64(10*time.Millisecond))
		}
		return time.Duration(0.05 * float64(steps) * float64(10*time.Millisecond))
	}
	p := newDelayProc(clock, 160, cost)
	r, _ := NewRealtime(p, RealtimeConfig{Now: clock.now, OnEvent: collect(&events)})
	run(t, r, 3000, func(f int) { slow = f < 500 }) // slow for 5 s, then fast for 25 s
	s := r.Stats()
	if s.Bypassed || s.Steps != 6 {
		t.Fatalf("did not recover to 6 steps: %+v\n%v", s, events)
	}
	if count(events, BypassOn) != 1 || count(events, BypassOff) != 1 || count(events, StepsUp) != 5 {
		t.Fatalf("events: %v", events)
	}
	if p.resets == 0 {
		t.Fatal("processor not reset before its trial")
	}
	if s.WetFrames+s.BypassFrames != s.Frames {
		t.Fatalf("frames do not add up: %+v", s)
	}
}

func TestRealtimeVariableLoadSpikes(t *testing.T) {
	clock := &fakeClock{}
	var events []RealtimeEvent
	// Mostly 0.3, one frame in 20 at 3× the frame period (a GC pause, a preemption).
	cost := func(frame, steps int) time.Duration {
		if frame%20 == 0 {
			return 30 * time.Millisecond
		}
		return time.Duration(0.05 * float64(steps) * float64(10*time.Millisecond))
	}
	r, _ := NewRealtime(newDelayProc(clock, 0, cost), RealtimeConfig{Now: clock.now, OnEvent: collect(&events)})
	run(t, r, 2000, nil)
	s := r.Stats()
	if s.BypassEntries != 0 {
		t.Fatalf("isolated spikes caused a bypass: %v", events)
	}
	if s.MaxLoad < 2.9 {
		t.Fatalf("max load %.2f, want the spikes (3.0) recorded", s.MaxLoad)
	}
}

func TestRealtimeBacklogForcesBypass(t *testing.T) {
	clock := &fakeClock{}
	var events []RealtimeEvent
	r, _ := NewRealtime(newDelayProc(clock, 0, perStep(0.2)), RealtimeConfig{Now: clock.now, OnEvent: collect(&events), Hold: time.Hour})
	run(t, r, 20, func(f int) {
		if f == 10 {
			r.SetBacklog(150 * time.Millisecond)
		}
	})
	if s := r.Stats(); s.Bypassed || s.StepChanges != 1 || s.Steps >= 6 {
		t.Fatalf("want an immediate step change despite Hold: %+v %v", s, events)
	}
	// At MinSteps a backlog means bypass at once.
	r, _ = NewRealtime(newDelayProc(clock, 0, perStep(1.2)), RealtimeConfig{Now: clock.now, Steps: 1, Hold: time.Hour})
	run(t, r, 5, func(f int) {
		if f == 3 {
			r.SetBacklog(150 * time.Millisecond)
		}
	})
	if s := r.Stats(); !s.Bypassed || s.BypassFrames != 1 {
		t.Fatalf("want a bypass on the frame after the backlog: %+v", s)
	}
}

func TestRealtimeProcessorErrors(t *testing.T) {
	clock := &fakeClock{}
	var events []RealtimeEvent
	p := newDelayProc(clock, 0, perStep(0.01))
	failing := false
	p.fail = func(int) bool { return failing }
	r, _ := NewRealtime(p, RealtimeConfig{Now: clock.now, OnEvent: collect(&events)})
	run(t, r, 1000, func(f int) { failing = f >= 100 && f < 110 })
	s := r.Stats()
	if s.Errors != 3 || s.BypassEntries != 1 || s.Bypassed {
		t.Fatalf("want 3 errors, one bypass, then recovery: %+v %v", s, events)
	}
}

func TestRealtimeSetStepsAndValidation(t *testing.T) {
	clock := &fakeClock{}
	p := newDelayProc(clock, 0, perStep(0.01))
	if _, err := NewRealtime(p, RealtimeConfig{Steps: 7}); err == nil {
		t.Fatal("steps above MaxSteps accepted")
	}
	if _, err := NewRealtime(p, RealtimeConfig{LowLoad: 0.9, HighLoad: 0.8}); err == nil {
		t.Fatal("low load above high load accepted")
	}
	r, err := NewRealtime(p, RealtimeConfig{Steps: 3, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	if p.steps != 3 || r.Steps() != 3 {
		t.Fatalf("steps %d/%d, want 3", p.steps, r.Steps())
	}
	if err := r.SetSteps(5); err != nil || p.steps != 5 {
		t.Fatalf("SetSteps(5): %v, processor at %d", err, p.steps)
	}
	if err := r.SetSteps(0); err == nil {
		t.Fatal("SetSteps(0) accepted")
	}
	if err := r.Process(make([]float32, 10), make([]float32, 160)); err == nil {
		t.Fatal("short frame accepted")
	}
}

func TestRealtimeProcessDoesNotAllocate(t *testing.T) {
	clock := &fakeClock{}
	r, _ := NewRealtime(newDelayProc(clock, 80, perStep(0.3)), RealtimeConfig{Now: clock.now})
	in := make([]float32, 160)
	out := make([]float32, 160)
	if a := testing.AllocsPerRun(2000, func() { _ = r.Process(out, in) }); a != 0 {
		t.Fatalf("%v allocations per frame", a)
	}
}

// Stats may be read from another goroutine while Process runs (the race detector checks
// the locking): every snapshot is whole, its counts never go back, and the last one counts
// every frame.
func TestRealtimeStatsFromAnotherGoroutine(t *testing.T) {
	clock := &fakeClock{}
	r, err := NewRealtime(newDelayProc(clock, 80, perStep(0.3)), RealtimeConfig{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	const frames = 500
	var wg sync.WaitGroup
	done := make(chan struct{})
	var reads int
	var bad []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last RealtimeStats
		for {
			select {
			case <-done:
				return
			default:
			}
			s := r.Stats()
			reads++
			switch {
			case s.Frames < last.Frames || s.Frames > frames:
				bad = append(bad, fmt.Sprintf("frames %d after %d", s.Frames, last.Frames))
			case s.WetFrames+s.BypassFrames != s.Frames:
				bad = append(bad, fmt.Sprintf("wet %d + bypass %d frames of %d", s.WetFrames, s.BypassFrames, s.Frames))
			}
			last = s
		}
	}()
	run(t, r, frames, nil)
	close(done)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d of %d snapshots inconsistent, first: %s", len(bad), reads, bad[0])
	}
	if s := r.Stats(); s.Frames != frames || s.WetFrames+s.BypassFrames != frames {
		t.Errorf("after %d frames: %+v", frames, s)
	}
}

// The controller decides on a high percentile of the per-frame compute time, not the mean
// (issue 15): one frame in eight at twice the usual cost keeps the mean under the high
// mark, but those frames overrun the deadline and empty the output buffer. It must lower
// the steps, and must not raise them again while the slow frames go on.
func TestRealtimeDecidesOnThePercentile(t *testing.T) {
	clock := &fakeClock{}
	var events []RealtimeEvent
	cost := func(frame, steps int) time.Duration {
		load := 0.1 * float64(steps) // 6 steps: 0.6 of the frame period
		if frame%8 == 0 {
			load *= 2 // 1.2: over the deadline
		}
		return time.Duration(load * float64(10*time.Millisecond))
	}
	r, _ := NewRealtime(newDelayProc(clock, 0, cost), RealtimeConfig{Now: clock.now, OnEvent: collect(&events)})
	run(t, r, 3000, nil) // 30 s
	s := r.Stats()
	if count(events, StepsDown) == 0 || s.Steps >= 6 {
		t.Fatalf("steps not lowered although 1 frame in 8 overruns: %+v %v", s, events)
	}
	if s.Bypassed || s.BypassEntries != 0 {
		t.Fatalf("bypassed although fewer steps suffice: %+v %v", s, events)
	}
	if count(events, StepsUp) != 0 {
		t.Fatalf("steps raised while the slow frames go on: %v", events)
	}
	if s.P99Load > 0.8 || s.P99Load == 0 {
		t.Fatalf("settled p99 load %.2f, want in (0, 0.8]", s.P99Load)
	}
}

// Steps go up only after a sustained margin: a short quiet spell inside a loaded period
// is not enough.
func TestRealtimeStepsUpOnlyAfterSustainedMargin(t *testing.T) {
	clock := &fakeClock{}
	var events []RealtimeEvent
	heavy := true
	cost := func(_, steps int) time.Duration {
		load := 0.05 * float64(steps)
		if heavy {
			load = 0.3 * float64(steps)
		}
		return time.Duration(load * float64(10*time.Millisecond))
	}
	r, _ := NewRealtime(newDelayProc(clock, 0, cost), RealtimeConfig{Now: clock.now, OnEvent: collect(&events)})
	// Heavy for 5 s, quiet for 3 s, heavy for 4 s, then quiet.
	run(t, r, 1200, func(f int) { heavy = f < 500 || (f >= 800 && f < 1200) })
	if n := count(events, StepsUp); n != 0 {
		t.Fatalf("steps raised after only 3 s of margin: %v", events)
	}
	// Then one step per Hold + Recover (4.2 s): from 2 to 6 in about 17 s.
	run(t, r, 2000, func(int) { heavy = false })
	if s := r.Stats(); s.Steps != 6 {
		t.Fatalf("steps not back to 6 after 20 s of margin: %+v %v", s, events)
	}
}
