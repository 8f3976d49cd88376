package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/dsp/internal/devset"
)

// TestDevSet checks SI-SDR and SNR against reference_metrics.tsv and that
// the composite measures, fed the reference PESQ-WB, land where the
// VoiceBank+DEMAND literature puts the noisy test set (CSIG 3.35, CBAK 2.44,
// COVL 2.63, SegSNR 1.68 dB over all 824 files).
func TestDevSet(t *testing.T) {
	rows := devset.Reference(t, "si_sdr", "snr", "pesq_wb")
	var maxSD, maxSNR float64
	var sig, bak, ovl, seg float64
	var elapsed time.Duration
	for _, p := range rows {
		clean, noisy, rate := p.Load(t)
		row := p.Ref
		start := time.Now()
		sd, err := SISDR(clean, noisy)
		if err != nil {
			t.Fatal(err)
		}
		snr, err := SNR(clean, noisy)
		if err != nil {
			t.Fatal(err)
		}
		s, b, o, err := Composite(clean, noisy, rate, row["pesq_wb"])
		if err != nil {
			t.Fatal(err)
		}
		g, err := SegSNR(clean, noisy, rate)
		if err != nil {
			t.Fatal(err)
		}
		elapsed += time.Since(start)
		maxSD = max(maxSD, math.Abs(sd-row["si_sdr"]))
		maxSNR = max(maxSNR, math.Abs(snr-row["snr"]))
		sig, bak, ovl, seg = sig+s, bak+b, ovl+o, seg+g
	}
	n := float64(len(rows))
	t.Logf("%d pairs: SI-SDR max |err| %.2e dB, SNR max |err| %.2e dB; mean CSIG %.3f CBAK %.3f COVL %.3f SegSNR %.3f dB; time %v",
		len(rows), maxSD, maxSNR, sig/n, bak/n, ovl/n, seg/n, elapsed)
	if maxSD > 1e-3 {
		t.Errorf("SI-SDR differs from reference by up to %.4f dB", maxSD)
	}
	if maxSNR > 1e-3 {
		t.Errorf("SNR differs from reference by up to %.4f dB", maxSNR)
	}
	// 43 files are a sample of 824; allow generous slack around the
	// published means, enough to catch a broken measure, not a rounding.
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"CSIG", sig / n, 3.35, 0.3}, {"CBAK", bak / n, 2.44, 0.3}, {"COVL", ovl / n, 2.63, 0.3},
		// The published 1.68 dB comes from the SEGAN-era Python port, which
		// removes DC and rescales the processed signal to the clean peak
		// before framing; composite.m (followed here) has those lines
		// commented out, and scores this subset about 0.8 dB higher.
		{"SegSNR", seg / n, 1.68, 1.5},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("mean %s %.3f, published %.2f", c.name, c.got, c.want)
		}
	}
}
