package eval

import (
	"context"
	"fmt"
	"sync"
)

// Processor is a streaming model as StreamSystem and BenchStream run it: a mono stream at
// SampleRate, one FrameSize frame per Process call, out lagging in by Latency samples;
// Reset starts a new stream. Steps labels the results (0: not a diffusion model). The
// frame processors of models.Runner.Frames are ones.
type Processor interface {
	SampleRate() int
	FrameSize() int
	Latency() int
	Process(out, in []float32) error
	Steps() int
	Reset()
}

// StreamSystem runs a streaming model frame by frame, exactly as the live engine does:
// Reset at the start of every file, one hop per Process call, the output shifted back by
// the processor's latency. A Processor holds stream state, so files take turns on it.
type StreamSystem struct {
	Name string
	Proc Processor

	mu sync.Mutex
}

// Info implements System.
func (s *StreamSystem) Info() SystemInfo {
	return SystemInfo{Name: s.Name, Steps: s.Proc.Steps(), Timed: true, Kind: KindModel}
}

// Enhance implements System.
func (s *StreamSystem) Enhance(ctx context.Context, _ Pair, noisy []float32, rate int) ([]float32, int, error) {
	mr := s.Proc.SampleRate()
	y := toRate(noisy, rate, mr)
	hop, lat := s.Proc.FrameSize(), s.Proc.Latency()
	frames := (len(y) + lat + hop - 1) / hop
	in := make([]float32, frames*hop) // zero tail: flushes the latency
	copy(in, y)
	out := make([]float32, len(in))

	s.mu.Lock()
	defer s.mu.Unlock()
	s.Proc.Reset()
	for f := 0; f < frames; f++ {
		if f%64 == 0 && ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		if err := s.Proc.Process(out[f*hop:(f+1)*hop], in[f*hop:(f+1)*hop]); err != nil {
			return nil, 0, fmt.Errorf("frame %d: %w", f, err)
		}
	}
	return out[lat : lat+len(y)], mr, nil
}
