// Package pesq computes ITU-T P.862 (narrow-band) and P.862.2 (wide-band)
// PESQ scores.
//
// The implementation follows the published algorithm: level alignment,
// input filtering (modified IRS receive filter for narrow-band, the
// P.862.2 high-pass for wide-band), VAD-based utterance detection and
// time alignment (crude envelope alignment, fine alignment by a histogram
// of frame delays, utterance splitting), the perceptual model (32 ms Hann
// frames, Bark spectrum, frequency equalisation, gain compensation,
// Zwicker loudness), disturbance densities with asymmetry, re-alignment of
// bad intervals, Lp aggregation over time and the MOS mapping (P.862.1 for
// narrow-band, P.862.2 for wide-band).
//
// Scores agree with the ITU reference C implementation (which the common
// Python `pesq` package wraps) to within 1e-3 on the conformance and
// VoiceBank+DEMAND material of the package tests. Score is safe for
// concurrent use.
package pesq

import (
	"errors"
	"math"
	"sync"
)

// Mode selects the PESQ variant.
type Mode int

const (
	// NarrowBand is ITU-T P.862 with the P.862.1 MOS-LQO mapping (the 'nb'
	// mode of the common Python package). It runs at 8 or 16 kHz.
	NarrowBand Mode = iota
	// WideBand is ITU-T P.862.2 (16 kHz only).
	WideBand
)

// Errors returned by Score.
var (
	ErrSampleRate   = errors.New("pesq: unsupported sample rate (need 8000 or 16000 Hz; wide-band needs 16000 Hz)")
	ErrMode         = errors.New("pesq: unknown mode")
	ErrTooShort     = errors.New("pesq: reference or degraded signal shorter than 1/4 second")
	ErrNoUtterances = errors.New("pesq: no utterances detected (silent input)")
)

const (
	searchBuffer   = 75  // VAD windows of search margin at each end
	dataPaddingMs  = 320 // zero padding after the signal
	minSpeechLen   = 4   // VAD: shortest speech burst kept (windows)
	joinSpeechLen  = 50  // VAD: gaps up to this are bridged (windows)
	minUttLen      = 50  // shortest utterance (windows)
	maxUtterances  = 50  // split limit, as in the reference
	targetAvgPower = 1e7 // level alignment target
)

// params holds the rate dependent constants of one run.
type params struct {
	fs        int
	ds        int // samples per VAD window ("Downsample")
	alignNfft int // FFT length of fine time alignment
	sb        int // searchBuffer * ds
	pad       int // padding samples
	inIIR     []float32
	wbIIR     []float32
	bark      *barkTable
}

func newParams(fs int) (*params, error) {
	switch fs {
	case 16000:
		return &params{fs: fs, ds: 64, alignNfft: 1024, sb: searchBuffer * 64, pad: dataPaddingMs * 16,
			inIIR: inIIR16k, wbIIR: wbIIR16k, bark: bark16k}, nil
	case 8000:
		return &params{fs: fs, ds: 32, alignNfft: 512, sb: searchBuffer * 32, pad: dataPaddingMs * 8,
			inIIR: inIIR8k, wbIIR: wbIIR8k, bark: bark8k}, nil
	}
	return nil, ErrSampleRate
}

// signal is one input with searchBuffer windows of zeros before and after
// it (n samples in all) and pad zeros beyond.
type signal struct {
	data   []float32
	n      int
	vad    []float32
	logVAD []float32
}

func (p *params) newSignal(x []float32) *signal {
	n := len(x) + 2*p.sb
	s := &signal{data: make([]float32, n+p.pad), n: n}
	for i, v := range x {
		// 16-bit PCM scale, as the reference reads its files.
		s.data[p.sb+i] = v * 32768
	}
	return s
}

// Score returns the PESQ MOS-LQO of deg against ref. Samples are in
// [-1, 1]; sampleRate is 8000 or 16000 (wide-band: 16000 only).
func Score(ref, deg []float32, sampleRate int, mode Mode) (float64, error) {
	raw, err := rawMOS(ref, deg, sampleRate, mode)
	if err != nil {
		return 0, err
	}
	return float64(mapMOS(raw, mode)), nil
}

// mapMOS maps a raw P.862 score to MOS-LQO (P.862.1 for narrow-band,
// P.862.2 for wide-band).
func mapMOS(raw float32, mode Mode) float32 {
	if mode == WideBand {
		return 0.999 + 4/(1+float32(math.Exp(float64(-1.3669*raw+3.8224))))
	}
	return 0.999 + 4/(1+float32(math.Exp(float64(-1.4945*raw+4.6607))))
}

// rawMOS runs the model and returns the raw (unmapped) P.862 score.
func rawMOS(refIn, degIn []float32, sampleRate int, mode Mode) (float32, error) {
	if mode != NarrowBand && mode != WideBand {
		return 0, ErrMode
	}
	if mode == WideBand && sampleRate != 16000 {
		return 0, ErrSampleRate
	}
	p, err := newParams(sampleRate)
	if err != nil {
		return 0, err
	}
	if len(refIn) < p.fs/4 || len(degIn) < p.fs/4 {
		return 0, ErrTooShort
	}
	ref, deg := p.newSignal(refIn), p.newSignal(degIn)
	maxN := max(ref.n, deg.n)

	if !p.fixPowerLevel(ref, maxN) || !p.fixPowerLevel(deg, maxN) {
		return 0, ErrNoUtterances
	}
	for _, s := range []*signal{ref, deg} {
		if mode == NarrowBand {
			p.curveFilter(s.data, s.n, irsCurve)
		} else {
			for i := 0; i < 16; i++ {
				f := float32(i) / 16
				s.data[p.sb+i-1] *= f
				s.data[s.n-p.sb-i] *= f
			}
			iirFilter(p.wbIIR, s.data[p.sb:s.n-p.sb])
		}
	}

	// Keep the model input; alignment works on a further filtered copy.
	modelRef := append([]float32(nil), ref.data...)
	modelDeg := append([]float32(nil), deg.data...)
	for _, s := range []*signal{ref, deg} {
		p.dcBlock(s.data, s.n)
		iirFilter(p.inIIR, s.data[:s.n+p.pad])
		p.vad(s)
	}

	u, err := p.locateUtterances(ref, deg)
	if err != nil {
		return 0, err
	}

	// Model input, both signals padded to the same length.
	ref.data = extend(modelRef, maxN+p.pad)
	deg.data = extend(modelDeg, maxN+p.pad)
	return p.model(ref, deg, u, maxN)
}

func extend(x []float32, n int) []float32 {
	if len(x) >= n {
		return x
	}
	y := make([]float32, n)
	copy(y, x)
	return y
}

// fixPowerLevel scales s so that its power in the 350 Hz–3.25 kHz band is
// targetAvgPower. It reports false for a signal without such power.
func (p *params) fixPowerLevel(s *signal, maxN int) bool {
	tmp := append([]float32(nil), s.data...)
	p.curveFilter(tmp, s.n, alignCurve)
	pw := float32(powerOf(tmp, p.sb, s.n-p.sb+p.pad, maxN-2*p.sb+p.pad))
	if !(pw > 0) {
		return false
	}
	g := float32(math.Sqrt(targetAvgPower / float64(pw)))
	for i := 0; i < s.n; i++ {
		s.data[i] *= g
	}
	return true
}

// curveFilter applies a zero-phase filter given by a piecewise linear dB
// response (normalised to 0 dB at 1 kHz) to the signal part of data, by
// one FFT over the whole signal.
func (p *params) curveFilter(data []float32, nsamples int, curve []curvePoint) {
	n := nsamples - 2*p.sb + p.pad
	n2 := nextPow2(n)
	f := getFFT(n2)
	defer putFFT(f)
	c := f.forward(data[p.sb : p.sb+n])
	for i, g := range curveGains(curve, p.fs, n2) {
		c[i] *= complex(float64(g), 0)
	}
	y := f.inverse(c)
	for i := 0; i < n; i++ {
		data[p.sb+i] = float32(y[i])
	}
}

type gainKey struct {
	curve *curvePoint
	fs, n int
}

var gainCache sync.Map // gainKey -> []float32

// curveGains returns the linear gains of curve at the n/2+1 bins of an
// n-point FFT at rate fs.
func curveGains(curve []curvePoint, fs, n int) []float32 {
	key := gainKey{&curve[0], fs, n}
	if g, ok := gainCache.Load(key); ok {
		return g.([]float32)
	}
	g := make([]float32, n/2+1)
	gain1k := interpolate(1000, curve)
	res := float32(fs) / float32(n)
	for i := range g {
		db := interpolate(float32(i)*res, curve) - gain1k
		g[i] = float32(math.Pow(10, float64(db/20)))
	}
	gainCache.Store(key, g)
	return g
}

// dcBlock removes the mean of the signal part and tapers its first and
// last VAD window (the mean is divided by the padded length, as in the
// reference).
func (p *params) dcBlock(data []float32, n int) {
	ofs := p.sb
	var acc float32
	for _, v := range data[ofs : n-ofs] {
		acc += v
	}
	acc /= float32(n)
	for i := ofs; i < n-ofs; i++ {
		data[i] -= acc
	}
	for c := 0; c < p.ds; c++ {
		data[ofs+c] *= (0.5 + float32(c)) / float32(p.ds)
	}
	for c := 0; c < p.ds; c++ {
		data[n-ofs-1-c] *= (0.5 + float32(c)) / float32(p.ds)
	}
}
