package main

import (
	"fmt"
	"os"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/streaming"
)

// openStreamingProcessor runs a streaming (causal `rt`) bundle frame by frame: one hop per
// frame, one cache set per reverse step, one ONNX Runtime thread, no latency beyond the hop.
func openStreamingProcessor(b *bundle.Bundle, steps int) (engine.FrameProcessor, error) {
	if !b.Manifest.Trained {
		fmt.Fprintf(os.Stderr, "warning: model %s is UNTRAINED (exported random weights): its output is not denoised speech\n", b.Manifest.Name)
	}
	p, err := streaming.Open(b, streaming.Options{Threads: 1, Steps: steps, Seed: 1})
	if err != nil {
		return nil, err
	}
	return p, nil
}
