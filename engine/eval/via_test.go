package eval

import (
	"context"
	"math"
	"testing"
)

// rateRecorder is a system that records the rate it was given and returns its input.
type rateRecorder struct{ got []int }

func (r *rateRecorder) Info() SystemInfo { return SystemInfo{Name: "rec", Steps: 2, Kind: KindModel} }
func (r *rateRecorder) Enhance(_ context.Context, _ Pair, noisy []float32, rate int) ([]float32, int, error) {
	r.got = append(r.got, rate, len(noisy))
	return noisy, rate, nil
}

func TestViaRateReachesTheSystemAtTheDeviceRate(t *testing.T) {
	rec := &rateRecorder{}
	v := &ViaRate{System: rec, Rate: 44100}
	if got := v.Info().Label(); got != "rec/44.1k@2" {
		t.Errorf("label %q, want rec/44.1k@2", got)
	}
	x := make([]float32, 16000)
	for i := range x {
		x[i] = float32(0.3 * math.Sin(2*math.Pi*440*float64(i)/16000))
	}
	out, rate, err := v.Enhance(context.Background(), Pair{}, x, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if rec.got[0] != 44100 || rec.got[1] != 44100 {
		t.Errorf("system saw %d samples at %d Hz, want 44100 at 44100", rec.got[1], rec.got[0])
	}
	if rate != 44100 || len(out) != 44100 {
		t.Errorf("output %d samples at %d Hz, want 44100 at 44100", len(out), rate)
	}
	// An identity system through the device path is the resampler's round trip: transparent.
	back := toRate(out, rate, 16000)
	var num, den float64
	for i := 200; i < len(x)-200; i++ {
		d := float64(back[i] - x[i])
		num += float64(x[i]) * float64(x[i])
		den += d * d
	}
	if snr := 10 * math.Log10(num/den); snr < 60 {
		t.Errorf("identity via 44.1 kHz: %.1f dB SNR against the input, want > 60", snr)
	}
	if (&ViaRate{System: rec, Rate: 48000}).Info().Name != "rec/48k" {
		t.Error("48 kHz label")
	}
}
