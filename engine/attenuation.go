package engine

import (
	"fmt"
	"math"

	"github.com/restoregrad/restoregrad/models/sampler"
)

// FullStrength is the attenuation limit, in dB, at and above which the denoiser's output is
// used as it is (no limit).
const FullStrength = 100.0

// AttenuationGain turns an attenuation limit in dB into the weight g of the noisy input in
// output = x̂ + g·(y − x̂): g = 10^(−dB/20), so the removed part y − x̂ is pushed down by
// at most dB. 0 dB gives g = 1 (the input, unchanged); FullStrength or more gives g = 0
// (the denoiser's output).
func AttenuationGain(db float64) (float32, error) {
	if math.IsNaN(db) || db < 0 {
		return 0, fmt.Errorf("attenuation limit %v dB: want 0 (no denoising) to %g (full strength)", db, FullStrength)
	}
	if db >= FullStrength {
		return 0, nil
	}
	return float32(math.Pow(10, -db/20)), nil
}

// limitMix overwrites est with est + g·(noisy − est), g moving linearly from g0 to g1
// across the slice so that a change of limit does not click.
func limitMix(est, noisy []float32, g0, g1 float32) {
	if g0 == 0 && g1 == 0 {
		return
	}
	step := (g1 - g0) / float32(len(est))
	for i, x := range est {
		g := g0 + step*float32(i+1)
		est[i] = x + g*(noisy[i]-x)
	}
}

// Limited applies an attenuation limit to a FrameProcessor: each output sample x̂ is mixed
// with the input sample it estimates, the input delayed by the processor's latency. It
// is itself a FrameProcessor with the same rate, frame size and latency, so it goes under
// Realtime (whose bypass then passes the same aligned input). Process allocates nothing
// beyond what the wrapped processor's does.
type Limited struct {
	FrameProcessor
	n, lat  int
	g, next float32
	delay   []float32 // input delay line: lat samples, then the newest frame
}

// NewLimited wraps p with the limit db (see AttenuationGain).
func NewLimited(p FrameProcessor, db float64) (*Limited, error) {
	g, err := AttenuationGain(db)
	if err != nil {
		return nil, err
	}
	n, lat := p.FrameSize(), p.Latency()
	if n <= 0 || lat < 0 {
		return nil, fmt.Errorf("attenuation limit: processor reports frame %d, latency %d", n, lat)
	}
	return &Limited{FrameProcessor: p, n: n, lat: lat, g: g, next: g, delay: make([]float32, lat+n)}, nil
}

// SetLimit changes the limit from the next frame on; the change is ramped over that frame.
// It belongs to the goroutine that calls Process.
func (l *Limited) SetLimit(db float64) error {
	g, err := AttenuationGain(db)
	if err != nil {
		return err
	}
	l.next = g
	return nil
}

// Process runs the processor and mixes the aligned input back in.
func (l *Limited) Process(out, in []float32) error {
	if len(in) != l.n || len(out) != l.n {
		return fmt.Errorf("attenuation limit: frame of %d in, %d out, want %d", len(in), len(out), l.n)
	}
	copy(l.delay[l.lat:], in)
	err := l.FrameProcessor.Process(out, in)
	if err == nil {
		limitMix(out, l.delay[:l.n], l.g, l.next)
		l.g = l.next
	}
	copy(l.delay, l.delay[l.n:])
	return err
}

// Reset forgets the stream state of the processor and of the delay line; the new stream
// starts at the limit last set, without a ramp.
func (l *Limited) Reset() {
	l.FrameProcessor.Reset()
	clear(l.delay)
	l.g = l.next
}

// LimitEnhancer applies an attenuation limit to a whole-signal Enhancer: the output is
// already aligned with its input, so each sample is mixed with the input sample at the
// same index.
func LimitEnhancer(enh Enhancer, db float64) (Enhancer, error) {
	g, err := AttenuationGain(db)
	if err != nil {
		return nil, err
	}
	if g == 0 {
		return enh, nil
	}
	return limitedEnhancer{enh, g}, nil
}

type limitedEnhancer struct {
	Enhancer
	g float32
}

// PreferredChunk passes the wrapped Enhancer's chunk length on.
func (e limitedEnhancer) PreferredChunk() int { return preferredChunk(e.Enhancer) }

func (e limitedEnhancer) Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	if err := e.Enhancer.Enhance(out, y, steps, noise, offset); err != nil {
		return err
	}
	limitMix(out, y, e.g, e.g)
	return nil
}
