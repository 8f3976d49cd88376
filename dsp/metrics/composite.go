package metrics

import (
	"fmt"
	"math"
	"math/cmplx"
	"sort"

	"gonum.org/v1/gonum/dsp/fourier"
)

// This file follows Loizou's composite.m (Hu & Loizou 2008, after Pellom and
// Hansen's LLR, SNRseg and WSS code): 30 ms frames, hop a quarter frame,
// Hann ("hanning") window, MATLAB eps added to both signals. LLR and WSS
// average the lowest 95% of their per-frame values.

const (
	minSegSNR = -10.0 // dB, per-frame floor of SegSNR
	maxSegSNR = 35.0  // dB, per-frame ceiling of SegSNR
	keepFrac  = 0.95  // fraction of lowest LLR/WSS frames averaged
)

// framing describes composite.m's analysis frames for one sample rate.
type framing struct {
	win, skip, n int
	window       []float64
}

// frames returns composite.m's framing for signals of length samples at
// rate Hz: winlength = round(30 ms), skip = floor(winlength/4), and
// floor(length/skip − winlength/skip) frames.
func frames(length, rate int) (framing, error) {
	if rate < 1000 {
		return framing{}, fmt.Errorf("sample rate %d Hz below 1000", rate)
	}
	win := int(math.Round(30 * float64(rate) / 1000))
	skip := win / 4
	n := int(math.Floor(float64(length)/float64(skip) - float64(win)/float64(skip)))
	if n < 1 {
		return framing{}, fmt.Errorf("%w: %d samples, need at least %d for one %d-sample frame at hop %d",
			ErrShort, length, win+skip, win, skip)
	}
	w := make([]float64, win)
	for i := range w {
		w[i] = 0.5 * (1 - math.Cos(2*math.Pi*float64(i+1)/float64(win+1)))
	}
	return framing{win, skip, n, w}, nil
}

// frame writes the windowed frame k of x into dst.
func (f framing) frame(dst, x []float64, k int) {
	start := k * f.skip
	for i, w := range f.window {
		dst[i] = x[start+i] * w
	}
}

// loizouPair validates clean and processed, adds MATLAB eps to both as
// composite.m does, and sets up the framing.
func loizouPair(clean, processed []float32, rate int) ([]float64, []float64, framing, error) {
	c, p, err := pair(clean, processed)
	if err != nil {
		return nil, nil, framing{}, err
	}
	if energy(c) == 0 {
		return nil, nil, framing{}, fmt.Errorf("%w: clean", ErrSilent)
	}
	f, err := frames(len(c), rate)
	if err != nil {
		return nil, nil, framing{}, err
	}
	for i := range c {
		c[i] += matlabEps
		p[i] += matlabEps
	}
	return c, p, f, nil
}

// SegSNR returns the segmental SNR of processed against clean in dB, as in
// composite.m: the mean over all 30 ms Hann-windowed frames (hop 7.5 ms) of
// 10·log10(Σclean² / (Σ(clean−processed)² + eps) + eps), each frame clamped
// to [−10, 35] dB. Silent frames are not excluded.
func SegSNR(clean, processed []float32, rate int) (float64, error) {
	c, p, f, err := loizouPair(clean, processed, rate)
	if err != nil {
		return 0, fmt.Errorf("SegSNR: %w", err)
	}
	cf, pf := make([]float64, f.win), make([]float64, f.win)
	var sum float64
	for k := 0; k < f.n; k++ {
		f.frame(cf, c, k)
		f.frame(pf, p, k)
		var sig, noise float64
		for i := range cf {
			sig += cf[i] * cf[i]
			d := cf[i] - pf[i]
			noise += d * d
		}
		snr := 10 * math.Log10(sig/(noise+matlabEps)+matlabEps)
		sum += min(max(snr, minSegSNR), maxSegSNR)
	}
	return sum / float64(f.n), nil
}

// LLR returns the log-likelihood ratio (Itakura) distance of processed from
// clean, as in composite.m: per 30 ms frame, LPC of order 10 (rate < 10 kHz)
// or 16 by autocorrelation and Levinson–Durbin, then
// log(a_p·R_c·a_pᵀ / a_c·R_c·a_cᵀ) with R_c the clean frame's Toeplitz
// autocorrelation matrix; the result is the mean of the lowest 95% of frames.
// 0 means identical spectral envelopes; larger is worse.
func LLR(clean, processed []float32, rate int) (float64, error) {
	c, p, f, err := loizouPair(clean, processed, rate)
	if err != nil {
		return 0, fmt.Errorf("LLR: %w", err)
	}
	order := 16
	if rate < 10000 {
		order = 10
	}
	cf, pf := make([]float64, f.win), make([]float64, f.win)
	rc, rp := make([]float64, order+1), make([]float64, order+1)
	ac, ap := make([]float64, order+1), make([]float64, order+1)
	d := make([]float64, f.n)
	for k := range d {
		f.frame(cf, c, k)
		f.frame(pf, p, k)
		autocorr(rc, cf)
		autocorr(rp, pf)
		levinson(ac, rc)
		levinson(ap, rp)
		num, den := toeplitzForm(ap, rc), toeplitzForm(ac, rc)
		v := math.Log(num / den)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("LLR: undefined on frame %d (prediction errors %g / %g)", k, num, den)
		}
		d[k] = v
	}
	return meanLowest(d), nil
}

// autocorr fills r[0..len(r)-1] with the autocorrelation lags of x.
func autocorr(r, x []float64) {
	for k := range r {
		var s float64
		for i := 0; i+k < len(x); i++ {
			s += x[i] * x[i+k]
		}
		r[k] = s
	}
}

// levinson writes the prediction-error filter [1, −a1, …, −ap] for the
// autocorrelation r into a (len(a) == len(r)). The recursion stops early,
// keeping the lower-order filter, if the prediction error reaches zero.
func levinson(a, r []float64) {
	p := len(r) - 1
	coef := make([]float64, p+1) // coef[1..i]: predictor of order i
	prev := make([]float64, p+1)
	e := r[0]
	for i := 1; i <= p && e > 0; i++ {
		s := r[i]
		for j := 1; j < i; j++ {
			s -= coef[j] * r[i-j]
		}
		k := s / e
		copy(prev, coef)
		coef[i] = k
		for j := 1; j < i; j++ {
			coef[j] = prev[j] - k*prev[i-j]
		}
		e *= 1 - k*k
	}
	a[0] = 1
	for j := 1; j <= p; j++ {
		a[j] = -coef[j]
	}
}

// toeplitzForm returns a·T(r)·aᵀ with T(r)[i][j] = r[|i−j|].
func toeplitzForm(a, r []float64) float64 {
	var s float64
	for i := range a {
		for j := range a {
			s += a[i] * a[j] * r[abs(i-j)]
		}
	}
	return s
}

// Critical bands of composite.m's WSS: centre frequencies and bandwidths, Hz.
var (
	critCentre = [...]float64{
		50.0000, 120.000, 190.000, 260.000, 330.000, 400.000, 470.000, 540.000,
		617.372, 703.378, 798.717, 904.128, 1020.38, 1148.30, 1288.72, 1442.54,
		1610.70, 1794.16, 1993.93, 2211.08, 2446.71, 2701.97, 2978.04, 3276.17,
		3597.63,
	}
	critBandwidth = [...]float64{
		70.0000, 70.0000, 70.0000, 70.0000, 70.0000, 70.0000, 70.0000, 77.3724,
		86.0056, 95.3398, 105.411, 116.256, 127.914, 140.423, 153.823, 168.154,
		183.457, 199.776, 217.153, 235.631, 255.255, 276.072, 298.126, 321.465,
		346.136,
	}
)

const numCrit = len(critCentre)

// WSS returns the weighted spectral slope distance (Klatt 1982) of processed
// from clean, as in composite.m: per 30 ms frame, power spectra through 25
// Gaussian critical-band filters, dB slopes between neighbouring bands, and
// slope differences weighted by Klatt's global (Kmax = 20) and local
// (Klocmax = 1) peak weights averaged over both signals, normalised by the
// weight sum; the result is the mean of the lowest 95% of frames. 0 means
// identical; larger is worse.
func WSS(clean, processed []float32, rate int) (float64, error) {
	c, p, f, err := loizouPair(clean, processed, rate)
	if err != nil {
		return 0, fmt.Errorf("WSS: %w", err)
	}
	const kMax, kLocMax = 20.0, 1.0
	nfft := 1
	for nfft < 2*f.win {
		nfft <<= 1
	}
	half := nfft / 2
	maxFreq := float64(rate) / 2

	// Gaussian critical-band filters, cut below -30 dB, equal area.
	minFactor := math.Exp(-30.0 / (2.0 * 2.303))
	filters := make([][]float64, numCrit)
	for i := range filters {
		f0 := math.Floor(critCentre[i] / maxFreq * float64(half))
		bw := critBandwidth[i] / maxFreq * float64(half)
		norm := math.Log(critBandwidth[0]) - math.Log(critBandwidth[i])
		filters[i] = make([]float64, half)
		for j := range filters[i] {
			x := (float64(j) - f0) / bw
			if v := math.Exp(-11*x*x + norm); v > minFactor {
				filters[i][j] = v
			}
		}
	}

	fft := fourier.NewFFT(nfft)
	buf := make([]float64, nfft)
	coef := make([]complex128, half+1)
	pow := make([]float64, half) // bins 0 … nfft/2−1, as composite.m sums
	bandDB := func(x []float64, k int, out []float64) {
		clear(buf)
		f.frame(buf[:f.win], x, k)
		coef = fft.Coefficients(coef, buf)
		for j := range pow {
			a := cmplx.Abs(coef[j])
			pow[j] = a * a
		}
		for i, filt := range filters {
			var s float64
			for j, w := range filt {
				if w != 0 {
					s += pow[j] * w
				}
			}
			out[i] = 10 * math.Log10(max(s, 1e-10))
		}
	}

	ce, pe := make([]float64, numCrit), make([]float64, numCrit)
	cs, ps := make([]float64, numCrit-1), make([]float64, numCrit-1)
	cPeak, pPeak := make([]float64, numCrit-1), make([]float64, numCrit-1)
	d := make([]float64, f.n)
	for k := range d {
		bandDB(c, k, ce)
		bandDB(p, k, pe)
		for i := range cs {
			cs[i] = ce[i+1] - ce[i]
			ps[i] = pe[i+1] - pe[i]
		}
		nearestPeaks(cPeak, ce, cs)
		nearestPeaks(pPeak, pe, ps)
		cMax, pMax := maxOf(ce), maxOf(pe)
		var num, wsum float64
		for i := range cs {
			wc := kMax / (kMax + cMax - ce[i]) * kLocMax / (kLocMax + cPeak[i] - ce[i])
			wp := kMax / (kMax + pMax - pe[i]) * kLocMax / (kLocMax + pPeak[i] - pe[i])
			w := (wc + wp) / 2
			diff := cs[i] - ps[i]
			num += w * diff * diff
			wsum += w
		}
		d[k] = num / wsum
	}
	return meanLowest(d), nil
}

// nearestPeaks sets peak[i] to the band energy composite.m takes as the
// spectral peak nearest band i: searching right while the slope rises, left
// while it falls. The index arithmetic (including its stopping one band short
// on the right-hand search) is composite.m's, translated to 0-based.
func nearestPeaks(peak, e, slope []float64) {
	last := len(slope) // = numCrit-1
	for i := range slope {
		if slope[i] > 0 {
			n := i
			for n < last && slope[n] > 0 {
				n++
			}
			peak[i] = e[n-1]
		} else {
			n := i
			for n >= 0 && slope[n] <= 0 {
				n--
			}
			peak[i] = e[n+1]
		}
	}
}

func maxOf(x []float64) float64 {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	return m
}

// meanLowest returns the mean of the lowest round(0.95·len(d)) values of d
// (at least one). It sorts d.
func meanLowest(d []float64) float64 {
	sort.Float64s(d)
	n := max(1, int(math.Round(float64(len(d))*keepFrac)))
	var s float64
	for _, v := range d[:n] {
		s += v
	}
	return s / float64(n)
}

// Composite returns the Hu & Loizou (2008) composite quality predictions of
// enhanced against clean, each clamped to [1, 5]:
//
//	CSIG = 3.093 − 1.029·LLR + 0.603·PESQ − 0.009·WSS   (signal distortion)
//	CBAK = 1.634 + 0.478·PESQ − 0.007·WSS + 0.063·SegSNR (background intrusiveness)
//	COVL = 1.594 + 0.805·PESQ − 0.512·LLR − 0.007·WSS   (overall quality)
//
// pesqWB is the PESQ score of the same pair, computed by the caller (for
// example with dsp/pesq in wide-band mode, as is usual for 16 kHz speech
// enhancement results). clean and enhanced must have equal length.
func Composite(clean, enhanced []float32, rate int, pesqWB float64) (csig, cbak, covl float64, err error) {
	if math.IsNaN(pesqWB) || pesqWB < -1 || pesqWB > 5 {
		return 0, 0, 0, fmt.Errorf("Composite: PESQ %v outside [-1, 5]", pesqWB)
	}
	llr, err := LLR(clean, enhanced, rate)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("Composite: %w", err)
	}
	wss, err := WSS(clean, enhanced, rate)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("Composite: %w", err)
	}
	seg, err := SegSNR(clean, enhanced, rate)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("Composite: %w", err)
	}
	clamp := func(v float64) float64 { return min(max(v, 1), 5) }
	csig = clamp(3.093 - 1.029*llr + 0.603*pesqWB - 0.009*wss)
	cbak = clamp(1.634 + 0.478*pesqWB - 0.007*wss + 0.063*seg)
	covl = clamp(1.594 + 0.805*pesqWB - 0.512*llr - 0.007*wss)
	return csig, cbak, covl, nil
}
