package engine

// A passthrough is a FrameProcessor that copies its input, for testing the live audio path
// without a model (--model passthrough).
//
// Model names:
//
//	passthrough                     48 kHz, 10 ms frames, no latency
//	passthrough:16000               another rate (exercises the resamplers)
//	passthrough:48000,step-cost=3ms each "step" sleeps 3 ms per frame: an artificially slow
//	                                model for overload tests (6 steps = 18 ms per 10 ms frame)
//	passthrough:16000,latency=80    report (and apply) 80 samples of latency

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// passthroughMaxSteps is the step range a passthrough offers the live controller.
const passthroughMaxSteps = 6

// passthrough is the FrameProcessor NewPassthrough returns.
type passthrough struct {
	rate, n, lat int
	steps        int
	stepCost     time.Duration
	delay        []float32
}

// IsPassthrough reports whether a model name asks for the passthrough test processor.
func IsPassthrough(model string) bool {
	return model == "passthrough" || strings.HasPrefix(model, "passthrough:")
}

// NewPassthrough returns the passthrough test processor a model name describes (see
// IsPassthrough), at steps (0: its most).
func NewPassthrough(model string, steps int) (FrameProcessor, error) {
	p := &passthrough{rate: 48000, steps: passthroughMaxSteps}
	if _, opts, ok := strings.Cut(model, ":"); ok {
		for _, o := range strings.Split(opts, ",") {
			k, v, kv := strings.Cut(o, "=")
			var err error
			switch {
			case !kv:
				p.rate, err = strconv.Atoi(k)
			case k == "step-cost":
				p.stepCost, err = time.ParseDuration(v)
			case k == "latency":
				p.lat, err = strconv.Atoi(v)
			default:
				err = fmt.Errorf("unknown option %q", k)
			}
			if err != nil || p.rate <= 0 || p.lat < 0 {
				return nil, fmt.Errorf("model %q: bad option %q (want passthrough[:RATE][,step-cost=DUR][,latency=SAMPLES])", model, o)
			}
		}
	}
	p.n = p.rate / 100
	p.delay = make([]float32, p.lat+p.n)
	if steps > 0 {
		if err := p.SetSteps(steps); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *passthrough) SampleRate() int { return p.rate }
func (p *passthrough) FrameSize() int  { return p.n }
func (p *passthrough) Latency() int    { return p.lat }
func (p *passthrough) Steps() int      { return p.steps }
func (p *passthrough) MaxSteps() int   { return passthroughMaxSteps }
func (p *passthrough) Reset()          { clear(p.delay) }

func (p *passthrough) SetSteps(n int) error {
	if n < 1 || n > passthroughMaxSteps {
		return fmt.Errorf("passthrough: steps %d out of range [1, %d]", n, passthroughMaxSteps)
	}
	p.steps = n
	return nil
}

func (p *passthrough) Process(out, in []float32) error {
	if p.stepCost > 0 {
		time.Sleep(time.Duration(p.steps) * p.stepCost)
	}
	copy(p.delay[p.lat:], in)
	copy(out, p.delay[:p.n])
	copy(p.delay, p.delay[p.n:])
	return nil
}
