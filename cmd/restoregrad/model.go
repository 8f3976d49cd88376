package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/ort"
)

// modelFlags are the flags every command that runs a model shares; options turns them
// into the models front door's options.
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
	f.registerThreads(fs)
	f.registerRuntime(fs)
}

// registerThreads adds --threads, for commands that take one thread count.
func (f *modelFlags) registerThreads(fs *flag.FlagSet) {
	fs.IntVar(&f.threads, "threads", 1, "ONNX Runtime intra-op threads per model session")
}

// registerRuntime adds the ONNX Runtime flags alone, for commands that take several models.
func (f *modelFlags) registerRuntime(fs *flag.FlagSet) {
	fs.StringVar(&f.provider, "provider", "cpu", "execution provider: cpu or cuda")
	fs.BoolVar(&f.cpuFallback, "cpu-fallback", false, "with -provider cuda, fall back to the CPU when CUDA is unavailable")
	fs.StringVar(&f.ortLib, "ort-lib", "", "path to libonnxruntime.so (default: $ORT_LIB, then where make setup put it)")
}

// options are the front door's options for the flags.
func (f *modelFlags) options() (models.Options, error) {
	provider, err := ort.ParseProvider(f.provider)
	if err != nil {
		return models.Options{}, err
	}
	return models.Options{Steps: f.steps, Threads: f.threads, Provider: provider, CPUFallback: f.cpuFallback, ORTLib: f.ortLib}, nil
}

// runtimeArgs are the runtime flags as command-line arguments, for a command that starts
// another (virtual-mic's service).
func (f *modelFlags) runtimeArgs() []string {
	var args []string
	if f.threads > 1 {
		args = append(args, "--threads", strconv.Itoa(f.threads))
	}
	if f.provider != "" && f.provider != string(ort.CPU) {
		args = append(args, "--provider", f.provider)
	}
	if f.cpuFallback {
		args = append(args, "--cpu-fallback")
	}
	if f.ortLib != "" {
		args = append(args, "--ort-lib", f.ortLib)
	}
	return args
}

// open opens the model the flags name with seed.
func (f *modelFlags) open(seed uint64) (*models.Runner, error) {
	opt, err := f.options()
	if err != nil {
		return nil, err
	}
	opt.Seed = seed
	return openModel(f.name, opt)
}

// openModelFunc is models.Open; tests replace it to see the options a command passes.
var openModelFunc = models.Open

// openModel opens spec through the models front door and warns about untrained weights.
func openModel(spec string, opt models.Options) (*models.Runner, error) {
	r, err := openModelFunc(spec, opt)
	if err != nil {
		return nil, err
	}
	warnUntrained(r.Manifest())
	return r, nil
}

// cliOpener opens the models of eval and bench as every command does (openModel, offline),
// telling the user about untrained weights and the CPU running a CUDA request.
type cliOpener struct{}

func (cliOpener) Open(spec string, opt models.Options) (*models.Runner, error) {
	return openModel(spec, opt)
}
func (cliOpener) Offline(r *models.Runner) (*models.Model, error) { return offline(r) }

// offline returns r's whole-signal model, warning when CUDA was asked for and the CPU runs it.
func offline(r *models.Runner) (*models.Model, error) {
	m, err := r.Offline()
	if err != nil {
		return nil, err
	}
	if r.Options().Provider == ort.CUDA && m.Provider() != ort.CUDA {
		fmt.Fprintf(os.Stderr, "warning: CUDA unavailable, running on the CPU\n")
	}
	return m, nil
}

// warnUntrained tells the user, once per opened model, that a bundle holds random weights.
func warnUntrained(m *bundle.Manifest) {
	if !m.Trained {
		fmt.Fprintf(os.Stderr, "warning: model %s is UNTRAINED (exported random weights): its output is not denoised speech\n", m.Name)
	}
}
