package engine

import "testing"

func TestInputGain(t *testing.T) {
	for _, c := range []struct {
		rms, target float64
		want        float32
	}{
		{0.1, 0, 1},       // the bundle does not normalise
		{0, 0, 1},         // not even silence
		{0.05, 0.05, 1},   // already at the level
		{0.2, 0.05, 0.25}, // loud: turned down
		{0, 0.05, 100},    // silence: capped at 100×
		{1e-6, 0.05, 100},
	} {
		if got := InputGain(c.rms, c.target); got != c.want {
			t.Errorf("InputGain(%g, %g) = %g, want %g", c.rms, c.target, got, c.want)
		}
	}
}
