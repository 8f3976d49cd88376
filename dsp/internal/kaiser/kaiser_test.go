package kaiser

import (
	"math"
	"testing"
)

func TestBesselI0(t *testing.T) {
	// Values of scipy.special.i0.
	for _, c := range []struct{ x, want float64 }{
		{0, 1},
		{1, 1.2660658777520082},
		{2, 2.2795853023360673},
		{5, 27.239871823604442},
		{10, 2815.716628466254},
		{20, 4.355828255955353e7},
	} {
		got := BesselI0(c.x)
		if math.Abs(got-c.want) > 1e-14*c.want {
			t.Errorf("BesselI0(%v) = %.17g, want %.17g", c.x, got, c.want)
		}
		if BesselI0(-c.x) != got {
			t.Errorf("BesselI0(%v) = %v, not even", -c.x, BesselI0(-c.x))
		}
	}
}
