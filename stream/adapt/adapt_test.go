package adapt

import (
	"math"
	"testing"
)

// delay is a Processor whose output is each channel's input delayed by lat samples,
// scaled per channel by gain[c] (so that a channel mix-up shows).
type delay struct {
	rate, n, lat int
	gain         []float32
	buf          [][]float32
}

func newDelay(rate, n, lat int, gain ...float32) *delay {
	d := &delay{rate: rate, n: n, lat: lat, gain: gain}
	for range gain {
		d.buf = append(d.buf, make([]float32, lat+n))
	}
	return d
}

func (d *delay) SampleRate() int { return d.rate }
func (d *delay) FrameSize() int  { return d.n }
func (d *delay) Latency() int    { return d.lat }
func (d *delay) ProcessChannels(out, in [][]float32) error {
	for c := range in {
		copy(d.buf[c][d.lat:], in[c])
		for i := range out[c] {
			out[c][i] = d.gain[c] * d.buf[c][i]
		}
		copy(d.buf[c], d.buf[c][d.n:])
	}
	return nil
}

// run writes x (one slice per channel) in chunks of the given sizes, cycling, and returns
// everything the stage put out.
func run(t *testing.T, s *Stage, x [][]float32, chunks ...int) [][]float32 {
	t.Helper()
	got := make([][]float32, len(x))
	in := make([][]float32, len(x))
	for off, i := 0, 0; off < len(x[0]); i++ {
		k := min(chunks[i%len(chunks)], len(x[0])-off)
		for c := range x {
			in[c] = x[c][off : off+k]
		}
		s.Write(in)
		off += k
		for s.Ready() {
			out, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			for c := range out {
				got[c] = append(got[c], out[c]...)
			}
		}
	}
	return got
}

func tone(n, rate int, f float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*f*float64(i)/float64(rate)))
	}
	return x
}

// At the model's own rate an aligned stage gives back the processed input sample for
// sample, whatever the chunking; the lag is the processor's latency without Align.
func TestStageSameRate(t *testing.T) {
	x := [][]float32{tone(4000, 16000, 440), tone(4000, 16000, 1000)}
	s, err := New(newDelay(16000, 160, 80, 1, 2), Config{Channels: 2, Rate: 16000, MaxWrite: 100, Align: true})
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, s, x, 100, 37, 512)
	for c, g := range got {
		if len(g) < 3000 {
			t.Fatalf("channel %d: %d samples out of 4000", c, len(g))
		}
		for i, v := range g {
			if v != float32(c+1)*x[c][i] {
				t.Fatalf("channel %d sample %d: %g, want %g", c, i, v, float32(c+1)*x[c][i])
			}
		}
	}
	s, _ = New(newDelay(16000, 160, 80, 1), Config{Channels: 1, Rate: 16000})
	if d := s.Delay(); d.Microseconds() != 5000 {
		t.Errorf("Delay %v, want 5ms (the processor's 80 samples)", d)
	}
}

// Through the resamplers each channel comes out as it would alone, the chunking changes
// nothing, and Delay adds the resamplers' delays to the processor's latency.
func TestStageResamplesEveryChannelAlike(t *testing.T) {
	x := [][]float32{tone(48000, 48000, 440), tone(48000, 48000, 2500)}
	two, err := New(newDelay(16000, 256, 256, 1, 1), Config{Channels: 2, Rate: 48000, MaxWrite: 480, Align: true})
	if err != nil {
		t.Fatal(err)
	}
	both := run(t, two, x, 480, 1000, 7)
	for c := range x {
		one, _ := New(newDelay(16000, 256, 256, 1), Config{Channels: 1, Rate: 48000, MaxWrite: 480, Align: true})
		alone := run(t, one, x[c:c+1], 480)[0]
		if len(alone) != len(both[c]) {
			t.Fatalf("channel %d: %d samples beside another, %d alone", c, len(both[c]), len(alone))
		}
		for i := range alone {
			if alone[i] != both[c][i] {
				t.Fatalf("channel %d sample %d: %g beside another channel, %g alone", c, i, both[c][i], alone[i])
			}
		}
		// Aligned: output sample k is input sample k (through two resamplers: close).
		var worst float64
		for i := 2000; i < len(alone)-2000; i++ {
			worst = max(worst, math.Abs(float64(alone[i]-x[c][i])))
		}
		if worst > 0.01 {
			t.Errorf("channel %d: aligned output differs from the input by up to %.3g", c, worst)
		}
	}
	up, down := two.Delays()
	want := (up+256)/16000 + down/48000
	if d := two.Delay().Seconds(); math.Abs(d-want) > 1e-6 || up == 0 || down == 0 {
		t.Errorf("Delay %.6f s, want %.6f (up %g, down %g samples)", d, want, up, down)
	}
}

// Write and Next allocate nothing once built (the worker runs them every frame).
func TestStageDoesNotAllocate(t *testing.T) {
	s, err := New(newDelay(16000, 256, 256, 1, 1), Config{Channels: 2, Rate: 48000, MaxWrite: 480})
	if err != nil {
		t.Fatal(err)
	}
	in := [][]float32{tone(480, 48000, 440), tone(480, 48000, 440)}
	step := func() {
		s.Write(in)
		for s.Ready() {
			if _, err := s.Next(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 20 {
		step()
	}
	if a := testing.AllocsPerRun(200, step); a != 0 {
		t.Errorf("%.1f allocations per write", a)
	}
}

func TestStageBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Channels: 0, Rate: 48000}, {Channels: 1, Rate: 0}} {
		if _, err := New(newDelay(16000, 256, 0, 1), cfg); err == nil {
			t.Errorf("%+v: want an error", cfg)
		}
	}
	if _, err := New(newDelay(16000, 0, 0, 1), Config{Channels: 1, Rate: 48000}); err == nil {
		t.Error("frame 0: want an error")
	}
}
