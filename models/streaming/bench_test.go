package streaming

import (
	"fmt"
	"os"
	"testing"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/ort"
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
// steps; RTF is the time per frame over the frame's duration. (restoregrad bench reports
// per-frame percentiles too.)
//
//	RESTOREGRAD_RT_BUNDLE=/tmp/rt go test -run '^$' -bench Frame -benchtime 2000x ./models/streaming/
func BenchmarkFrame(b *testing.B) {
	bun := benchBundle(b)
	for _, steps := range []int{1, 2, 3, 6} {
		b.Run(fmt.Sprintf("steps=%d", steps), func(b *testing.B) {
			p, err := Open(bun, Options{Runtime: ort.Options{Threads: 1}, Steps: steps, MaxSteps: 6})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			in, out := signal(p.FrameSize()), make([]float32, p.FrameSize())
			for range 20 {
				p.Process(out, in)
			}
			b.ResetTimer()
			for range b.N {
				if err := p.Process(out, in); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			frame := float64(p.FrameSize()) / float64(p.SampleRate()) * 1e9
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/frame, "RTF")
		})
	}
}
