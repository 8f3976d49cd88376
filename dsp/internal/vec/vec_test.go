package vec

import "testing"

func TestRemoveMean(t *testing.T) {
	x := []float64{1, 2, 3, 6}
	RemoveMean(x)
	for i, want := range []float64{-2, -1, 0, 3} {
		if x[i] != want {
			t.Fatalf("RemoveMean = %v, want [-2 -1 0 3]", x)
		}
	}
}
