// Package vec holds the in-place vector numerics that dsp/metrics and dsp/stoi share.
package vec

// RemoveMean subtracts the mean of x from every element of x. x must not be empty.
func RemoveMean(x []float64) {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	for i := range x {
		x[i] -= m
	}
}
