package resample

import (
	"math"
	"math/rand/v2"
	"testing"
)

func tone(freq, rate float64, n int, amp float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/rate))
	}
	return x
}

// db returns 10·log10(num/den).
func db(num, den float64) float64 { return 10 * math.Log10(num/den) }

func energy(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

func TestToneRoundTrip(t *testing.T) {
	const n = 48000
	x := tone(1000, 48000, n, 0.5)
	y := Resample(Resample(x, 48000, 16000), 16000, 48000)
	if len(y) != n {
		t.Fatalf("round trip length %d, want %d", len(y), n)
	}
	edge := 2000
	errE, sigE := 0.0, 0.0
	for i := edge; i < n-edge; i++ {
		d := float64(y[i] - x[i])
		errE += d * d
		sigE += float64(x[i]) * float64(x[i])
	}
	if e := db(errE, sigE); e > -60 {
		t.Errorf("48k->16k->48k error %.1f dB, want < -60 dB", e)
	} else {
		t.Logf("48k->16k->48k error %.1f dB", e)
	}
}

// TestToneAlignment checks that Resample compensates the delay: the output
// of a tone must match the tone sampled at the new rate.
func TestToneAlignment(t *testing.T) {
	for _, c := range []struct{ in, out int }{{48000, 16000}, {16000, 48000}, {44100, 16000}, {16000, 44100}, {8000, 16000}, {16000, 8000}, {44100, 48000}, {48000, 44100}, {44101, 16000}} {
		n := c.in // one second
		x := tone(440, float64(c.in), n, 0.5)
		y := Resample(x, c.in, c.out)
		want := int(math.Ceil(float64(n) * float64(c.out) / float64(c.in)))
		if len(y) != want {
			t.Errorf("%d->%d: length %d, want %d", c.in, c.out, len(y), want)
			continue
		}
		ref := tone(440, float64(c.out), len(y), 0.5)
		edge := len(y) / 10
		errE := energy(diff(y[edge:len(y)-edge], ref[edge:len(y)-edge]))
		sigE := energy(ref[edge : len(y)-edge])
		if e := db(errE, sigE); e > -60 {
			t.Errorf("%d->%d: error against ideal tone %.1f dB, want < -60 dB", c.in, c.out, e)
		} else {
			t.Logf("%d->%d: error %.1f dB, delay %v", c.in, c.out, e, mustNew(t, c.in, c.out).Delay())
		}
	}
}

func diff(a, b []float32) []float32 {
	d := make([]float32, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return d
}

func mustNew(t testing.TB, in, out int) *Resampler {
	t.Helper()
	r, err := New(in, out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestStopband(t *testing.T) {
	cases := []struct {
		in, out int
		freqs   []float64
	}{
		{48000, 16000, []float64{8000, 8500, 10000, 12000, 15000, 20000, 23900}},
		{44100, 16000, []float64{8000, 10000, 15000, 20000}},
		{16000, 8000, []float64{4000, 5000, 7000}},
		{16000, 48000, nil}, // images: checked below on the output spectrum
	}
	for _, c := range cases {
		for _, f := range c.freqs {
			x := tone(f, float64(c.in), c.in, 1)
			y := Resample(x, c.in, c.out)
			edge := len(y) / 10
			in := energy(x) / float64(len(x))
			out := energy(y[edge:len(y)-edge]) / float64(len(y)-2*edge)
			if a := db(out, in); a > -80 {
				t.Errorf("%d->%d: %g Hz tone attenuated by only %.1f dB, want >= 80", c.in, c.out, f, -a)
			}
		}
	}
	// Upsampling 16k->48k a 7 kHz tone must not leave images at 9 kHz and
	// 23 kHz: the residual after removing the 7 kHz tone is tiny.
	x := tone(7000, 16000, 16000, 0.5)
	y := Resample(x, 16000, 48000)
	ref := tone(7000, 48000, len(y), 0.5)
	edge := len(y) / 10
	if e := db(energy(diff(y[edge:len(y)-edge], ref[edge:len(y)-edge])), energy(ref[edge:len(y)-edge])); e > -60 {
		t.Errorf("16k->48k 7 kHz tone: residual %.1f dB, want < -60", e)
	}
}

func TestPassband(t *testing.T) {
	// Up to 90% of the lower Nyquist frequency the gain is within 0.01 dB.
	for _, f := range []float64{100, 3000, 6000, 7200} {
		x := tone(f, 48000, 48000, 0.5)
		y := Resample(x, 48000, 16000)
		edge := len(y) / 10
		g := db(energy(y[edge:len(y)-edge])/float64(len(y)-2*edge), energy(x)/float64(len(x)))
		if math.Abs(g) > 0.01 {
			t.Errorf("48k->16k: %g Hz gain %.4f dB", f, g)
		}
	}
}

func TestBlocksEqualOneShot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 30000)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.3)
	}
	for _, c := range [][2]int{{48000, 16000}, {16000, 48000}, {44100, 16000}, {16000, 44100}, {8000, 16000}, {48000, 48000}, {44101, 16000}, {7, 5}} {
		r := mustNew(t, c[0], c[1])
		whole := r.Flush(r.Process(nil, x))
		var parts []float32
		for i := 0; i < len(x); {
			n := min(len(x)-i, rng.IntN(700))
			before, maxOut := len(parts), r.MaxOutput(n)
			if bound := int(math.Ceil(float64(n)*float64(c[1])/float64(c[0]))) + int(r.Delay()) + 1; maxOut > bound {
				t.Fatalf("%v: MaxOutput(%d) = %d exceeds documented bound %d", c, n, maxOut, bound)
			}
			parts = r.Process(parts, x[i:i+n])
			if got := len(parts) - before; got != maxOut {
				t.Fatalf("%v: Process of %d gave %d, MaxOutput said %d", c, n, got, maxOut)
			}
			i += n
		}
		parts = r.Flush(parts)
		if len(parts) != len(whole) {
			t.Fatalf("%v: blocks gave %d samples, one shot %d", c, len(parts), len(whole))
		}
		for i := range whole {
			if parts[i] != whole[i] {
				t.Fatalf("%v: sample %d differs: %v vs %v", c, i, parts[i], whole[i])
			}
		}
		wantLen := int(r.Delay()) + int(math.Ceil(float64(len(x))*float64(c[1])/float64(c[0])))
		if len(whole) != wantLen {
			t.Errorf("%v: stream length %d, want Delay+ceil = %d", c, len(whole), wantLen)
		}
	}
}

func TestIdentity(t *testing.T) {
	x := tone(1000, 16000, 1000, 0.5)
	y := Resample(x, 16000, 16000)
	if len(y) != len(x) {
		t.Fatalf("length %d", len(y))
	}
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("sample %d: %v != %v", i, y[i], x[i])
		}
	}
	y[0] = 9
	if x[0] == 9 {
		t.Fatal("identity Resample aliases its input")
	}
	if r := mustNew(t, 32000, 32000); r.Delay() != 0 {
		t.Errorf("identity Delay = %v", r.Delay())
	}
}

func TestInterpolatedTableMatchesExact(t *testing.T) {
	// 44101->16000 needs an interpolated table; compare against the tone.
	r := mustNew(t, 44101, 16000)
	if !r.interp {
		t.Fatal("44101->16000 should use the interpolated table")
	}
	if r2 := mustNew(t, 44100, 16000); r2.interp {
		t.Fatal("44100->16000 should use the exact table")
	}
}

func TestNewErrors(t *testing.T) {
	for _, c := range [][2]int{{0, 16000}, {16000, 0}, {-1, 5}, {1 << 30, 16000}, {16000000, 1}} {
		if _, err := New(c[0], c[1]); err == nil {
			t.Errorf("New(%d, %d): no error", c[0], c[1])
		}
	}
	if Resample([]float32{1}, 0, 1) != nil {
		t.Error("Resample with bad rate returned output")
	}
}

func TestResetAndFlushRestart(t *testing.T) {
	r := mustNew(t, 48000, 16000)
	x := tone(300, 48000, 5000, 0.3)
	a := r.Flush(r.Process(nil, x))
	b := r.Flush(r.Process(nil, x)) // Flush resets
	r.Process(nil, x[:1234])
	r.Reset()
	c := r.Flush(r.Process(nil, x))
	for i := range a {
		if a[i] != b[i] || a[i] != c[i] {
			t.Fatalf("sample %d differs after reset: %v %v %v", i, a[i], b[i], c[i])
		}
	}
}

func TestShortInputs(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3} {
		x := make([]float32, n)
		for i := range x {
			x[i] = 1
		}
		y := Resample(x, 48000, 16000)
		if want := (n + 2) / 3; len(y) != want {
			t.Errorf("len %d: got %d outputs, want %d", n, len(y), want)
		}
		y = Resample(x, 16000, 48000)
		if len(y) != 3*n {
			t.Errorf("len %d up: got %d outputs, want %d", n, len(y), 3*n)
		}
	}
}

func TestProcessDoesNotAllocate(t *testing.T) {
	r := mustNew(t, 48000, 16000)
	src := tone(500, 48000, 480, 0.5)
	dst := make([]float32, 0, r.MaxOutput(len(src)))
	r.Process(dst, src) // warm up the history buffer
	allocs := testing.AllocsPerRun(100, func() {
		dst = r.Process(dst[:0], src)
	})
	if allocs != 0 {
		t.Errorf("Process allocates %v times per call", allocs)
	}
}

func BenchmarkResample48kTo16k10s(b *testing.B) {
	x := tone(1000, 48000, 480000, 0.5)
	r := mustNew(b, 48000, 16000)
	dst := make([]float32, 0, r.MaxOutput(len(x))+1000)
	b.SetBytes(int64(len(x) * 4))
	for b.Loop() {
		dst = r.Process(dst[:0], x)
		dst = r.Flush(dst)
	}
}

func BenchmarkResample16kTo48kStream10ms(b *testing.B) {
	x := tone(1000, 16000, 160, 0.5)
	r := mustNew(b, 16000, 48000)
	dst := make([]float32, 0, r.MaxOutput(len(x)))
	b.SetBytes(int64(len(x) * 4))
	for b.Loop() {
		dst = r.Process(dst[:0], x)
	}
}

func BenchmarkResample44100To16k10s(b *testing.B) {
	x := tone(1000, 44100, 441000, 0.5)
	r := mustNew(b, 44100, 16000)
	dst := make([]float32, 0, r.MaxOutput(len(x))+1000)
	b.SetBytes(int64(len(x) * 4))
	for b.Loop() {
		dst = r.Process(dst[:0], x)
		dst = r.Flush(dst)
	}
}
