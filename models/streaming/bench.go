package streaming

import (
	"fmt"
	"math"
	"time"
)

// BenchResult is the cost of running a processor in real time at one step count.
type BenchResult struct {
	Steps   int
	Seconds float64 // audio processed
	// RTF is processing (wall) time over audio time (1 = just real time).
	RTF float64
	// CPURTF is the process's CPU time over audio time: what the run costs when it does
	// not have to wait for a shared CPU (0 where unknown).
	CPURTF float64
	Frame  FrameStats
	// Hop, Lookahead and AlgorithmicLatency describe the model: the algorithmic latency is
	// the hop plus the look-ahead beyond it (0 for a causal bundle).
	Hop                int
	Lookahead          int
	AlgorithmicLatency time.Duration
}

func (r BenchResult) String() string {
	return fmt.Sprintf("steps %d: RTF %.4f (CPU time %.4f), per %d-sample frame p50 %v p99 %v max %v (%d frames); algorithmic latency %v (look-ahead %d samples inside the hop)",
		r.Steps, r.RTF, r.CPURTF, r.Hop, r.Frame.P50, r.Frame.P99, r.Frame.Max, r.Frame.Frames, r.AlgorithmicLatency, r.Lookahead)
}

// Bench runs seconds of a synthetic noisy signal through p at the given step count, after
// a one-second warm-up, and reports the real-time factor and per-frame times. It resets p
// before and after, and leaves the step count as it found it.
func Bench(p *Processor, steps int, seconds float64) (BenchResult, error) {
	prev := p.Steps()
	defer func() {
		p.SetSteps(prev)
		p.Reset()
	}()
	if err := p.SetSteps(steps); err != nil {
		return BenchResult{}, err
	}
	rate, hop := p.SampleRate(), p.FrameSize()
	in, out := make([]float32, hop), make([]float32, hop)
	frames := max(1, int(seconds*float64(rate))/hop)
	warm := max(1, rate/hop)
	p.Reset()
	var elapsed, cpu time.Duration
	var lcg uint32 = 1
	for f := 0; f < warm+frames; f++ {
		for i := range in {
			n := f*hop + i
			lcg = lcg*1664525 + 1013904223
			noise := float64(lcg>>8)/(1<<24) - 0.5
			in[i] = float32(0.3*math.Sin(2*math.Pi*220*float64(n)/float64(rate))*math.Sin(2*math.Pi*3*float64(n)/float64(rate)) + 0.1*noise)
		}
		if f == warm {
			p.ResetFrameStats()
			cpu = cpuTime()
		}
		t0 := time.Now()
		if err := p.Process(out, in); err != nil {
			return BenchResult{}, err
		}
		if f >= warm {
			elapsed += time.Since(t0)
		}
	}
	cpu = cpuTime() - cpu
	audio := float64(frames*hop) / float64(rate)
	c := p.Contract()
	return BenchResult{
		Steps: steps, Seconds: audio, RTF: elapsed.Seconds() / audio, CPURTF: cpu.Seconds() / audio, Frame: p.FrameStats(),
		Hop: hop, Lookahead: c.Lookahead,
		AlgorithmicLatency: time.Duration(float64(c.AlgorithmicLatency) / float64(rate) * float64(time.Second)),
	}, nil
}
