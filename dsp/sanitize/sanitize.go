// Package sanitize keeps samples that are not audio out of the model: NaN becomes 0 and
// infinities and values beyond full scale become ±1, so one bad sample from a file or a
// host cannot turn a model's state, and everything after it, into NaN.
//
// Both functions are branch-light, allocate nothing and never block: they are safe on a
// real-time audio thread.
package sanitize

// Sample returns v in [-1, 1]: v itself when it already is, 0 for NaN, ±1 for anything
// beyond, and whether it replaced v.
func Sample(v float32) (float32, bool) {
	if v >= -1 && v <= 1 { // false for NaN
		return v, false
	}
	switch {
	case v > 1:
		return 1, true
	case v < -1:
		return -1, true
	}
	return 0, true
}

// Samples replaces, in place, every sample of x that Sample would replace and returns how
// many it replaced.
func Samples(x []float32) int {
	n := 0
	for i, v := range x {
		if v >= -1 && v <= 1 {
			continue
		}
		x[i], _ = Sample(v)
		n++
	}
	return n
}
