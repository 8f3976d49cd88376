package metrics

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Align returns the delay of est relative to ref, in samples, that maximises
// their cross-correlation over lags in [-maxLag, maxLag]: est[n] ≈ ref[n−lag].
// A positive lag means est starts late. maxLag ≤ 0 or beyond the signals
// searches every lag. The correlation is computed with one FFT of size ≥
// len(ref)+len(est)−1, so there is no circular wrap-around.
//
// Align returns 0 when either signal is empty, silent, or holds NaN/Inf.
// To line the signals up before scoring:
//
//	lag := metrics.Align(ref, est, maxLag)
//	if lag > 0 {
//		est = est[lag:]
//	} else {
//		ref = ref[-lag:]
//	}
//	ref, est = metrics.Trim(ref, est)
func Align(ref, est []float32, maxLag int) (lag int) {
	if len(ref) == 0 || len(est) == 0 {
		return 0
	}
	r, err := toFloat64(ref, "reference")
	if err != nil {
		return 0
	}
	e, err := toFloat64(est, "estimate")
	if err != nil {
		return 0
	}
	if energy(r) == 0 || energy(e) == 0 {
		return 0
	}
	n := 1
	for n < len(r)+len(e)-1 {
		n <<= 1
	}
	fft := fourier.NewFFT(n)
	buf := make([]float64, n)
	copy(buf, r)
	R := fft.Coefficients(nil, buf)
	clear(buf)
	copy(buf, e)
	E := fft.Coefficients(nil, buf)
	for i := range E {
		re, im := real(R[i]), -imag(R[i]) // conj(R)
		E[i] = complex(real(E[i])*re-imag(E[i])*im, real(E[i])*im+imag(E[i])*re)
	}
	// xc[k] = Σ_m ref[m]·est[m+k]; lag k ≥ 0 sits at k, lag k < 0 at n+k.
	xc := fft.Sequence(buf, E)

	hi, lo := len(e)-1, len(r)-1 // largest positive and negative lags with overlap
	if maxLag > 0 {
		hi, lo = min(hi, maxLag), min(lo, maxLag)
	}
	best, bestV := 0, math.Inf(-1)
	for k := -lo; k <= hi; k++ {
		idx := k
		if k < 0 {
			idx = n + k
		}
		if v := xc[idx]; v > bestV || (v == bestV && abs(k) < abs(best)) {
			best, bestV = k, v
		}
	}
	return best
}

func abs(k int) int {
	if k < 0 {
		return -k
	}
	return k
}

// Trim returns a and b cut to their common (shorter) length, keeping their
// beginnings. The results share storage with the arguments.
func Trim(a, b []float32) ([]float32, []float32) {
	n := min(len(a), len(b))
	return a[:n:n], b[:n:n]
}
