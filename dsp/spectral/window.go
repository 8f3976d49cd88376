// Package spectral provides analysis windows, framing, and a short-time
// Fourier transform whose inverse reconstructs the signal exactly, offline
// or in a stream.
package spectral

import "math"

// Hann returns the periodic (DFT-even) Hann window of length n:
// w[i] = 0.5 - 0.5·cos(2πi/n). Overlapped at hops of n/2 or n/4 it sums to a
// constant, which makes it the usual STFT window.
func Hann(n int) []float64 { return cosineWindow(n, n, 0.5, 0.5) }

// HannSymmetric returns the symmetric Hann window of length n:
// w[i] = 0.5 - 0.5·cos(2πi/(n-1)), zero at both ends.
func HannSymmetric(n int) []float64 { return cosineWindow(n, n-1, 0.5, 0.5) }

// SqrtHann returns the square root of the periodic Hann window, sin(πi/n).
// Used for both analysis and synthesis at 50% overlap, its squares sum to 1.
func SqrtHann(n int) []float64 {
	w := Hann(n)
	for i, v := range w {
		w[i] = math.Sqrt(v)
	}
	return w
}

// Hamming returns the periodic Hamming window of length n:
// w[i] = 0.54 - 0.46·cos(2πi/n).
func Hamming(n int) []float64 { return cosineWindow(n, n, 0.54, 0.46) }

// HammingSymmetric returns the symmetric Hamming window of length n:
// w[i] = 0.54 - 0.46·cos(2πi/(n-1)).
func HammingSymmetric(n int) []float64 { return cosineWindow(n, n-1, 0.54, 0.46) }

// Rectangular returns n ones.
func Rectangular(n int) []float64 {
	w := make([]float64, max(n, 0))
	for i := range w {
		w[i] = 1
	}
	return w
}

// cosineWindow returns a - b·cos(2πi/period) for i in [0, n). A window of
// length 1 is [1].
func cosineWindow(n, period int, a, b float64) []float64 {
	if n <= 0 {
		return nil
	}
	w := make([]float64, n)
	if n == 1 {
		w[0] = 1
		return w
	}
	for i := range w {
		w[i] = a - b*math.Cos(2*math.Pi*float64(i)/float64(period))
	}
	return w
}
