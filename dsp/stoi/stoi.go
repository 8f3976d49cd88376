// Package stoi scores speech intelligibility with STOI (Taal et al. 2011) and
// extended STOI (Jensen & Taal 2016), reproducing pystoi's numbers.
//
// Both measures compare a clean reference with a processed signal of the same
// length and sample rate. The signals are resampled to 10 kHz with pystoi's
// Octave-compatible polyphase filter, frames more than 40 dB below the
// loudest clean frame are dropped (256-sample Hann frames, hop 128, rebuilt
// by overlap-add), a 512-point STFT is grouped into 15 one-third-octave bands
// from 150 Hz, and 30-frame (384 ms) envelope segments are correlated.
//
// Where pystoi warns and returns 1e-5 (fewer than 30 frames of speech left),
// these functions return ErrTooShort instead.
package stoi

import (
	"errors"
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/restoregrad/restoregrad/dsp/internal/vec"
)

const (
	fs       = 10000 // internal sample rate, Hz
	frameLen = 256   // analysis frame (window support), samples
	hop      = frameLen / 2
	nfft     = 512
	numBands = 15
	minFreq  = 150.0 // centre of the lowest one-third-octave band, Hz
	segLen   = 30    // frames per intermediate-intelligibility segment
	beta     = -15.0 // lower signal-to-distortion bound, dB
	dynRange = 40.0  // speech dynamic range kept by silent-frame removal, dB

	// MinSampleRate and MaxSampleRate bound the accepted input rates.
	MinSampleRate = 1000
	MaxSampleRate = 768000
)

// eps is numpy's float64 machine epsilon, used where pystoi uses it.
const eps = 2.220446049250313e-16

// ErrTooShort reports that fewer than 30 STFT frames (about 0.4 s at 10 kHz)
// of non-silent clean speech remain, so no segment can be scored.
var ErrTooShort = errors.New("stoi: fewer than 30 frames of speech after silent-frame removal")

// STOI returns the short-time objective intelligibility of processed against
// clean, both at sampleRate Hz and of equal length. The score lies in about
// [-1, 1]; higher is more intelligible.
func STOI(clean, processed []float32, sampleRate int) (float64, error) {
	x, y, err := envelopes(clean, processed, sampleRate)
	if err != nil {
		return 0, err
	}
	return classic(x, y), nil
}

// ESTOI returns the extended STOI of processed against clean, both at
// sampleRate Hz and of equal length. Unlike STOI it normalises each segment's
// rows (bands) and then columns (frames), so it also accounts for modulated
// maskers.
func ESTOI(clean, processed []float32, sampleRate int) (float64, error) {
	x, y, err := envelopes(clean, processed, sampleRate)
	if err != nil {
		return 0, err
	}
	return extended(x, y), nil
}

// envelopes validates the inputs and returns the one-third-octave band
// envelopes, [band][frame], of the silence-trimmed clean and processed signals.
func envelopes(clean, processed []float32, sampleRate int) (x, y [][]float64, err error) {
	if len(clean) != len(processed) {
		return nil, nil, fmt.Errorf("stoi: clean has %d samples, processed %d; lengths must match", len(clean), len(processed))
	}
	if sampleRate < MinSampleRate || sampleRate > MaxSampleRate {
		return nil, nil, fmt.Errorf("stoi: sample rate %d Hz outside [%d, %d]", sampleRate, MinSampleRate, MaxSampleRate)
	}
	xc, err := toFloat64(clean, "clean")
	if err != nil {
		return nil, nil, err
	}
	yc, err := toFloat64(processed, "processed")
	if err != nil {
		return nil, nil, err
	}
	if sampleRate != fs {
		xc = resampleOct(xc, fs, sampleRate)
		yc = resampleOct(yc, fs, sampleRate)
	}
	xc, yc = removeSilentFrames(xc, yc)
	if xc == nil {
		return nil, nil, ErrTooShort
	}
	xs := bandEnvelopes(xc)
	if len(xs[0]) < segLen {
		return nil, nil, ErrTooShort
	}
	return xs, bandEnvelopes(yc), nil
}

func toFloat64(s []float32, name string) ([]float64, error) {
	out := make([]float64, len(s))
	for i, v := range s {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("stoi: %s sample %d is %v", name, i, v)
		}
		out[i] = f
	}
	return out, nil
}

// hann is MATLAB's hanning(n): the n interior points of an (n+2)-point Hann
// window, i.e. numpy's hanning(n+2)[1:-1].
func hann(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i+1)/float64(n+1))
	}
	return w
}

// removeSilentFrames drops the frames of both signals whose clean energy is
// 40 dB or more below the loudest clean frame and overlap-adds the rest. Like
// pystoi it frames starts 0, hop, ... strictly below len(x)-frameLen, so a
// final frame ending exactly at the last sample is not used. It returns nils
// when x holds no complete frame.
func removeSilentFrames(x, y []float64) (xs, ys []float64) {
	if len(x) <= frameLen {
		return nil, nil
	}
	w := hann(frameLen)
	nFrames := (len(x) - frameLen + hop - 1) / hop // starts i*hop < len-frameLen
	energy := make([]float64, nFrames)
	maxE := math.Inf(-1)
	for f := range energy {
		var s float64
		for i, wi := range w {
			v := wi * x[f*hop+i]
			s += v * v
		}
		energy[f] = 20 * math.Log10(math.Sqrt(s)+eps)
		maxE = max(maxE, energy[f])
	}
	var keep []int
	for f, e := range energy {
		if maxE-dynRange-e < 0 {
			keep = append(keep, f)
		}
	}
	n := (len(keep)-1)*hop + frameLen
	xs, ys = make([]float64, n), make([]float64, n)
	for k, f := range keep {
		for i, wi := range w {
			xs[k*hop+i] += wi * x[f*hop+i]
			ys[k*hop+i] += wi * y[f*hop+i]
		}
	}
	return xs, ys
}

// bandEdges holds, per band, the half-open FFT-bin range [lo, hi) summed into
// it: pystoi's thirdoct, edges snapped to the nearest bin (first on ties).
var bandEdges = func() [numBands][2]int {
	var e [numBands][2]int
	nearest := func(freq float64) int {
		best, bestD := 0, math.Inf(1)
		for k := 0; k <= nfft/2; k++ {
			f := float64(k) * fs / nfft
			if d := (f - freq) * (f - freq); d < bestD {
				best, bestD = k, d
			}
		}
		return best
	}
	for b := range e {
		k := float64(b)
		e[b][0] = nearest(minFreq * math.Pow(2, (2*k-1)/6))
		e[b][1] = nearest(minFreq * math.Pow(2, (2*k+1)/6))
	}
	return e
}()

// bandEnvelopes returns sqrt of the one-third-octave band power of each STFT
// frame of s, as [band][frame]. Frames start at 0, hop, ... strictly below
// len(s)-frameLen, as in pystoi's stft.
func bandEnvelopes(s []float64) [][]float64 {
	nFrames := 0
	if len(s) > frameLen {
		nFrames = (len(s) - frameLen + hop - 1) / hop
	}
	env := make([][]float64, numBands)
	for b := range env {
		env[b] = make([]float64, nFrames)
	}
	w := hann(frameLen)
	fft := fourier.NewFFT(nfft)
	buf := make([]float64, nfft)
	coef := make([]complex128, nfft/2+1)
	pow := make([]float64, nfft/2+1)
	for f := 0; f < nFrames; f++ {
		for i, wi := range w {
			buf[i] = wi * s[f*hop+i]
		}
		coef = fft.Coefficients(coef, buf)
		for k, c := range coef {
			a := cmplx.Abs(c)
			pow[k] = a * a
		}
		for b, e := range bandEdges {
			var sum float64
			for k := e[0]; k < e[1]; k++ {
				sum += pow[k]
			}
			env[b][f] = math.Sqrt(sum)
		}
	}
	return env
}

// classic is STOI's intermediate-intelligibility average (Taal 2011, eq. 6):
// per segment and band, scale the processed envelope to the clean energy,
// clip it at clean·(1+10^(-β/20)), and correlate with the clean envelope.
func classic(x, y [][]float64) float64 {
	nFrames := len(x[0])
	clip := 1 + math.Pow(10, -beta/20)
	xv, yv := make([]float64, segLen), make([]float64, segLen)
	var total float64
	nSeg := nFrames - segLen + 1
	for m := 0; m < nSeg; m++ {
		for b := 0; b < numBands; b++ {
			copy(xv, x[b][m:m+segLen])
			copy(yv, y[b][m:m+segLen])
			alpha := norm(xv) / (norm(yv) + eps)
			for i := range yv {
				yv[i] = min(yv[i]*alpha, xv[i]*clip)
			}
			vec.RemoveMean(xv)
			vec.RemoveMean(yv)
			nx, ny := norm(xv)+eps, norm(yv)+eps
			var dot float64
			for i := range xv {
				dot += (xv[i] / nx) * (yv[i] / ny)
			}
			total += dot
		}
	}
	return total / float64(nSeg*numBands)
}

// extended is ESTOI (Jensen & Taal 2016): each segment's band rows are mean-
// and norm-normalised over time, then its frame columns over bands, and the
// normalised clean and processed segments are correlated.
//
// pystoi adds eps-scale Gaussian noise before each normalisation so that
// constant rows do not divide by zero; here a zero-norm row or column is left
// at zero, the deterministic equivalent of that noise's expected contribution.
func extended(x, y [][]float64) float64 {
	nFrames := len(x[0])
	nSeg := nFrames - segLen + 1
	xs, ys := newSeg(), newSeg()
	var total float64
	for m := 0; m < nSeg; m++ {
		for b := 0; b < numBands; b++ {
			copy(xs[b], x[b][m:m+segLen])
			copy(ys[b], y[b][m:m+segLen])
		}
		rowColNormalize(xs)
		rowColNormalize(ys)
		var s float64
		for b := 0; b < numBands; b++ {
			for t := 0; t < segLen; t++ {
				s += xs[b][t] * ys[b][t]
			}
		}
		total += s / segLen
	}
	return total / float64(nSeg)
}

func newSeg() [][]float64 {
	s := make([][]float64, numBands)
	for b := range s {
		s[b] = make([]float64, segLen)
	}
	return s
}

func rowColNormalize(s [][]float64) {
	for _, row := range s {
		vec.RemoveMean(row)
		scaleToUnit(row)
	}
	col := make([]float64, len(s))
	for t := 0; t < segLen; t++ {
		for b := range s {
			col[b] = s[b][t]
		}
		vec.RemoveMean(col)
		scaleToUnit(col)
		for b := range s {
			s[b][t] = col[b]
		}
	}
}

func scaleToUnit(v []float64) {
	n := norm(v)
	if n == 0 {
		return
	}
	for i := range v {
		v[i] /= n
	}
}

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}
