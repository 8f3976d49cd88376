package spectral

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func noise(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.3)
	}
	return x
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestWindowValues(t *testing.T) {
	cases := []struct {
		name string
		w    []float64
		at   map[int]float64
	}{
		{"Hann(8)", Hann(8), map[int]float64{0: 0, 2: 0.5, 4: 1, 6: 0.5, 7: 0.5 - 0.5*math.Cos(2*math.Pi*7/8)}},
		{"HannSymmetric(5)", HannSymmetric(5), map[int]float64{0: 0, 1: 0.5, 2: 1, 3: 0.5, 4: 0}},
		{"SqrtHann(4)", SqrtHann(4), map[int]float64{0: 0, 1: math.Sqrt(0.5), 2: 1, 3: math.Sqrt(0.5)}},
		{"Hamming(4)", Hamming(4), map[int]float64{0: 0.08, 1: 0.54, 2: 1, 3: 0.54}},
		{"HammingSymmetric(3)", HammingSymmetric(3), map[int]float64{0: 0.08, 1: 1, 2: 0.08}},
		{"HannSymmetric(1)", HannSymmetric(1), map[int]float64{0: 1}},
		{"Hann(1)", Hann(1), map[int]float64{0: 1}},
		{"Rectangular(3)", Rectangular(3), map[int]float64{0: 1, 2: 1}},
	}
	for _, c := range cases {
		for i, want := range c.at {
			if !near(c.w[i], want, 1e-12) {
				t.Errorf("%s[%d] = %v, want %v", c.name, i, c.w[i], want)
			}
		}
	}
	if Hann(0) != nil || Hann(-3) != nil {
		t.Error("empty window is not nil")
	}
	// Symmetric windows are symmetric; periodic ones are symmetric about n/2.
	w := HannSymmetric(513)
	for i := range w {
		if !near(w[i], w[len(w)-1-i], 1e-12) {
			t.Fatalf("HannSymmetric(513) not symmetric at %d", i)
		}
	}
	p := Hann(512)
	for i := 1; i < 512; i++ {
		if !near(p[i], p[512-i], 1e-12) {
			t.Fatalf("Hann(512)[%d] != [%d]", i, 512-i)
		}
	}
	// Hann at 50% overlap and SqrtHann² sum to 1.
	for i := 0; i < 256; i++ {
		if s := p[i] + p[i+256]; !near(s, 1, 1e-12) {
			t.Fatalf("Hann COLA sum at %d = %v", i, s)
		}
		q := SqrtHann(512)
		if s := q[i]*q[i] + q[i+256]*q[i+256]; !near(s, 1, 1e-12) {
			t.Fatalf("SqrtHann squares sum at %d = %v", i, s)
		}
	}
}

func TestPerfectReconstruction(t *testing.T) {
	cases := []struct {
		name          string
		frameLen, hop int
		w             []float64
	}{
		{"512/256 sqrt-Hann", 512, 256, SqrtHann(512)},
		{"512/128 Hann", 512, 128, Hann(512)},
		{"400/160 Hamming", 400, 160, Hamming(400)},
		{"320/160 Hann symmetric", 320, 160, HannSymmetric(320)},
		{"255/64 sqrt-Hann odd", 255, 64, SqrtHann(255)},
		{"256/256 rectangular", 256, 256, Rectangular(256)},
		{"32/32 Hamming no overlap", 32, 32, Hamming(32)},
		{"1024/100 Hann", 1024, 100, Hann(1024)},
	}
	for _, c := range cases {
		s, err := NewSTFT(c.frameLen, c.hop, c.w)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, c.hop - 1, c.frameLen, 10007} {
			if n < 1 {
				continue
			}
			x := noise(n, uint64(n))
			frames := s.Forward(x)
			if len(frames) != s.NumFrames(n) || len(frames[0]) != s.Bins() {
				t.Fatalf("%s: %d frames of %d bins", c.name, len(frames), len(frames[0]))
			}
			y, err := s.Inverse(frames, n)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i := range x {
				worst = max(worst, math.Abs(float64(y[i]-x[i])))
			}
			if worst > 1e-6 {
				t.Errorf("%s, n=%d: max reconstruction error %g", c.name, n, worst)
			}
		}
	}
}

func TestForwardMatchesDFT(t *testing.T) {
	// One frame, checked against a direct DFT of the windowed samples.
	const n, hop = 16, 4
	w := Hann(n)
	s, _ := NewSTFT(n, hop, w)
	x := noise(40, 3)
	frames := s.Forward(x)
	k := 5 // covers samples [5·4-12, 5·4+4) = [8, 24)
	for b := 0; b < s.Bins(); b++ {
		var want complex128
		for i := 0; i < n; i++ {
			v := float64(x[8+i]) * w[i]
			want += complex(v, 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(b*i)/n))
		}
		if cmplx.Abs(frames[k][b]-want) > 1e-9 {
			t.Errorf("bin %d = %v, want %v", b, frames[k][b], want)
		}
	}
	// Frame 0 ends at sample hop-1 and is zero before sample 0.
	var want complex128
	for i := 0; i < hop; i++ {
		want += complex(float64(x[i])*w[n-hop+i], 0)
	}
	if cmplx.Abs(frames[0][0]-want) > 1e-9 {
		t.Errorf("frame 0 DC = %v, want %v", frames[0][0], want)
	}
}

func TestParseval(t *testing.T) {
	for _, n := range []int{64, 63} {
		s, _ := NewSTFT(n, n, Rectangular(n))
		x := noise(n, 11)
		X := s.Forward(x)[0]
		timeE := 0.0
		for _, v := range x {
			timeE += float64(v) * float64(v)
		}
		p := Power(nil, X)
		freqE := p[0]
		for b := 1; b < len(p); b++ {
			if n%2 == 0 && b == len(p)-1 {
				freqE += p[b] // Nyquist bin appears once
			} else {
				freqE += 2 * p[b]
			}
		}
		freqE /= float64(n)
		if !near(timeE, freqE, 1e-9*timeE) {
			t.Errorf("n=%d: time energy %v, spectrum energy %v", n, timeE, freqE)
		}
		m := Magnitude(nil, X)
		for b := range m {
			if !near(m[b]*m[b], p[b], 1e-9*(1+p[b])) {
				t.Fatalf("Magnitude² != Power at bin %d", b)
			}
		}
	}
}

func TestToneBin(t *testing.T) {
	// A tone at bin 32 of 512 peaks there.
	s, _ := NewSTFT(512, 128, Hann(512))
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(math.Cos(2 * math.Pi * 32 * float64(i) / 512))
	}
	f := s.Forward(x)[10]
	m := Magnitude(nil, f)
	best := 0
	for b := range m {
		if m[b] > m[best] {
			best = b
		}
	}
	if best != 32 || !near(m[32], 128, 1e-4) { // amplitude·Σw/2 = 256/2
		t.Errorf("peak at bin %d with %v, want bin 32 with 128", best, m[best])
	}
}

func TestStreamingMatchesOffline(t *testing.T) {
	for _, c := range []struct{ frameLen, hop int }{{512, 256}, {512, 128}, {320, 160}, {255, 64}} {
		s, _ := NewSTFT(c.frameLen, c.hop, SqrtHann(c.frameLen))
		n := c.hop * 40
		x := noise(n, 5)
		offline := s.Forward(x)
		a := s.NewAnalyzer()
		y := s.NewSynthesizer()
		var out []float32
		spec := make([]complex128, s.Bins())
		for k := 0; k < n/c.hop; k++ {
			var err error
			spec, err = a.Next(spec, x[k*c.hop:(k+1)*c.hop])
			if err != nil {
				t.Fatal(err)
			}
			for b := range spec {
				if cmplx.Abs(spec[b]-offline[k][b]) > 1e-9 {
					t.Fatalf("%v: frame %d bin %d: stream %v, offline %v", c, k, b, spec[b], offline[k][b])
				}
			}
			if out, err = y.Next(out, spec); err != nil {
				t.Fatal(err)
			}
		}
		lat := y.Latency()
		if lat != c.frameLen-c.hop {
			t.Fatalf("latency %d", lat)
		}
		for i := 0; i < lat; i++ {
			if math.Abs(float64(out[i])) > 1e-6 {
				t.Fatalf("%v: output %d before latency is %v", c, i, out[i])
			}
		}
		for i := lat; i < len(out); i++ {
			if d := math.Abs(float64(out[i] - x[i-lat])); d > 1e-6 {
				t.Fatalf("%v: streamed sample %d off by %g", c, i, d)
			}
		}
	}
}

func TestStreamErrors(t *testing.T) {
	s, _ := NewSTFT(8, 4, Hann(8))
	if _, err := s.NewAnalyzer().Next(nil, make([]float32, 3)); err == nil {
		t.Error("Analyzer.Next with wrong hop: no error")
	}
	if _, err := s.NewAnalyzer().Next(make([]complex128, 2), make([]float32, 4)); err == nil {
		t.Error("Analyzer.Next with wrong dst: no error")
	}
	if _, err := s.NewSynthesizer().Next(nil, make([]complex128, 4)); err == nil {
		t.Error("Synthesizer.Next with wrong bins: no error")
	}
}

func TestNewSTFTErrors(t *testing.T) {
	for _, c := range []struct {
		n, hop int
		w      []float64
	}{{0, 1, nil}, {8, 0, Hann(8)}, {8, 9, Hann(8)}, {8, 4, Hann(7)}} {
		if _, err := NewSTFT(c.n, c.hop, c.w); err == nil {
			t.Errorf("NewSTFT(%d, %d, len %d): no error", c.n, c.hop, len(c.w))
		}
	}
	s, _ := NewSTFT(8, 4, Hann(8))
	if _, err := s.Inverse([][]complex128{make([]complex128, 4)}, 8); err == nil {
		t.Error("Inverse with wrong bin count: no error")
	}
	if _, err := s.Inverse(nil, -1); err == nil {
		t.Error("Inverse with negative length: no error")
	}
	if y, err := s.Inverse(nil, 5); err != nil || len(y) != 5 {
		t.Errorf("Inverse of no frames = %v, %v", y, err)
	}
	if len(s.Forward(nil)) != 0 {
		t.Error("Forward(nil) has frames")
	}
}

func TestFrameAndOverlapAdd(t *testing.T) {
	x := []float32{0, 1, 2, 3, 4, 5, 6}
	f := Frame(x, 3, 2)
	if len(f) != 3 || f[2][0] != 4 || f[2][2] != 6 || cap(f[0]) != 3 {
		t.Fatalf("Frame = %v", f)
	}
	if len(Frame(x, 8, 1)) != 0 || len(Frame(x, 0, 1)) != 0 || len(Frame(x, 2, 0)) != 0 {
		t.Error("invalid framing gave frames")
	}
	y := OverlapAdd(f, 2)
	want := []float32{0, 1, 4, 3, 8, 5, 6}
	if len(y) != len(want) {
		t.Fatalf("OverlapAdd = %v", y)
	}
	for i := range want {
		if y[i] != want[i] {
			t.Fatalf("OverlapAdd = %v, want %v", y, want)
		}
	}
	if OverlapAdd(nil, 2) != nil {
		t.Error("OverlapAdd(nil) != nil")
	}
}

func BenchmarkForwardInverse512x256(b *testing.B) {
	s, _ := NewSTFT(512, 256, SqrtHann(512))
	x := noise(160000, 1)
	b.SetBytes(int64(len(x) * 4))
	for b.Loop() {
		s.Inverse(s.Forward(x), len(x))
	}
}
