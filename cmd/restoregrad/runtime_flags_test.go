package main

import (
	"errors"
	"flag"
	"io"
	"testing"

	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/zoo"
)

// recordOpen replaces the front door for one test: it records what each command asks for
// and fails, so that nothing past the model is started.
func recordOpen(t *testing.T) (spec *string, opt *models.Options, stop error) {
	t.Helper()
	spec, opt, stop = new(string), new(models.Options), errors.New("recorded")
	prev := openModelFunc
	openModelFunc = func(s string, o models.Options) (*models.Runner, error) {
		*spec, *opt = s, o
		return nil, stop
	}
	t.Cleanup(func() { openModelFunc = prev })
	return spec, opt, stop
}

// --threads, --ort-lib, --provider and --cpu-fallback reach the model the live command
// opens (they used to stop at the flag parser, and the live path loaded ONNX Runtime from
// the default place with one thread).
func TestLiveRuntimeFlagsReachTheModel(t *testing.T) {
	spec, got, stop := recordOpen(t)
	err := runLive([]string{"--steps", "3", "--threads", "3", "--ort-lib", "/opt/ort/libonnxruntime.so.1",
		"--provider", "cuda", "--cpu-fallback", "--quiet"})
	if !errors.Is(err, stop) {
		t.Fatalf("runLive: %v, want the recorded stop", err)
	}
	want := models.Options{Steps: 3, Threads: 3, Provider: ort.CUDA, CPUFallback: true,
		ORTLib: "/opt/ort/libonnxruntime.so.1", Seed: liveSeed}
	if *got != want {
		t.Errorf("options reaching the model: %+v, want %+v", *got, want)
	}
	if zoo.Resolve(*spec) != zoo.DefaultStreaming { // the front door (zoo.Find) resolves the alias
		t.Errorf("default live model %q, want %q or its alias", *spec, zoo.DefaultStreaming)
	}

	// The defaults: one thread on the CPU, the library found by the search.
	if err := runLive([]string{"--model", "some/bundle", "--quiet"}); !errors.Is(err, stop) {
		t.Fatalf("runLive: %v", err)
	}
	if want := (models.Options{Threads: 1, Provider: ort.CPU, Seed: liveSeed}); *got != want || *spec != "some/bundle" {
		t.Errorf("defaults: %q %+v, want some/bundle %+v", *spec, *got, want)
	}
}

// The runtime flags survive the trip through the command line virtual-mic's service runs.
func TestRuntimeArgsRoundTrip(t *testing.T) {
	parse := func(args []string) modelFlags {
		var f modelFlags
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f.registerThreads(fs)
		f.registerRuntime(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f
	}
	in := parse([]string{"--threads", "4", "--provider", "cuda", "--cpu-fallback", "--ort-lib", "/x/libonnxruntime.so"})
	if out := parse(in.runtimeArgs()); out != in {
		t.Errorf("round trip: %+v, want %+v", out, in)
	}
	def := parse(nil)
	if args := def.runtimeArgs(); len(args) != 0 {
		t.Errorf("defaults give %q, want no arguments", args)
	}
}

// A thread count below 1 is refused before the model is opened (live, virtual-mic and
// the service it installs).
func TestLiveRejectsBadThreads(t *testing.T) {
	_, _, stop := recordOpen(t)
	for _, run := range []func([]string) error{runLive, runVirtualMic} {
		err := run([]string{"--threads", "-3", "--quiet"})
		if err == nil || errors.Is(err, stop) || exitCode(err) != 2 {
			t.Errorf("--threads -3: %v", err)
		}
	}
}
