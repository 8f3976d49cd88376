package engine

import (
	"math"
	"testing"

	"github.com/restoregrad/restoregrad/models/sampler"
)

func TestAttenuationGain(t *testing.T) {
	for _, c := range []struct {
		db   float64
		want float64
	}{{0, 1}, {6, 0.501187}, {20, 0.1}, {40, 0.01}, {99, 1.122e-5}, {100, 0}, {150, 0}, {math.Inf(1), 0}} {
		g, err := AttenuationGain(c.db)
		if err != nil {
			t.Fatalf("%v dB: %v", c.db, err)
		}
		if math.Abs(float64(g)-c.want) > 1e-6*math.Max(1, c.want) {
			t.Errorf("%v dB: gain %v, want %v", c.db, g, c.want)
		}
	}
	for _, db := range []float64{-1, math.NaN()} {
		if _, err := AttenuationGain(db); err == nil {
			t.Errorf("%v dB accepted", db)
		}
	}
}

// scaleDelay is a FrameProcessor whose output is its input delayed by lat samples and
// scaled by k: an ideal "denoiser" that removes the fraction 1−k of everything.
type scaleDelay struct {
	n, lat int
	k      float32
	buf    []float32
}

func (p *scaleDelay) SampleRate() int      { return 16000 }
func (p *scaleDelay) FrameSize() int       { return p.n }
func (p *scaleDelay) Latency() int         { return p.lat }
func (p *scaleDelay) Steps() int           { return 1 }
func (p *scaleDelay) MaxSteps() int        { return 1 }
func (p *scaleDelay) SetSteps(n int) error { return nil }
func (p *scaleDelay) Reset()               { clear(p.buf) }
func (p *scaleDelay) Process(out, in []float32) error {
	copy(p.buf[p.lat:], in)
	for i := range out {
		out[i] = p.k * p.buf[i]
	}
	copy(p.buf, p.buf[p.n:])
	return nil
}

// TestLimitedFormulaAndAlignment runs a processor that delays by 37 samples and keeps a
// quarter of its input: with a limit of D dB the output must be the input delayed by 37
// samples times (x̂ + g·(y − x̂)) = (0.25 + g·0.75). A mix with the undelayed input, or
// g = 10^(−D/10), or g applied to x̂, fails.
func TestLimitedFormulaAndAlignment(t *testing.T) {
	const n, lat = 64, 37
	y := make([]float32, 40*n)
	for i := range y {
		y[i] = float32(math.Sin(float64(i)*0.37) + 0.5*math.Sin(float64(i)*0.051))
	}
	for _, db := range []float64{0, 6, 12, 30, 100} {
		p := &scaleDelay{n: n, lat: lat, k: 0.25, buf: make([]float32, lat+n)}
		l, err := NewLimited(p, db)
		if err != nil {
			t.Fatal(err)
		}
		if l.Latency() != lat || l.FrameSize() != n {
			t.Fatalf("limited reports frame %d latency %d", l.FrameSize(), l.Latency())
		}
		g, _ := AttenuationGain(db)
		scale := 0.25 + float64(g)*0.75
		out := make([]float32, n)
		var maxErr float64
		for f := 0; f < len(y)/n; f++ {
			if err := l.Process(out, y[f*n:(f+1)*n]); err != nil {
				t.Fatal(err)
			}
			for i, v := range out {
				src := f*n + i - lat
				want := 0.0
				if src >= 0 {
					want = scale * float64(y[src])
				}
				maxErr = math.Max(maxErr, math.Abs(float64(v)-want))
			}
		}
		if maxErr > 1e-5 {
			t.Errorf("%v dB: max error %g against (0.25 + %.4f·0.75)·y[i−%d]", db, maxErr, g, lat)
		}
	}
}

// TestLimitedRamp checks that a change of limit takes effect over one frame and then holds.
func TestLimitedRamp(t *testing.T) {
	const n = 32
	p := &scaleDelay{n: n, k: 0, buf: make([]float32, n)}
	l, err := NewLimited(p, 100)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, n)
	for i := range in {
		in[i] = 1
	}
	out := make([]float32, n)
	if err := l.Process(out, in); err != nil || out[n-1] != 0 {
		t.Fatalf("full strength: out %v, err %v", out[n-1], err)
	}
	if err := l.SetLimit(20); err != nil {
		t.Fatal(err)
	}
	l.Process(out, in)
	if !(out[0] > 0 && out[0] < 0.1/2 && math.Abs(float64(out[n-1])-0.1) < 1e-6) {
		t.Errorf("ramp frame: first %v, last %v; want rising from ~0 to 0.1", out[0], out[n-1])
	}
	l.Process(out, in)
	for _, v := range out {
		if math.Abs(float64(v)-0.1) > 1e-6 {
			t.Fatalf("after the ramp: %v, want 0.1", v)
		}
	}
	if err := l.SetLimit(-3); err == nil {
		t.Error("negative limit accepted")
	}
}

type halfEnhancer struct{}

func (halfEnhancer) SampleRate() int { return 16000 }
func (halfEnhancer) Context() int    { return 0 }
func (halfEnhancer) Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	for i, v := range y {
		out[i] = 0.5 * v
	}
	return nil
}

func TestLimitEnhancer(t *testing.T) {
	y := []float32{1, -2, 4}
	e, err := LimitEnhancer(halfEnhancer{}, 20)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 3)
	if err := e.Enhance(out, y, 1, nil, 0); err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		want := (0.5 + 0.1*0.5) * y[i]
		if math.Abs(float64(v-want)) > 1e-6 {
			t.Errorf("out[%d] = %v, want %v", i, v, want)
		}
	}
	if e, _ := LimitEnhancer(halfEnhancer{}, 100); e != (halfEnhancer{}) {
		t.Error("full strength should return the enhancer itself")
	}
}
