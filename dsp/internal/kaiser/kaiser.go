// Package kaiser holds the numerics shared by the Kaiser-windowed sinc
// filters in dsp/resample and dsp/stoi.
package kaiser

// BesselI0 is the modified Bessel function of the first kind, order zero, by
// its power series, which converges quickly for the Kaiser betas of audio
// filters (up to about 20).
func BesselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 500; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}
