package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/zoo"
)

// modelFlags are the flags every command that runs a model shares.
type modelFlags struct {
	name        string
	steps       int
	threads     int
	provider    string
	cpuFallback bool
	ortLib      string
}

func (f *modelFlags) register(fs *flag.FlagSet, defaultModel string) {
	fs.StringVar(&f.name, "model", defaultModel, "model: a shipped or user bundle name (see: restoregrad models) or a bundle folder's path")
	fs.IntVar(&f.steps, "steps", 0, "reverse diffusion steps (0 = the model's default; fewer is faster)")
	fs.IntVar(&f.threads, "threads", 1, "ONNX Runtime intra-op threads per model session")
	f.registerRuntime(fs)
}

// registerRuntime adds the ONNX Runtime flags alone, for commands that take several models.
func (f *modelFlags) registerRuntime(fs *flag.FlagSet) {
	fs.StringVar(&f.provider, "provider", "cpu", "execution provider: cpu or cuda")
	fs.BoolVar(&f.cpuFallback, "cpu-fallback", false, "with -provider cuda, fall back to the CPU when CUDA is unavailable")
	fs.StringVar(&f.ortLib, "ort-lib", "", "path to libonnxruntime.so (default: $ORT_LIB, then where make setup put it)")
}

// open loads the offline model the flags name and resolves the step count.
func (f *modelFlags) open() (*models.Model, int, error) {
	b, err := zoo.Find(f.name)
	if err != nil {
		return nil, 0, err
	}
	return f.openBundle(b)
}

// openBundle loads an offline bundle with the flags' runtime settings and step count.
func (f *modelFlags) openBundle(b *bundle.Bundle) (*models.Model, int, error) {
	provider, err := ort.ParseProvider(f.provider)
	if err != nil {
		return nil, 0, err
	}
	if err := ort.Init(f.ortLib); err != nil {
		return nil, 0, err
	}
	m, err := models.Open(b, ort.Options{Threads: f.threads, Provider: provider, CPUFallback: f.cpuFallback})
	if err != nil {
		return nil, 0, err
	}
	steps := f.steps
	if steps == 0 {
		steps = b.Manifest.DefaultSteps
	}
	if err := m.CheckSteps(steps); err != nil {
		m.Close()
		return nil, 0, err
	}
	warnUntrained(&b.Manifest)
	if provider == ort.CUDA && m.Provider() != ort.CUDA {
		fmt.Fprintf(os.Stderr, "warning: CUDA unavailable, running on the CPU\n")
	}
	return m, steps, nil
}

// warnUntrained tells the user, once per opened model, that a bundle holds random weights.
func warnUntrained(m *bundle.Manifest) {
	if !m.Trained {
		fmt.Fprintf(os.Stderr, "warning: model %s is UNTRAINED (exported random weights): its output is not denoised speech\n", m.Name)
	}
}
