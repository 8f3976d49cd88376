package pesq

import "math"

func nextPow2(x int) int {
	c := 1
	for c < x {
		c <<= 1
	}
	return c
}

// interpolate evaluates a piecewise linear dB curve at freq, extrapolating
// linearly beyond its ends.
func interpolate(freq float32, curve []curvePoint) float32 {
	f := float64(freq)
	n := len(curve)
	var lo, hi curvePoint
	switch {
	case f <= curve[0].hz:
		lo, hi = curve[0], curve[1]
	case f >= curve[n-1].hz:
		lo, hi = curve[n-2], curve[n-1]
	default:
		i := 1
		for curve[i].hz < f {
			i++
		}
		lo, hi = curve[i-1], curve[i]
	}
	return float32(((f-lo.hz)*hi.db + (hi.hz-f)*lo.db) / (hi.hz - lo.hz))
}

// iirFilter runs cascaded direct-form-II biquads {b0 b1 b2 a1 a2} in place,
// from zero state.
func iirFilter(h []float32, x []float32) {
	for s := 0; s+5 <= len(h); s += 5 {
		b0, b1, b2, a1, a2 := h[s], h[s+1], h[s+2], h[s+3], h[s+4]
		var z1, z2 float32
		for i, v := range x {
			z0 := v - a1*z1 - a2*z2
			x[i] = b0*z0 + b1*z1 + b2*z2
			z2 = z1
			z1 = z0
		}
	}
}

// powerOf is the mean square of x[start:stop] with the sum divided by div.
func powerOf(x []float32, start, stop, div int) float64 {
	var p float64
	for _, h := range x[start:stop] {
		p += float64(h * h)
	}
	return p / float64(div)
}

// hann returns a periodic Hann window of length n.
func hann(n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(0.5 * (1 - math.Cos(2*math.Pi*float64(i)/float64(n))))
	}
	return w
}
