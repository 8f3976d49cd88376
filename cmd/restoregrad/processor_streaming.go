package main

import (
	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/streaming"
)

// openStreamingProcessor runs a streaming (causal `rt`) bundle frame by frame: one hop per
// frame, one cache set per reverse step, one ONNX Runtime thread, no latency beyond the hop.
func openStreamingProcessor(b *bundle.Bundle, steps int) (engine.FrameProcessor, error) {
	warnUntrained(&b.Manifest)
	p, err := streaming.Open(b, streaming.Options{Threads: 1, Steps: steps, Seed: 1})
	if err != nil {
		return nil, err
	}
	return p, nil
}
