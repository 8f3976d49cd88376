// Package metrics scores an enhanced or processed speech signal against its
// clean reference: SNR, SI-SDR, segmental SNR, LLR, WSS and the Hu & Loizou
// composite measures (CSIG, CBAK, COVL), plus Align and Trim for lining up
// signals before scoring.
//
// Every scoring function takes the reference first, wants signals of equal
// length (call Align and Trim first when they are not), and reports bad input
// (different lengths, too few samples, a silent reference, NaN or Inf
// samples) as an error rather than a NaN. Ratios in dB are kept finite: they
// are clamped to [-MaxDB, MaxDB].
package metrics

import (
	"errors"
	"fmt"
	"math"

	"github.com/restoregrad/restoregrad/dsp/internal/vec"
)

// MaxDB caps every ratio this package reports in dB: a perfect estimate
// (zero residual) scores MaxDB instead of +Inf, an estimate with no target
// component scores -MaxDB instead of -Inf. 150 dB is beyond what 24-bit audio
// can resolve, so no real measurement is clipped.
const MaxDB = 150.0

// Errors wrapped by the functions of this package; test with errors.Is.
var (
	ErrLength  = errors.New("metrics: signals differ in length")
	ErrShort   = errors.New("metrics: signal too short")
	ErrSilent  = errors.New("metrics: signal is silent")
	ErrNonFini = errors.New("metrics: signal has NaN or Inf samples")
)

// matlabEps is MATLAB's eps, which Loizou's composite.m adds to both signals
// (and to the segmental-SNR ratio) to keep silent frames finite.
const matlabEps = 2.220446049250313e-16

// pair checks that ref and est are equal-length, non-empty and finite, and
// returns them as float64.
func pair(ref, est []float32) ([]float64, []float64, error) {
	if len(ref) != len(est) {
		return nil, nil, fmt.Errorf("%w: reference %d samples, estimate %d", ErrLength, len(ref), len(est))
	}
	if len(ref) == 0 {
		return nil, nil, fmt.Errorf("%w: no samples", ErrShort)
	}
	r, err := toFloat64(ref, "reference")
	if err != nil {
		return nil, nil, err
	}
	e, err := toFloat64(est, "estimate")
	if err != nil {
		return nil, nil, err
	}
	return r, e, nil
}

func toFloat64(s []float32, name string) ([]float64, error) {
	out := make([]float64, len(s))
	for i, v := range s {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%w: %s sample %d is %v", ErrNonFini, name, i, v)
		}
		out[i] = f
	}
	return out, nil
}

func energy(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return s
}

// ratioDB is 10·log10(num/den) clamped to [-MaxDB, MaxDB]; num and den are
// energies (≥ 0, not both zero).
func ratioDB(num, den float64) float64 {
	lim := math.Pow(10, MaxDB/10)
	switch {
	case num >= den*lim:
		return MaxDB
	case den >= num*lim:
		return -MaxDB
	}
	return 10 * math.Log10(num/den)
}

// SNR returns the signal-to-noise ratio of est against ref in dB:
// 10·log10(Σref² / Σ(ref−est)²), with no scaling or mean removal. It is
// MaxDB when est equals ref.
func SNR(ref, est []float32) (float64, error) {
	r, e, err := pair(ref, est)
	if err != nil {
		return 0, fmt.Errorf("SNR: %w", err)
	}
	sig := energy(r)
	if sig == 0 {
		return 0, fmt.Errorf("SNR: %w: reference", ErrSilent)
	}
	var noise float64
	for i := range r {
		d := r[i] - e[i]
		noise += d * d
	}
	return ratioDB(sig, noise), nil
}

// SISDR returns the scale-invariant signal-to-distortion ratio of est
// against ref in dB (Le Roux et al. 2019), with both signals made zero-mean
// first: est is projected onto ref, target = αref with α = ⟨est,ref⟩/‖ref‖²,
// and SI-SDR = 10·log10(‖target‖² / ‖est−target‖²). Scaling est by any
// non-zero factor leaves it unchanged. It is MaxDB when est is a positive
// multiple of ref (within rounding) and errors when either signal is
// constant (silent after mean removal).
func SISDR(ref, est []float32) (float64, error) {
	r, e, err := pair(ref, est)
	if err != nil {
		return 0, fmt.Errorf("SI-SDR: %w", err)
	}
	vec.RemoveMean(r)
	vec.RemoveMean(e)
	rr := energy(r)
	if rr == 0 {
		return 0, fmt.Errorf("SI-SDR: %w: reference", ErrSilent)
	}
	if energy(e) == 0 {
		return 0, fmt.Errorf("SI-SDR: %w: estimate", ErrSilent)
	}
	var dot float64
	for i := range r {
		dot += r[i] * e[i]
	}
	alpha := dot / rr
	var target, resid float64
	for i := range r {
		t := alpha * r[i]
		target += t * t
		d := e[i] - t
		resid += d * d
	}
	return ratioDB(target, resid), nil
}
