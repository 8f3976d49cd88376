package dnsmos

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// P.808 features: librosa.feature.melspectrogram(y, sr=16000, n_fft=321, hop_length=160,
// n_mels=120) with librosa's defaults (periodic Hann window of n_fft samples, centred
// frames zero-padded by n_fft/2 at each end, power 2, Slaney mel scale and area
// normalisation, FFT bin frequencies from rfftfreq), then
// (power_to_db(S, ref=max, amin=1e-10, top_db=80) + 40) / 40, transposed to [frames, mels].
const (
	melFFT  = 321
	melHop  = 160
	melBins = melFFT/2 + 1
	numMels = 120
	// p808Frames is the frame count the P.808 graph takes: a 9.01 s window minus its last
	// 160 samples (144000 samples) gives 1 + 144000/160 = 900 centred frames.
	p808Frames = 900
)

// melBank holds the filterbank and FFT plan; it is read-only after newMelBank.
type melBank struct {
	weights [numMels][melBins]float64
	lo, hi  [numMels]int // non-zero range of each filter, [lo, hi)
	window  [melFFT]float64
}

// The Slaney mel scale: linear below minLogHz, logarithmic above.
const (
	fsp       = 200.0 / 3 // Hz per mel on the linear part
	minLogHz  = 1000.0
	minLogMel = minLogHz / fsp
)

var logstep = math.Log(6.4) / 27

func hzToMel(f float64) float64 {
	if f >= minLogHz {
		return minLogMel + math.Log(f/minLogHz)/logstep
	}
	return f / fsp
}

func melToHz(m float64) float64 {
	if m >= minLogMel {
		return minLogHz * math.Exp(logstep*(m-minLogMel))
	}
	return fsp * m
}

func newMelBank(rate int) *melBank {
	b := &melBank{}
	for i := range b.window {
		b.window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/melFFT)
	}
	var fft [melBins]float64
	for k := range fft {
		fft[k] = float64(k) * float64(rate) / melFFT
	}
	// numpy.linspace(min_mel, max_mel, n_mels+2), then back to Hz.
	var melF [numMels + 2]float64
	maxMel := hzToMel(float64(rate) / 2)
	for i := range melF {
		var m float64
		switch i {
		case 0:
			m = 0
		case numMels + 1:
			m = maxMel
		default:
			m = float64(i) * (maxMel / (numMels + 1))
		}
		melF[i] = melToHz(m)
	}
	for i := 0; i < numMels; i++ {
		fdLo := melF[i+1] - melF[i]
		fdHi := melF[i+2] - melF[i+1]
		enorm := 2 / (melF[i+2] - melF[i])
		b.lo[i], b.hi[i] = melBins, 0
		for k, f := range fft {
			lower := -(melF[i] - f) / fdLo
			upper := (melF[i+2] - f) / fdHi
			w := math.Max(0, math.Min(lower, upper)) * enorm
			// librosa stores the filterbank as float32.
			w = float64(float32(w))
			b.weights[i][k] = w
			if w != 0 {
				b.lo[i] = min(b.lo[i], k)
				b.hi[i] = max(b.hi[i], k+1)
			}
		}
	}
	return b
}

// features returns the [p808Frames × numMels] P.808 input for x (144000 samples).
func (b *melBank) features(x []float32) []float32 {
	n := len(x)
	pad := melFFT / 2
	frames := 1 + (n+2*pad-melFFT)/melHop
	fft := fourier.NewFFT(melFFT)
	seq := make([]float64, melFFT)
	coef := make([]complex128, melBins)
	power := make([]float64, melBins)
	mel := make([]float64, frames*numMels)
	for t := 0; t < frames; t++ {
		start := t*melHop - pad
		for i := range seq {
			j := start + i
			v := 0.0
			if j >= 0 && j < n {
				v = float64(x[j])
			}
			seq[i] = v * b.window[i]
		}
		fft.Coefficients(coef, seq)
		for k, c := range coef {
			power[k] = real(c)*real(c) + imag(c)*imag(c)
		}
		row := mel[t*numMels : (t+1)*numMels]
		for m := range row {
			s := 0.0
			for k := b.lo[m]; k < b.hi[m]; k++ {
				s += b.weights[m][k] * power[k]
			}
			row[m] = s
		}
	}
	// power_to_db(S, ref=np.max, amin=1e-10, top_db=80)
	const amin = 1e-10
	ref := 0.0
	for _, v := range mel {
		ref = math.Max(ref, v)
	}
	refDB := 10 * math.Log10(math.Max(amin, ref))
	top := math.Inf(-1)
	for i, v := range mel {
		mel[i] = 10*math.Log10(math.Max(amin, v)) - refDB
		top = math.Max(top, mel[i])
	}
	out := make([]float32, len(mel))
	for i, v := range mel {
		out[i] = float32((math.Max(v, top-80) + 40) / 40)
	}
	return out
}
