package streaming

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// EnvBenchBundle names the streaming bundle BenchmarkFrame runs (default: the
// tiny test bundle), e.g. a full-size `rt` export or models/zoo/restoregrad-rt.
const EnvBenchBundle = "RESTOREGRAD_RT_BUNDLE"

func benchBundle(t testing.TB) *bundle.Bundle {
	t.Helper()
	modeltest.RequireRuntime(t)
	dir := os.Getenv(EnvBenchBundle)
	if dir == "" {
		dir = tinyDir
	}
	b, err := bundle.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkFrame times Process per frame with one ONNX Runtime thread at 1, 2, 3 and 6
// steps; RTF is the compute time per frame over the frame's duration. paced=true waits one
// frame period between frames, as live use does (the wait is not timed): on a loaded
// machine a frame then costs several times more than back to back, which is why live's RTF
// is above restoregrad bench's (issue 13).
//
//	RESTOREGRAD_RT_BUNDLE=$PWD/models/zoo/restoregrad-rt go test -run '^$' -bench Frame -benchtime 500x ./models/streaming/
func BenchmarkFrame(b *testing.B) {
	bun := benchBundle(b)
	for _, paced := range []bool{false, true} {
		for _, steps := range []int{1, 2, 3, 6} {
			b.Run(fmt.Sprintf("paced=%v/steps=%d", paced, steps), func(b *testing.B) {
				p, err := Open(bun, Options{Runtime: ort.Options{Threads: 1}, Steps: steps, MaxSteps: 6, Noise: sampler.CounterNoise{}})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				in, out := signal(p.FrameSize()), make([]float32, p.FrameSize())
				period := time.Duration(p.FrameSize()) * time.Second / time.Duration(p.SampleRate())
				for range 20 {
					p.Process(out, in)
				}
				b.ResetTimer()
				for range b.N {
					if paced {
						b.StopTimer()
						time.Sleep(period)
						b.StartTimer()
					}
					if err := p.Process(out, in); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(period), "RTF")
			})
		}
	}
}
