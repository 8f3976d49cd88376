package eval

import (
	"context"
	"strconv"
)

// ViaRate runs a system the way a sound device at Rate (44.1 or 48 kHz) reaches it: the
// 16 kHz noisy file goes up to Rate, the system takes it from there (a model resamples to its
// own rate and back, as live, virtual-mic and the plugin do), and the output comes back at
// Rate, to be scored at the scoring rate. Every conversion is the project's resampler, whose
// round trip alone scores exactly as the files.
type ViaRate struct {
	System System
	Rate   int
}

// Info implements System: the inner system's, its name marked with the device rate
// ("restoregrad-rt/48k").
func (v *ViaRate) Info() SystemInfo {
	i := v.System.Info()
	i.Name += "/" + rateLabel(v.Rate)
	return i
}

// Enhance implements System.
func (v *ViaRate) Enhance(ctx context.Context, p Pair, noisy []float32, rate int) ([]float32, int, error) {
	out, outRate, err := v.System.Enhance(ctx, p, toRate(noisy, rate, v.Rate), v.Rate)
	if err != nil {
		return nil, 0, err
	}
	return toRate(out, outRate, v.Rate), v.Rate, nil
}

// rateLabel is 48000 -> "48k", 44100 -> "44.1k".
func rateLabel(rate int) string {
	return strconv.FormatFloat(float64(rate)/1000, 'f', -1, 64) + "k"
}
