package spectral

import (
	"math"
	"math/cmplx"
	"testing"
)

func contractSTFT(t *testing.T) *CompressedSTFT {
	t.Helper()
	s, err := NewSTFT(512, 256, SqrtHann(512))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCompressedSTFT(s, 0.3, 1.5)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompressFormulaAndInverse(t *testing.T) {
	in := []complex128{0, 1, complex(3, -4), complex(-1e-6, 2e-6), complex(0, -10)}
	row := make([]float32, 2*len(in))
	Compress(row, in, 0.3, 1.5)
	for b, x := range in {
		want := complex(0, 0)
		if x != 0 {
			want = complex(1.5*math.Pow(cmplx.Abs(x), 0.3), 0) * x / complex(cmplx.Abs(x), 0)
		}
		got := complex(float64(row[b]), float64(row[len(in)+b]))
		if cmplx.Abs(got-want) > 1e-6*math.Max(1, cmplx.Abs(want)) {
			t.Errorf("bin %d: compressed %v, want %v", b, got, want)
		}
	}
	back := make([]complex128, len(in))
	Decompress(back, row, 0.3, 1.5)
	for b, x := range in {
		if cmplx.Abs(back[b]-x) > 1e-5*math.Max(1e-3, cmplx.Abs(x)) {
			t.Errorf("bin %d: round trip %v, want %v", b, back[b], x)
		}
	}
	if _, err := NewCompressedSTFT(nil, 0, 1); err == nil {
		t.Error("exponent 0: want error")
	}
	if _, err := NewCompressedSTFT(nil, 0.3, 0); err == nil {
		t.Error("scale 0: want error")
	}
}

// The contract's framing: T = ceil(N/hop)+1 frames, frame j covering samples
// [j·hop − (n_fft−hop), j·hop + hop), and compress ∘ decompress ∘ iSTFT reconstructing x.
func TestCompressedSTFTFramingAndReconstruction(t *testing.T) {
	c := contractSTFT(t)
	for _, n := range []int{1, 255, 256, 257, 16000} {
		x := noise(n, uint64(n))
		rows := c.Forward(x)
		wantT := (n+255)/256 + 1
		if len(rows) != wantT*514 {
			t.Fatalf("n=%d: %d values, want %d frames of 514", n, len(rows), wantT)
		}
		y, err := c.Inverse(rows, n)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbs(x, y); d > 1e-5 {
			t.Errorf("n=%d: reconstruction error %g", n, d)
		}
	}
	// Frame 1 is the DFT of w·x[0:512] (frame j starts at j·256 − 256).
	x := noise(1024, 4)
	rows := c.Forward(x)
	w := SqrtHann(512)
	for _, k := range []int{0, 1, 100, 256} {
		var X complex128
		for i := 0; i < 512; i++ {
			X += complex(float64(x[i])*w[i], 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(k*i)/512))
		}
		row := make([]float32, 514)
		spec := make([]complex128, 257)
		spec[k] = X
		Compress(row, spec, 0.3, 1.5)
		if d := math.Abs(float64(rows[514+k]-row[k])) + math.Abs(float64(rows[514+257+k]-row[257+k])); d > 1e-5 {
			t.Errorf("frame 1 bin %d off by %g", k, d)
		}
	}
	if _, err := c.Inverse(make([]float32, 515), 10); err == nil {
		t.Error("partial frame: want error")
	}
}

func maxAbs(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// Streamed analysis gives Forward's rows; streamed synthesis gives Inverse's samples one
// frame late, with no allocation per frame.
func TestCompressedStreamingMatchesOffline(t *testing.T) {
	c := contractSTFT(t)
	n := 256 * 30
	x := noise(n, 9)
	rows := c.Forward(x) // 31 frames: the last one ends 256 samples past the signal
	a, y := c.NewAnalyzer(), c.NewSynthesizer()
	in := make([]float32, (n/256+1)*256)
	copy(in, x)
	row, out := make([]float32, 514), make([]float32, len(in))
	for k := 0; k < len(in)/256; k++ {
		if err := a.Next(row, in[k*256:(k+1)*256]); err != nil {
			t.Fatal(err)
		}
		if d := maxAbs(row, rows[k*514:(k+1)*514]); d > 1e-6 {
			t.Fatalf("frame %d: streamed row off by %g", k, d)
		}
		if err := y.Next(out[k*256:(k+1)*256], row); err != nil {
			t.Fatal(err)
		}
	}
	whole, _ := c.Inverse(rows, n)
	if y.Latency() != 256 {
		t.Fatalf("latency %d", y.Latency())
	}
	if d := maxAbs(out[256:256+n], whole); d > 1e-6 {
		t.Errorf("streamed synthesis off by %g", d)
	}
	hop := in[:256]
	if allocs := testing.AllocsPerRun(100, func() {
		a.Next(row, hop)
		y.Next(out[:256], row)
	}); allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
	if err := a.Next(make([]float32, 3), hop); err == nil {
		t.Error("short row: want error")
	}
	if err := y.Next(out[:255], row); err == nil {
		t.Error("short hop: want error")
	}
}
