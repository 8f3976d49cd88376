package main

import (
	"fmt"
	"os"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/zoo"
)

func init() { newFrameProcessor = openModelProcessor }

// Block sizes for running an offline bundle live: each 100 ms frame is enhanced inside a
// window with 50 ms of context on each side (2× the compute of whole-file use).
const (
	blockFrameSeconds  = 0.100
	blockMarginSeconds = 0.050
)

// openModelProcessor resolves a model for live use. "rt" means the shipped streaming model,
// or the default offline model run in blocks while no streaming model is shipped.
func openModelProcessor(name string, steps int) (engine.FrameProcessor, error) {
	var b *bundle.Bundle
	var err error
	if name == defaultLiveModel {
		if b, err = zoo.Find(zoo.DefaultStreaming); err != nil {
			fmt.Fprintf(os.Stderr, "note: no streaming model %s shipped; running %s in %.0f ms blocks (%.0f ms extra latency)\n",
				zoo.DefaultStreaming, zoo.DefaultOffline, blockFrameSeconds*1000, blockMarginSeconds*1000)
			b, err = zoo.Find(zoo.DefaultOffline)
		}
	} else {
		b, err = zoo.Find(name)
	}
	if err != nil {
		return nil, err
	}
	if b.Manifest.Kind == bundle.KindStreaming {
		return openStreamingProcessor(b, steps)
	}
	if b.Manifest.Kind != bundle.KindOffline {
		return nil, fmt.Errorf("model %s: %s bundles are not supported by this build", b.Manifest.Name, b.Manifest.Kind)
	}
	m, err := models.Open(b, ort.Options{Threads: 1})
	if err != nil {
		return nil, err
	}
	warnUntrained(&b.Manifest)
	maxSteps := b.Manifest.DefaultSteps
	if steps == 0 {
		steps = maxSteps
	}
	if steps > maxSteps {
		maxSteps = steps
	}
	rate := float64(m.SampleRate())
	margin := max(m.Context(), int(blockMarginSeconds*rate))
	p, err := engine.NewBlockProcessor(m, int(blockFrameSeconds*rate), margin, steps, maxSteps, 1)
	if err != nil {
		m.Close()
		return nil, err
	}
	return p, nil
}
