package pesq

import (
	"math"
	"math/cmplx"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
)

// TestRealFFT checks the transform against gonum's.
func TestRealFFT(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{4, 8, 64, 512, 1024, 4096} {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		want := fourier.NewFFT(n).Coefficients(nil, x)
		r := newRealFFT(n)
		got := append([]complex128(nil), r.forward64(x)...)
		var maxErr float64
		for k := range want {
			maxErr = max(maxErr, cmplx.Abs(got[k]-want[k]))
		}
		if maxErr > 1e-9*float64(n) {
			t.Errorf("n=%d forward: max error %g", n, maxErr)
		}
		back := r.inverse(got)
		maxErr = 0
		for i := range x {
			maxErr = max(maxErr, math.Abs(back[i]-x[i]))
		}
		if maxErr > 1e-12*float64(n) {
			t.Errorf("n=%d inverse: max error %g", n, maxErr)
		}
	}
}

func BenchmarkRealFFT1024(b *testing.B) {
	r := newRealFFT(1024)
	x := make([]float32, 1024)
	for i := range x {
		x[i] = float32(i % 7)
	}
	for b.Loop() {
		c := r.forward(x)
		r.inverse(c)
	}
}

func BenchmarkRealFFT65536(b *testing.B) {
	r := newRealFFT(65536)
	x := make([]float32, 65536)
	for i := range x {
		x[i] = float32(i % 7)
	}
	for b.Loop() {
		c := r.forward(x)
		r.inverse(c)
	}
}

func BenchmarkGonumFFT1024(b *testing.B) {
	f := fourier.NewFFT(1024)
	x := make([]float64, 1024)
	c := make([]complex128, 513)
	for b.Loop() {
		f.Coefficients(c, x)
		f.Sequence(x, c)
	}
}

func BenchmarkGonumFFT65536(b *testing.B) {
	f := fourier.NewFFT(65536)
	x := make([]float64, 65536)
	c := make([]complex128, 32769)
	for b.Loop() {
		f.Coefficients(c, x)
		f.Sequence(x, c)
	}
}
