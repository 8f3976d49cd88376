package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"

	"github.com/restoregrad/restoregrad/engine/eval"
)

func init() {
	register(command{name: "eval", summary: "score models, peers and ready-made outputs on clean/noisy file pairs", run: runEval})
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// intListFlag collects a repeatable integer flag that also takes comma lists ("3,6").
type intListFlag []int

func (l *intListFlag) String() string {
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (l *intListFlag) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return fmt.Errorf("%q is not a non-negative integer", f)
		}
		*l = append(*l, v)
	}
	return nil
}

func runEval(args []string) error {
	fs := newFlagSet("eval", "--clean DIR --noisy DIR [flags]",
		"Pairs the .wav files of --noisy with the clean files of the same name, runs every system over\n"+
			"the noisy files (the noisy input itself first, then each --model at each --steps, each --peer,\n"+
			"each --enhanced folder), scores every output against its clean reference, and prints a table of\n"+
			"means with 95% confidence intervals.")
	var (
		p                        eval.Plan
		modelNames, peers, ready listFlag
		steps, viaRates          intListFlag
		seed                     uint64
		mf                       modelFlags
	)
	fs.StringVar(&p.CleanDir, "clean", "", "`folder` of clean reference .wav files (required)")
	fs.StringVar(&p.NoisyDir, "noisy", "", "`folder` of noisy .wav files, named like the clean ones (required)")
	fs.Var(&modelNames, "model", "a model to evaluate: bundle `name` or folder (repeatable)")
	fs.Var(&steps, "steps", "step counts `N,M` to run each model at (repeatable or comma list; default: the model's default)")
	fs.Var(&viaRates, "via-rate", "also run every model and peer as a sound device at `HZ` delivers audio (e.g. 48000 or 44100,48000):\n"+
		"the noisy file goes up to that rate and the output comes back from it through the project's resampler,\n"+
		"as live, virtual-mic and the plugin hear it; rows are named NAME/48k")
	fs.Var(&peers, "peer", "a peer enhancer run in-process (`NAME=PATH`), "+eval.PeerHelp)
	fs.Var(&ready, "enhanced", "ready-made outputs, `NAME=DIR` with files named like the noisy ones (repeatable)")
	fs.StringVar(&p.CSV, "csv", "", "write per-file scores to this CSV `file`")
	fs.StringVar(&p.JSON, "json", "", "write per-system means to this JSON `file`")
	fs.StringVar(&p.ReportDir, "report", "", "write an HTML report (table, spectrograms, audio) into this `folder`")
	fs.StringVar(&p.DNSMOSDir, "dnsmos", "", "DNSMOS model `folder` (sig_bak_ovr.onnx, model_v8.onnx); default ../shared/models/dnsmos when present; \"off\" to skip")
	fs.IntVar(&p.Jobs, "jobs", runtime.NumCPU(), "`N` files processed in parallel")
	fs.IntVar(&p.Limit, "limit", 0, "score only the first `N` pairs (by name)")
	fs.IntVar(&p.MaxLagMS, "max-lag", 100, "alignment search range in `ms` (negative: no alignment, only trimming)")
	fs.Uint64Var(&seed, "seed", defaultSeed, "`seed` of the diffusion noise (enhance's default, so that the scores are those of the files enhance writes)")
	mf.registerThreads(fs)
	mf.registerRuntime(fs)
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	if p.CleanDir == "" || p.NoisyDir == "" {
		return &exitError{code: 2, err: errors.New("--clean and --noisy are required")}
	}
	for _, rate := range viaRates {
		if rate < 8000 || rate > 384000 {
			return &exitError{code: 2, err: fmt.Errorf("--via-rate %d: want a device rate in Hz, 8000 to 384000", rate)}
		}
	}
	var err error
	if p.Model, err = mf.options(); err != nil {
		return err
	}
	p.Model.Seed = seed
	p.Models, p.Steps, p.Peers, p.ViaRates, p.Enhanced = modelNames, steps, peers, viaRates, ready
	p.Open, p.Out, p.Log = cliOpener{}, os.Stdout, os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := p.Run(ctx); err != nil {
		if ctx.Err() != nil {
			return &exitError{code: 130, err: err}
		}
		return err
	}
	return nil
}
