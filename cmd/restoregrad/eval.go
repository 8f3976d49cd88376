package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/restoregrad/restoregrad/engine/eval"
	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/dnsmos"
	"github.com/restoregrad/restoregrad/models/ort"
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

// splitNameValue parses NAME=VALUE.
func splitNameValue(flagName, s string) (string, string, error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" || value == "" {
		return "", "", fmt.Errorf("-%s %q: want NAME=PATH", flagName, s)
	}
	return name, value, nil
}

func runEval(args []string) error {
	fs := newFlagSet("eval", "--clean DIR --noisy DIR [flags]",
		"Pairs the .wav files of --noisy with the clean files of the same name, runs every system over\n"+
			"the noisy files (the noisy input itself first, then each --model at each --steps, each --peer,\n"+
			"each --enhanced folder), scores every output against its clean reference, and prints a table of\n"+
			"means with 95% confidence intervals.")
	var (
		cleanDir, noisyDir       string
		modelNames, peers, ready listFlag
		steps, viaRates          intListFlag
		csvPath, jsonPath        string
		reportDir, dnsmosDir     string
		jobs, limit, maxLagMS    int
		seed                     uint64
		mf                       modelFlags
	)
	fs.StringVar(&cleanDir, "clean", "", "`folder` of clean reference .wav files (required)")
	fs.StringVar(&noisyDir, "noisy", "", "`folder` of noisy .wav files, named like the clean ones (required)")
	fs.Var(&modelNames, "model", "a model to evaluate: bundle `name` or folder (repeatable)")
	fs.Var(&steps, "steps", "step counts `N,M` to run each model at (repeatable or comma list; default: the model's default)")
	fs.Var(&viaRates, "via-rate", "also run every model and peer as a sound device at `HZ` delivers audio (e.g. 48000 or 44100,48000):\n"+
		"the noisy file goes up to that rate and the output comes back from it through the project's resampler,\n"+
		"as live, virtual-mic and the plugin hear it; rows are named NAME/48k")
	fs.Var(&peers, "peer", "a peer enhancer run in-process (`NAME=PATH`), "+peerHelp)
	fs.Var(&ready, "enhanced", "ready-made outputs, `NAME=DIR` with files named like the noisy ones (repeatable)")
	fs.StringVar(&csvPath, "csv", "", "write per-file scores to this CSV `file`")
	fs.StringVar(&jsonPath, "json", "", "write per-system means to this JSON `file`")
	fs.StringVar(&reportDir, "report", "", "write an HTML report (table, spectrograms, audio) into this `folder`")
	fs.StringVar(&dnsmosDir, "dnsmos", "", "DNSMOS model `folder` (sig_bak_ovr.onnx, model_v8.onnx); default ../shared/models/dnsmos when present; \"off\" to skip")
	fs.IntVar(&jobs, "jobs", runtime.NumCPU(), "`N` files processed in parallel")
	fs.IntVar(&limit, "limit", 0, "score only the first `N` pairs (by name)")
	fs.IntVar(&maxLagMS, "max-lag", 100, "alignment search range in `ms` (negative: no alignment, only trimming)")
	fs.Uint64Var(&seed, "seed", defaultSeed, "`seed` of the diffusion noise (enhance's default, so that the scores are those of the files enhance writes)")
	mf.registerThreads(fs)
	mf.registerRuntime(fs)
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	if cleanDir == "" || noisyDir == "" {
		return &exitError{code: 2, err: errors.New("--clean and --noisy are required")}
	}
	// Where the results go is checked before the scoring, which can take hours.
	for _, out := range []struct{ flag, path string }{{"--csv", csvPath}, {"--json", jsonPath}} {
		if err := checkOutputFile(out.path); err != nil {
			return fmt.Errorf("%s: %w", out.flag, err)
		}
	}
	if reportDir != "" {
		if err := os.MkdirAll(reportDir, 0o755); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	dnsmosGiven := dnsmosDir != "" && dnsmosDir != "off"
	pairs, missing, err := eval.PairDirs(cleanDir, noisyDir, limit)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "warning: %d noisy files have no clean counterpart and are skipped (first: %s)\n", len(missing), missing[0])
	}
	mopt, err := mf.options()
	if err != nil {
		return err
	}
	mopt.Seed = seed
	if len(steps) > 0 {
		mopt.MaxSteps = slices.Max(steps)
	}
	var opt ort.Options
	if len(modelNames) > 0 || len(peers) > 0 || dnsmosDir != "off" {
		if opt, err = mopt.Runtime(); err != nil {
			if len(modelNames) > 0 || len(peers) > 0 || dnsmosGiven {
				return err
			}
			fmt.Fprintf(os.Stderr, "DNSMOS: unavailable (%v)\n", err)
			dnsmosDir = "off"
		}
	}

	systems := []eval.System{eval.Noisy()}
	for _, name := range modelNames {
		r, err := openModel(name, mopt)
		if err != nil {
			return fmt.Errorf("model %s: %w", name, err)
		}
		defer r.Close()
		sys, err := modelSystems(r, steps)
		if err != nil {
			return fmt.Errorf("model %s: %w", name, err)
		}
		systems = append(systems, sys...)
	}
	for _, p := range peers {
		name, g, err := openPeer(p, opt)
		if err != nil {
			return err
		}
		defer g.Close()
		systems = append(systems, &eval.FuncSystem{Name: name, Rate: g.SampleRate(), Fn: g.Enhance})
	}
	var devicePaths []eval.System
	for _, rate := range viaRates {
		if rate < 8000 || rate > 384000 {
			return &exitError{code: 2, err: fmt.Errorf("--via-rate %d: want a device rate in Hz, 8000 to 384000", rate)}
		}
		for _, s := range systems[1:] {
			devicePaths = append(devicePaths, &eval.ViaRate{System: s, Rate: rate})
		}
	}
	systems = append(systems, devicePaths...)
	for _, r := range ready {
		name, dir, err := splitNameValue("enhanced", r)
		if err != nil {
			return err
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("enhanced %s: %s is not a folder", name, dir)
		}
		systems = append(systems, &eval.DirSystem{Name: name, Dir: dir})
	}

	var scorer *dnsmos.Scorer
	if dnsmosDir != "off" {
		if dnsmosDir == "" {
			dnsmosDir = dnsmos.DefaultDir()
		}
		s, err := dnsmos.Open(dnsmosDir, opt)
		if err != nil && dnsmosGiven {
			return fmt.Errorf("--dnsmos %s: %w", dnsmosDir, err)
		} else if err != nil {
			fmt.Fprintf(os.Stderr, "DNSMOS: unavailable (%v)\n", err)
		} else {
			defer s.Close()
			scorer = s
		}
	}

	maxLag := maxLagMS * eval.ScoreRate / 1000
	if maxLagMS < 0 {
		maxLag = -1
	} else if maxLag == 0 {
		maxLag = 1 // "0 ms" means no shift, not the package default
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := eval.Run(ctx, eval.Config{
		Pairs: pairs, Systems: systems, DNSMOS: scorer, Jobs: jobs, MaxLag: maxLag, ReportDir: reportDir,
		Warn: func(msg string) { fmt.Fprintln(os.Stderr, "warning: "+msg) },
	})
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: 130, err: fmt.Errorf("interrupted (Ctrl-C) while scoring %d systems on %d file pairs of %s: nothing written", len(systems), len(pairs), noisyDir)}
		}
		return err
	}
	if err := res.WriteTable(os.Stdout); err != nil {
		return err
	}
	fmt.Printf("%d files, %d systems, %d jobs, wall time %.1f s\n", len(pairs), len(systems), max(1, min(jobs, len(pairs))), res.Wall.Seconds())
	if csvPath != "" {
		if err := writeFileWith(csvPath, res.WriteCSV); err != nil {
			return err
		}
	}
	if jsonPath != "" {
		if err := writeFileWith(jsonPath, res.WriteJSON); err != nil {
			return err
		}
	}
	if reportDir != "" {
		path, err := res.WriteReport()
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "report: %s\n", path)
	}
	return nil
}

// modelSystems are r's model at each step count: a streaming model frame by frame, as the
// live engine runs it (one processor per step count, since a processor holds one stream),
// an offline one through the chunked engine.
func modelSystems(r *models.Runner, steps []int) ([]eval.System, error) {
	list, err := r.StepList(steps)
	if err != nil {
		return nil, err
	}
	name := r.Manifest().Name
	var out []eval.System
	if r.NativeFrames() {
		for _, s := range list {
			p, err := r.Frames()
			if err != nil {
				return nil, err
			}
			if err := p.SetSteps(s); err != nil {
				return nil, err
			}
			out = append(out, &eval.StreamSystem{Name: name, Proc: p})
		}
		return out, nil
	}
	m, err := offline(r)
	if err != nil {
		return nil, err
	}
	for _, s := range list {
		out = append(out, &eval.ModelSystem{Name: name, Enh: m, Steps: s, Noise: r.Noise(0), InputRMS: r.InputRMS()})
	}
	return out, nil
}

// checkOutputFile checks that a file can be created at name ("" is no file): not a folder,
// in a folder that exists and takes new files.
func checkOutputFile(name string) error {
	if name == "" {
		return nil
	}
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a folder; give a file name", name)
	}
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, ".restoregrad-check-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", name, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// writeFileWith creates name and fills it with write.
func writeFileWith(name string, write func(w io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	return f.Close()
}
