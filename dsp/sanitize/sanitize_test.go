package sanitize

import (
	"math"
	"testing"
)

func TestSamples(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	x := []float32{0.5, nan, inf, -inf, 1e30, -1e30, 1, -1, 1.0001, -0.25, 0}
	want := []float32{0.5, 0, 1, -1, 1, -1, 1, -1, 1, -0.25, 0}
	if n := Samples(x); n != 6 {
		t.Errorf("replaced %d samples, want 6", n)
	}
	for i := range x {
		if x[i] != want[i] {
			t.Errorf("x[%d] = %v, want %v", i, x[i], want[i])
		}
	}
	if n := Samples(x); n != 0 {
		t.Errorf("second pass replaced %d samples", n)
	}
}

func TestSamplesAllocatesNothing(t *testing.T) {
	x := make([]float32, 256)
	if a := testing.AllocsPerRun(10, func() { Samples(x) }); a != 0 {
		t.Errorf("%v allocations", a)
	}
}
