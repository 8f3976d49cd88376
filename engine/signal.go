package engine

import (
	"context"
	"fmt"
	"math"

	"github.com/restoregrad/restoregrad/models/sampler"
)

// InputGain is the gain that brings a signal of the given RMS to target (a bundle's
// input_rms), capped at 100× so that near-silence is not blown up. A target of 0 (the
// bundle does not normalise) gives 1.
func InputGain(rms, target float64) float32 {
	if target <= 0 {
		return 1
	}
	return float32(target / math.Max(rms, target/100))
}

// RMS is the root mean square of x (0 for an empty x).
func RMS(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / math.Max(1, float64(len(x))))
}

// EnhanceSignal enhances a whole signal held in memory through the chunked offline engine
// (NewOffline's cfg, steps, noise and gain) and returns the output, of y's length. It stops
// with ctx's error when ctx ends.
func EnhanceSignal(ctx context.Context, enh Enhancer, y []float32, cfg ChunkConfig, steps int, noise sampler.Noise, gain float32) ([]float32, error) {
	off, err := NewOffline(enh, cfg, steps, noise, gain)
	if err != nil {
		return nil, err
	}
	out := make([]float32, 0, len(y))
	emit := func(p []float32) error {
		out = append(out, p...)
		return ctx.Err()
	}
	if err := off.Write(y, emit); err != nil {
		return nil, err
	}
	if err := off.Flush(emit); err != nil {
		return nil, err
	}
	if len(out) != len(y) {
		return nil, fmt.Errorf("engine returned %d samples for %d", len(out), len(y))
	}
	return out, nil
}
