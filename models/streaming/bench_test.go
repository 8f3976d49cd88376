package streaming

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/modeltest"
)

// EnvBenchBundle names the streaming bundle BenchmarkFrame and TestBench run (default: the
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
// steps; RTF is the time per frame over the frame's duration.
//
//	RESTOREGRAD_RT_BUNDLE=/tmp/rt go test -run '^$' -bench Frame -benchtime 2000x ./models/streaming/
func BenchmarkFrame(b *testing.B) {
	bun := benchBundle(b)
	for _, steps := range []int{1, 2, 3, 6} {
		b.Run(fmt.Sprintf("steps=%d", steps), func(b *testing.B) {
			p, err := Open(bun, Options{Threads: 1, Steps: steps, MaxSteps: 6})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			in, out := signal(p.FrameSize()), make([]float32, p.FrameSize())
			for range 20 {
				p.Process(out, in)
			}
			p.ResetFrameStats()
			b.ResetTimer()
			for range b.N {
				if err := p.Process(out, in); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			s := p.FrameStats()
			frame := float64(p.FrameSize()) / float64(p.SampleRate()) * 1e9
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/frame, "RTF")
			b.ReportMetric(float64(s.P99.Microseconds()), "p99-µs")
			b.ReportMetric(float64(s.Max.Microseconds()), "max-µs")
		})
	}
}

// TestBench prints Bench's report (RTF, frame-time percentiles, latency) when asked:
//
//	RESTOREGRAD_RT_BENCH=30 RESTOREGRAD_RT_BUNDLE=/tmp/rt go test -run TestBench -v ./models/streaming/
func TestBench(t *testing.T) {
	secs := os.Getenv("RESTOREGRAD_RT_BENCH")
	if secs == "" {
		t.Skip("set RESTOREGRAD_RT_BENCH=SECONDS to run")
	}
	var seconds float64
	fmt.Sscan(secs, &seconds)
	p, err := Open(benchBundle(t), Options{Threads: 1, MaxSteps: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	t.Logf("bundle %s (%s), hop %d, 1 ORT thread", p.Bundle().Manifest.Name, p.Bundle().Source, p.FrameSize())
	start := time.Now()
	for _, steps := range []int{1, 2, 3, 6} {
		r, err := Bench(p, steps, seconds)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(r)
	}
	t.Logf("wall %v", time.Since(start).Round(time.Millisecond))
}
