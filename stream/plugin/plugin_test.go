package plugin

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/dsp/resample"
	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/zoo"
)

// fir is a fake streaming model at 16 kHz: out = 0.5·u[t] + 0.3·u[t−3]·steps/2, delivered
// lat samples late in frames of n, like an STFT model (n_fft−hop of latency). cost, when
// set, is slept per frame and step.
type fir struct {
	n, lat, steps, maxSteps int
	cost                    time.Duration
	hist                    []float32 // lat+3 samples of past, then the frame
	out                     []float32
	closes                  int // times its opener's closer released it
}

func newFIR(n, lat int) *fir {
	return &fir{n: n, lat: lat, steps: 2, maxSteps: 8, hist: make([]float32, lat+3+n), out: make([]float32, lat+n)}
}

func (m *fir) SampleRate() int { return 16000 }
func (m *fir) FrameSize() int  { return m.n }
func (m *fir) Latency() int    { return m.lat }
func (m *fir) Steps() int      { return m.steps }
func (m *fir) MaxSteps() int   { return m.maxSteps }
func (m *fir) Reset()          { clear(m.hist); clear(m.out) }
func (m *fir) SetSteps(n int) error {
	if n < 1 || n > m.maxSteps {
		return errors.New("steps out of range")
	}
	m.steps = n
	return nil
}

func (m *fir) Process(out, in []float32) error {
	if m.cost > 0 {
		time.Sleep(time.Duration(m.steps) * m.cost)
	}
	h := m.hist
	copy(h[len(h)-m.n:], in)
	k := float32(m.steps) / 2
	// Output for the newest frame goes to the end of m.out; the oldest frame leaves.
	base := len(h) - m.n
	for i := 0; i < m.n; i++ {
		m.out[m.lat+i] = 0.5*h[base+i] + 0.3*k*h[base+i-3]
	}
	copy(out, m.out[:m.n])
	copy(m.out, m.out[m.n:])
	copy(h, h[m.n:])
	return nil
}

// firs are the channels of one opened fake model; Close releases them all.
type firs []*fir

func (fs firs) Close() error {
	for _, f := range fs {
		f.closes++
	}
	return nil
}

func (fs firs) procs() []engine.FrameProcessor {
	ps := make([]engine.FrameProcessor, len(fs))
	for c, f := range fs {
		ps[c] = f
	}
	return ps
}

func firOpener(n, lat int, cost time.Duration) Opener {
	return func(index, channels int) ([]engine.FrameProcessor, io.Closer, error) {
		if index != 0 {
			return nil, nil, fmt.Errorf("no model %d", index)
		}
		fs := make(firs, channels)
		for c := range fs {
			fs[c] = newFIR(n, lat)
			fs[c].cost = cost
		}
		return fs.procs(), fs, nil
	}
}

// aligned resamples x from in to out Hz with the filter delay removed, as `enhance` does.
func aligned(t *testing.T, x []float32, in, out int) []float32 {
	if in == out {
		return append([]float32(nil), x...)
	}
	r, err := resample.New(in, out)
	if err != nil {
		t.Fatal(err)
	}
	y := r.Process(nil, x)
	y = r.Flush(y)
	return y[int(r.Delay()):]
}

// reference is what the plugin must output (before its latency): the host signal taken to
// 16 kHz, through the FIR with the attenuation limit, and back.
func reference(t *testing.T, x []float32, rate, steps int, db float64) []float32 {
	u := aligned(t, x, rate, 16000)
	g, err := engine.AttenuationGain(db)
	if err != nil {
		t.Fatal(err)
	}
	k := float32(steps) / 2
	f := make([]float32, len(u))
	for i := range u {
		v := 0.5 * u[i]
		if i >= 3 {
			v += 0.3 * k * u[i-3]
		}
		f[i] = v + g*(u[i]-v)
	}
	return aligned(t, f, 16000, rate)
}

func testSignal(n, rate int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		tm := float64(i) / float64(rate)
		x[i] = float32(0.4*math.Sin(2*math.Pi*440*tm)+0.2*math.Sin(2*math.Pi*1234.5*tm)) + float32(0.05*r.NormFloat64())
	}
	return x
}

// drive runs a host over x (one slice per channel) in the given block sizes (cycled),
// optionally at real-time pace, and returns the output and the latency reported.
func drive(t *testing.T, p *Instance, x [][]float32, blocks []int, ctl Controls, paced bool) ([][]float32, int) {
	ch := len(x)
	n := len(x[0])
	out := make([][]float32, ch)
	for c := range out {
		out[c] = make([]float32, n)
	}
	in, o := make([][]float32, ch), make([][]float32, ch)
	lat := 0
	start := time.Now()
	for pos, b := 0, 0; pos < n; b++ {
		k := min(blocks[b%len(blocks)], n-pos)
		for c := range x {
			in[c], o[c] = x[c][pos:pos+k], out[c][pos:pos+k]
		}
		lat = p.Run(in, o, k, ctl)
		pos += k
		if paced {
			if d := time.Duration(float64(pos)/float64(p.rate)*float64(time.Second)) - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
	}
	return out, lat
}

func maxDiffAt(out, ref []float32, lat int) (float64, int) {
	var worst float64
	at := -1
	for j := 0; j+lat < len(out) && j < len(ref); j++ {
		if d := math.Abs(float64(out[j+lat] - ref[j])); d > worst {
			worst, at = d, j
		}
	}
	return worst, at
}

// TestOfflineHostMatchesReference: a host that calls back to back (sox, applyplugin) gets,
// after the reported latency, exactly the aligned pipeline output, at every rate and block
// size, mono and stereo; and the latency before it is silence.
func TestOfflineHostMatchesReference(t *testing.T) {
	type tc struct {
		rate, ch int
		blocks   []int
	}
	var cases []tc
	for _, rate := range []int{16000, 44100, 48000, 8000} {
		for _, b := range [][]int{{1}, {64}, {1024}, {4096}, {10000}, {7, 300, 1, 4100, 64}} {
			if len(b) == 1 && b[0] == 1 && rate != 48000 {
				continue // one-frame blocks are slow; one rate is enough
			}
			cases = append(cases, tc{rate, 1, b})
		}
		cases = append(cases, tc{rate, 2, []int{1024}})
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%dHz-%dch-%v", c.rate, c.ch, c.blocks), func(t *testing.T) {
			p, err := New(Config{Rate: c.rate, Channels: c.ch, Open: firOpener(256, 256, 0)})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			p.Activate()
			n := 2 * c.rate // 2 s: several calls even with the largest block
			x := make([][]float32, c.ch)
			for ch := range x {
				x[ch] = testSignal(n, c.rate, uint64(ch+1))
			}
			out, lat := drive(t, p, x, c.blocks, DefaultControls, false)
			st := p.Stats()
			if st.Mode != "offline" || st.Stalls != 0 || st.FallbackFrame != 0 {
				t.Fatalf("stats %+v", st)
			}
			if lat <= 0 || lat >= maxLatency {
				t.Fatalf("latency %d", lat)
			}
			for ch := range x {
				for i := 0; i < lat; i++ {
					if out[ch][i] != 0 {
						t.Fatalf("channel %d: sample %d inside the latency is %v", ch, i, out[ch][i])
					}
				}
				ref := reference(t, x[ch], c.rate, 2, engine.FullStrength)
				if d, at := maxDiffAt(out[ch], ref, lat); d > 1e-5 {
					t.Errorf("channel %d: max difference %g at %d (latency %d)", ch, d, at, lat)
				}
			}
		})
	}
}

// TestControls: the attenuation limit and the step count reach the model.
func TestControls(t *testing.T) {
	const rate = 48000
	x := [][]float32{testSignal(rate, rate, 3)}
	for _, c := range []struct {
		db    float64
		steps int
	}{{0, 0}, {12, 0}, {100, 4}, {6, 1}} {
		p, err := New(Config{Rate: rate, Channels: 1, Open: firOpener(256, 256, 0)})
		if err != nil {
			t.Fatal(err)
		}
		ctl := Controls{Attenuation: float32(c.db), Steps: float32(c.steps)}
		// The worker applies controls as it goes: start with them already set.
		p.Run([][]float32{make([]float32, 0)}, [][]float32{make([]float32, 0)}, 0, ctl)
		time.Sleep(20 * time.Millisecond)
		out, lat := drive(t, p, x, []int{512}, ctl, false)
		p.Close()
		steps := c.steps
		if steps == 0 {
			steps = 2
		}
		ref := reference(t, x[0], rate, steps, c.db)
		if d, at := maxDiffAt(out[0], ref, lat); d > 1e-5 {
			t.Errorf("%v dB, %d steps: max difference %g at %d", c.db, c.steps, d, at)
		}
	}
}

// TestRealtimeHost: a host at real-time pace is detected as such, never waits, and with a
// model that keeps up gets the same output, on time.
func TestRealtimeHost(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time pacing (1 s)")
	}
	const rate = 48000
	p, err := New(Config{Rate: rate, Channels: 1, Open: firOpener(256, 256, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x := [][]float32{testSignal(rate, rate, 5)}
	out, lat := drive(t, p, x, []int{256}, DefaultControls, true)
	st := p.Stats()
	if st.Mode != "real-time" {
		t.Fatalf("mode %s, want real-time (%+v)", st.Mode, st)
	}
	if st.FallbackFrame > 0 {
		t.Logf("%d frames were late (loaded machine?); checking the rest", st.FallbackFrame)
	}
	ref := reference(t, x[0], rate, 2, engine.FullStrength)
	if st.FallbackFrame == 0 {
		if d, at := maxDiffAt(out[0], ref, lat); d > 1e-5 {
			t.Errorf("max difference %g at %d", d, at)
		}
	}
	t.Logf("latency %d frames (%.1f ms) at 256-frame blocks", lat, 1000*float64(lat)/rate)
}

// TestOverloadPassesThrough: a model slower than real time even at one step (20 ms per
// step for a 16 ms hop) under a real-time host: the controller steps down, then bypasses;
// the host keeps getting audio (the input, delayed by the latency), never silence, and Run
// stays fast.
func TestOverloadPassesThrough(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time pacing (2 s)")
	}
	const rate = 16000
	p, err := New(Config{Rate: rate, Channels: 1, Open: firOpener(256, 256, 20*time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x := [][]float32{testSignal(2*rate, rate, 7)}
	var slowest time.Duration
	var took []time.Duration
	in, o := make([][]float32, 1), make([][]float32, 1)
	out := make([]float32, len(x[0]))
	start := time.Now()
	lat := 0
	for pos := 0; pos < len(out); pos += 160 {
		in[0], o[0] = x[0][pos:pos+160], out[pos:pos+160]
		t0 := time.Now()
		lat = p.Run(in, o, 160, DefaultControls)
		took = append(took, time.Since(t0))
		slowest = max(slowest, took[len(took)-1])
		if d := time.Duration(float64(pos+160)/rate*float64(time.Second)) - time.Since(start); d > 0 {
			time.Sleep(d)
		}
	}
	st := p.Stats()
	if st.Mode != "real-time" {
		t.Fatalf("mode %s", st.Mode)
	}
	if st.Engine.StepChanges == 0 || st.Engine.BypassEntries == 0 {
		t.Errorf("the controller did not step down and bypass: %+v", st.Engine)
	}
	// The last half second must carry the signal (bypass or late pass-through), not silence.
	var e float64
	for _, v := range out[len(out)-rate/2:] {
		e += float64(v * v)
	}
	if e < 1 {
		t.Errorf("output energy over the last 0.5 s is %g: silence", e)
	}
	// A frame of the model takes 20–40 ms: a Run that waited for it would take that long.
	// The median is robust to the scheduler preempting the test on a loaded machine.
	slices.Sort(took)
	if med := took[len(took)/2]; med > 2*time.Millisecond {
		t.Errorf("median Run took %v (slowest %v)", med, slowest)
	}
	t.Logf("latency %d, steps now %d, step changes %d, bypasses %d, late frames %d, slowest Run %v",
		lat, st.Engine.Steps, st.Engine.StepChanges, st.Engine.BypassEntries, st.FallbackFrame, slowest)
}

// TestInstancesInParallel: several instances in one process, driven from their own threads.
func TestInstancesInParallel(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rate := []int{16000, 44100, 48000, 22050}[i]
			p, err := New(Config{Rate: rate, Channels: 1, Open: firOpener(256, 256, 0)})
			if err != nil {
				errs <- err
				return
			}
			defer p.Close()
			x := [][]float32{testSignal(rate/2, rate, uint64(i))}
			out, lat := drive(t, p, x, []int{333}, DefaultControls, false)
			if d, at := maxDiffAt(out[0], reference(t, x[0], rate, 2, engine.FullStrength), lat); d > 1e-5 {
				errs <- fmt.Errorf("instance %d (%d Hz): max difference %g at %d", i, rate, d, at)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestRunDoesNotAllocate in steady state, whatever the mode.
func TestRunDoesNotAllocate(t *testing.T) {
	p, err := New(Config{Rate: 44100, Channels: 2, Open: firOpener(256, 256, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x := [][]float32{testSignal(512, 44100, 1), testSignal(512, 44100, 2)}
	out := [][]float32{make([]float32, 512), make([]float32, 512)}
	p.Run(x, out, 512, DefaultControls)
	allocs := testing.AllocsPerRun(200, func() { p.Run(x, out, 512, DefaultControls) })
	if allocs != 0 {
		t.Errorf("Run allocates %v times per call", allocs)
	}
}

func TestActivateRestarts(t *testing.T) {
	const rate = 44100
	p, err := New(Config{Rate: rate, Channels: 1, Open: firOpener(256, 256, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x := [][]float32{testSignal(rate/2, rate, 9)}
	first, lat1 := drive(t, p, x, []int{1024}, DefaultControls, false)
	p.Activate()
	second, lat2 := drive(t, p, x, []int{1024}, DefaultControls, false)
	if lat1 != lat2 {
		t.Fatalf("latency %d then %d", lat1, lat2)
	}
	for i := range first[0] {
		if first[0][i] != second[0][i] {
			t.Fatalf("after Activate the same input gives different output at %d: %v vs %v", i, first[0][i], second[0][i])
		}
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Rate: 0, Channels: 1, Open: firOpener(256, 256, 0)},
		{Rate: 48000, Channels: 0, Open: firOpener(256, 256, 0)},
		{Rate: 48000, Channels: 1},
		{Rate: 48000, Channels: 1, Model: 3, Open: firOpener(256, 256, 0)},
	} {
		if p, err := New(cfg); err == nil {
			p.Close()
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// An opener that returns the wrong number of processors is refused, and what it opened is
// released.
func TestOpenerChannelCount(t *testing.T) {
	var fs firs
	open := func(index, channels int) ([]engine.FrameProcessor, io.Closer, error) {
		fs = firs{newFIR(256, 0)}
		return fs.procs(), fs, nil
	}
	if p, err := New(Config{Rate: 16000, Channels: 2, Open: open}); err == nil {
		p.Close()
		t.Fatal("one processor for two channels accepted")
	}
	if fs[0].closes != 1 {
		t.Errorf("the refused model was released %d times, want once", fs[0].closes)
	}
}

func TestModelOrder(t *testing.T) {
	got := []string{"b", "rt", "a"}
	slices.SortStableFunc(got, func(a, b string) int { return byDefault(a, b, "rt") })
	if fmt.Sprint(got) != "[rt a b]" {
		t.Errorf("got %v, want [rt a b]", got)
	}
}

// The Model control's models: the shipped streaming bundles, the default streaming model
// as number 0.
func TestModels(t *testing.T) {
	bs, err := Models()
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) == 0 || bs[0].Manifest.Name != zoo.DefaultStreaming {
		t.Fatalf("%d models, the first %v; want %s first", len(bs), bs, zoo.DefaultStreaming)
	}
	for i, b := range bs {
		if b.Manifest.Kind != bundle.KindStreaming {
			t.Errorf("model %d (%s) is a %s bundle", i, b.Manifest.Name, b.Manifest.Kind)
		}
		if i > 1 && b.Manifest.Name < bs[i-1].Manifest.Name {
			t.Errorf("model %d (%s) after %s: not by name", i, b.Manifest.Name, bs[i-1].Manifest.Name)
		}
	}
}

// TestModelSwitch: changing the Model control mid-stream loads the other model; once it has
// settled, the output is that model's, aligned at the new latency (a real-time host, so
// the latency may change; the debt mechanism re-aligns the output).
func TestModelSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time pacing (1.5 s)")
	}
	const rate = 44100
	var opened []firs
	open := func(index, channels int) ([]engine.FrameProcessor, io.Closer, error) {
		var fs firs
		switch index {
		case 0:
			fs = firs{newFIR(256, 256)}
		case 1: // the same filter with another frame and no latency, 4 steps
			fs = firs{newFIR(160, 0)}
			fs[0].steps = 4
		default:
			return nil, nil, fmt.Errorf("no model %d", index)
		}
		opened = append(opened, fs)
		return fs.procs(), fs, nil
	}
	p, err := New(Config{Rate: rate, Channels: 1, Open: open})
	if err != nil {
		t.Fatal(err)
	}
	x := testSignal(3*rate/2, rate, 11)
	out := make([]float32, len(x))
	in, o := make([][]float32, 1), make([][]float32, 1)
	switchAt := rate / 2
	var lat0, lat1 int
	for pos := 0; pos < len(x); pos += 512 {
		k := min(512, len(x)-pos)
		ctl := DefaultControls
		if pos >= switchAt {
			ctl.Model = 1
		}
		in[0], o[0] = x[pos:pos+k], out[pos:pos+k]
		lat := p.Run(in, o, k, ctl)
		if pos < switchAt {
			lat0 = lat
		}
		lat1 = lat
	}
	st := p.Stats()
	p.Close()
	if st.ModelLoads != 2 || len(st.Errors) != 0 {
		t.Fatalf("model loads %d, errors %v", st.ModelLoads, st.Errors)
	}
	for i, fs := range opened {
		if fs[0].closes != 1 {
			t.Errorf("model load %d released %d times, want once", i, fs[0].closes)
		}
	}
	if lat1 >= lat0 {
		t.Errorf("latency %d → %d: the model without latency should need less", lat0, lat1)
	}
	// The last 0.5 s: the new model's output (4 steps) on a stream that starts where it
	// took over, at the new latency.
	from := int(st.ModelFrom)
	// The worker takes a control change before the input it has not read yet, which may
	// be from a block before the one the host changed it on.
	if from < switchAt-4096 || from > switchAt+512 {
		t.Fatalf("the new model took over at frame %d, the switch was asked at %d", from, switchAt)
	}
	ref := reference(t, x[from:], rate, 4, engine.FullStrength)
	var worst float64
	for i := len(x) - rate/2; i < len(x); i++ {
		worst = math.Max(worst, math.Abs(float64(out[i]-ref[i-lat1-from])))
	}
	t.Logf("latency %d → %d frames; max difference over the last 0.5 s %.2e; late frames %d", lat0, lat1, worst, st.FallbackFrame)
	if worst > 1e-5 {
		t.Errorf("after the switch: max difference %g against the new model", worst)
	}
}

// TestBurstThenRealtime: a real-time host whose graph starts with a burst of cycles looks
// offline at first; once it keeps the clock's pace, it is real time again.
func TestBurstThenRealtime(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time pacing (1.5 s)")
	}
	const rate, block = 48000, 1024
	p, err := New(Config{Rate: rate, Channels: 1, Open: firOpener(256, 256, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x := testSignal(3*rate/2, rate, 13)
	out := make([]float32, len(x))
	in, o := make([][]float32, 1), make([][]float32, 1)
	var start time.Time
	for pos, n := 0, 0; pos+block <= len(x); pos, n = pos+block, n+1 {
		in[0], o[0] = x[pos:pos+block], out[pos:pos+block]
		p.Run(in, o, block, DefaultControls)
		if n == 3 { // four cycles back to back, then the clock's pace
			start = time.Now()
			if p.Stats().Mode != "offline" {
				t.Fatalf("after a burst of 4 blocks the mode is %s, want offline (the test's premise)", p.Stats().Mode)
			}
		}
		if n >= 3 {
			if d := time.Duration(float64(pos+block-4*block)/rate*float64(time.Second)) - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
	}
	st := p.Stats()
	if st.Mode != "real-time" {
		t.Errorf("mode %s after 1.4 s at the clock's pace, want real-time (%+v)", st.Mode, st)
	}
	t.Logf("mode %s decided again after %d frames; latency %d", st.Mode, st.DecidedAt, st.Latency)
}

// Defect 12: NaN, ±Inf and huge samples from the host go on as 0 and ±1, so the output is
// finite and, after the latency, what the cleaned input gives: the resamplers' and the
// model's state are not poisoned. They are counted; Run still allocates nothing.
func TestNonFiniteInputIsSanitised(t *testing.T) {
	const rate = 44100
	p, err := New(Config{Rate: rate, Channels: 1, Open: firOpener(256, 256, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Activate()
	x := testSignal(2*rate, rate, 3)
	bad := map[int]float32{5000: float32(math.NaN()), 20000: float32(math.Inf(1)), 30000: float32(math.Inf(-1)), 40000: 1e30}
	clean := slices.Clone(x)
	for i, v := range bad {
		x[i] = v
		clean[i], _ = sanitizeRef(v)
	}
	out, lat := drive(t, p, [][]float32{x}, []int{1024}, DefaultControls, false)
	for i, v := range out[0] {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("output frame %d = %v", i, v)
		}
	}
	ref := reference(t, clean, rate, 2, engine.FullStrength)
	if d, at := maxDiffAt(out[0], ref, lat); d > 1e-5 {
		t.Errorf("max difference %g at %d from the cleaned input's output", d, at)
	}
	if st := p.Stats(); st.Replaced != int64(len(bad)) {
		t.Errorf("Replaced = %d, want %d", st.Replaced, len(bad))
	}
	in := [][]float32{slices.Repeat([]float32{float32(math.NaN())}, 512)}
	o := [][]float32{make([]float32, 512)}
	if allocs := testing.AllocsPerRun(50, func() { p.Run(in, o, 512, DefaultControls) }); allocs != 0 {
		t.Errorf("Run allocates %v times per call on NaN input", allocs)
	}
}

// sanitizeRef is what the plugin must make of a sample outside [-1, 1].
func sanitizeRef(v float32) (float32, bool) {
	switch {
	case v > 1:
		return 1, true
	case v < -1:
		return -1, true
	case v != v:
		return 0, true
	}
	return v, false
}
