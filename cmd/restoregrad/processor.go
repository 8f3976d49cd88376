package main

import (
	"github.com/restoregrad/restoregrad/engine"
)

// defaultLiveModel is the model live and virtual-mic use without --model: the shipped
// streaming model, by its alias (zoo.Resolve), which every command accepts.
const defaultLiveModel = "rt"

// liveSeed is the diffusion noise seed of live use.
const liveSeed = 1

// openProcessor returns the frame processor live and virtual-mic run: the passthrough test
// processor, or the model through the front door with the runtime flags rt (whose model
// name and step count are ignored). The model's sessions live until the process exits.
func openProcessor(model string, steps int, rt modelFlags) (engine.FrameProcessor, error) {
	if engine.IsPassthrough(model) {
		return engine.NewPassthrough(model, steps)
	}
	rt.name, rt.steps = model, steps
	r, err := rt.open(liveSeed)
	if err != nil {
		return nil, err
	}
	p, err := r.Frames()
	if err != nil {
		r.Close()
		return nil, err
	}
	return p, nil
}
