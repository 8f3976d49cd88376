package stoi

import (
	"math"

	"github.com/restoregrad/restoregrad/dsp/internal/kaiser"
)

// resampleOct converts x from inRate to outRate with the polyphase filter
// that pystoi uses (utils.resample_oct): the Octave resample() anti-aliasing
// filter (Kaiser-windowed sinc, 60 dB rejection, roll-off 10% of the cut-off),
// normalised to unit DC gain and applied the way scipy.signal.resample_poly
// applies an explicit window: zero padding at both ends, the filter centred
// on each output sample, ceil(len(x)*up/down) output samples.
//
// A dedicated resampler rather than a general one, because STOI scores move
// by several thousandths when the anti-aliasing filter changes.
func resampleOct(x []float64, outRate, inRate int) []float64 {
	g := gcd(outRate, inRate)
	up, down := outRate/g, inRate/g
	if up == 1 && down == 1 {
		return append([]float64(nil), x...)
	}
	h := octaveWindow(up, down)
	half := (len(h) - 1) / 2

	nOut := (len(x)*up + down - 1) / down
	y := make([]float64, nOut)
	for m := range y {
		// Output m sits at position c = m*down in the upsampled signal;
		// y[m] = up * sum_j h[j] * u[c + half - j], u nonzero only at n*up.
		c := m*down + half
		nLo := ceilDiv(c-len(h)+1, up)
		if nLo < 0 {
			nLo = 0
		}
		nHi := c / up
		if nHi > len(x)-1 {
			nHi = len(x) - 1
		}
		var s float64
		for n := nLo; n <= nHi; n++ {
			s += h[c-n*up] * x[n]
		}
		y[m] = s * float64(up)
	}
	return y
}

// octaveWindow returns the anti-aliasing filter of Octave's resample for the
// reduced ratio up/down, divided by its sum (pystoi's _resample_window_oct
// followed by its normalisation).
func octaveWindow(up, down int) []float64 {
	const rejectionDB = 60.0 // -20 * log10(1e-3)
	p := float64(up)
	stopband := 1.0 / (2 * float64(max(up, down)))
	rollOff := stopband / 10
	L := int(math.Ceil((rejectionDB - 8) / (28.714 * rollOff)))
	beta := 0.1102 * (rejectionDB - 8.7)

	n := 2*L + 1
	h := make([]float64, n)
	i0b := kaiser.BesselI0(beta)
	alpha := float64(n-1) / 2
	var sum float64
	for i := range h {
		t := float64(i - L)
		r := (float64(i) - alpha) / alpha
		w := kaiser.BesselI0(beta*math.Sqrt(math.Max(0, 1-r*r))) / i0b
		h[i] = w * 2 * p * stopband * sinc(2*stopband*t)
		sum += h[i]
	}
	for i := range h {
		h[i] /= sum
	}
	return h
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	y := math.Pi * x
	return math.Sin(y) / y
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// ceilDiv is ceil(a/b) for b > 0 and any sign of a.
func ceilDiv(a, b int) int {
	if a >= 0 {
		return (a + b - 1) / b
	}
	return -((-a) / b)
}
