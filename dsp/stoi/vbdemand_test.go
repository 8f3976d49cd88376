package stoi

import (
	"math"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/dsp/internal/devset"
)

// TestDevSetAgainstPystoi compares STOI and ESTOI with the pystoi values in
// ../shared/data/vbdemand-dev/reference_metrics.tsv (noisy vs clean).
func TestDevSetAgainstPystoi(t *testing.T) {
	rows := devset.Reference(t, "stoi", "estoi")
	var sumS, sumE, maxS, maxE float64
	var elapsed time.Duration
	for _, p := range rows {
		clean, noisy, rate := p.Load(t)
		refS, refE := p.Ref["stoi"], p.Ref["estoi"]
		start := time.Now()
		s, err := STOI(clean, noisy, rate)
		if err != nil {
			t.Fatalf("%s: STOI: %v", p.Utt, err)
		}
		e, err := ESTOI(clean, noisy, rate)
		if err != nil {
			t.Fatalf("%s: ESTOI: %v", p.Utt, err)
		}
		elapsed += time.Since(start)
		ds, de := math.Abs(s-refS), math.Abs(e-refE)
		sumS += ds
		sumE += de
		maxS, maxE = max(maxS, ds), max(maxE, de)
		if testing.Verbose() {
			t.Logf("%s stoi %.6f (ref %.6f) estoi %.6f (ref %.6f)", p.Utt, s, refS, e, refE)
		}
	}
	n := float64(len(rows))
	t.Logf("%d pairs: STOI |err| mean %.2e max %.2e; ESTOI |err| mean %.2e max %.2e; STOI+ESTOI time %v",
		len(rows), sumS/n, maxS, sumE/n, maxE, elapsed)
	if sumS/n > 0.005 {
		t.Errorf("STOI mean absolute error %.4f > 0.005", sumS/n)
	}
	if sumE/n > 0.005 {
		t.Errorf("ESTOI mean absolute error %.4f > 0.005", sumE/n)
	}
	// The port matches pystoi to the 6 decimals of the reference file; a
	// larger worst case means the algorithm drifted, even inside the budget.
	if maxS > 1e-5 || maxE > 1e-5 {
		t.Errorf("worst-case error STOI %.2e ESTOI %.2e > 1e-5", maxS, maxE)
	}
}
