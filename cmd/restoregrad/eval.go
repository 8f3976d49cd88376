package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"

	"github.com/restoregrad/restoregrad/engine/eval"
	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/dnsmos"
	"github.com/restoregrad/restoregrad/models/gtcrn"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/streaming"
	"github.com/restoregrad/restoregrad/models/zoo"
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
		steps                    intListFlag
		csvPath, jsonPath        string
		reportDir, dnsmosDir     string
		jobs, limit, maxLagMS    int
		seed                     uint64
		mf                       modelFlags
	)
	fs.StringVar(&cleanDir, "clean", "", "folder of clean reference .wav files (required)")
	fs.StringVar(&noisyDir, "noisy", "", "folder of noisy .wav files, named like the clean ones (required)")
	fs.Var(&modelNames, "model", "a model to evaluate: bundle name or folder (repeatable)")
	fs.Var(&steps, "steps", "step counts to run each model at (repeatable or comma list; default: the model's default)")
	fs.Var(&peers, "peer", "a peer enhancer run in-process, NAME=PATH; known: gtcrn=gtcrn_simple.onnx (repeatable)")
	fs.Var(&ready, "enhanced", "ready-made outputs, NAME=DIR with files named like the noisy ones (repeatable)")
	fs.StringVar(&csvPath, "csv", "", "write per-file scores to this CSV file")
	fs.StringVar(&jsonPath, "json", "", "write per-system means to this JSON file")
	fs.StringVar(&reportDir, "report", "", "write an HTML report (table, spectrograms, audio) into this folder")
	fs.StringVar(&dnsmosDir, "dnsmos", "", "DNSMOS model folder (sig_bak_ovr.onnx, model_v8.onnx); default ../shared/models/dnsmos when present; \"off\" to skip")
	fs.IntVar(&jobs, "jobs", runtime.NumCPU(), "files processed in parallel")
	fs.IntVar(&limit, "limit", 0, "score only the first N pairs (by name)")
	fs.IntVar(&maxLagMS, "max-lag", 100, "alignment search range in ms (negative: no alignment, only trimming)")
	fs.Uint64Var(&seed, "seed", 0, "noise seed for the diffusion models")
	fs.IntVar(&mf.threads, "threads", 1, "ONNX Runtime intra-op threads per session")
	mf.registerRuntime(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q", pos)}
	}
	if cleanDir == "" || noisyDir == "" {
		return &exitError{code: 2, err: errors.New("--clean and --noisy are required")}
	}
	pairs, missing, err := eval.PairDirs(cleanDir, noisyDir, limit)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "warning: %d noisy files have no clean counterpart and are skipped (first: %s)\n", len(missing), missing[0])
	}
	provider, err := ort.ParseProvider(mf.provider)
	if err != nil {
		return err
	}
	opt := ort.Options{Threads: mf.threads, Provider: provider, CPUFallback: mf.cpuFallback}
	needORT := len(modelNames) > 0 || len(peers) > 0 || dnsmosDir != "off"
	if needORT {
		if err := ort.Init(mf.ortLib); err != nil {
			if len(modelNames) > 0 || len(peers) > 0 {
				return err
			}
			fmt.Fprintf(os.Stderr, "DNSMOS: unavailable (%v)\n", err)
			dnsmosDir = "off"
		}
	}

	systems := []eval.System{eval.Noisy()}
	for _, name := range modelNames {
		b, err := zoo.Find(name)
		if err != nil {
			return fmt.Errorf("model %s: %w", name, err)
		}
		if b.Manifest.Kind == bundle.KindStreaming {
			sys, closeAll, err := streamingSystems(b, steps, seed)
			defer closeAll()
			if err != nil {
				return fmt.Errorf("model %s: %w", name, err)
			}
			systems = append(systems, sys...)
			continue
		}
		m, def, err := mf.openBundle(b)
		if err != nil {
			return fmt.Errorf("model %s: %w", name, err)
		}
		defer m.Close()
		list := []int(steps)
		if len(list) == 0 {
			list = []int{def}
		}
		for _, s := range list {
			if s == 0 {
				s = def
			}
			if err := m.CheckSteps(s); err != nil {
				return fmt.Errorf("model %s: %w", name, err)
			}
			systems = append(systems, modelSystem(m, s, seed))
		}
	}
	for _, p := range peers {
		name, path, err := splitNameValue("peer", p)
		if err != nil {
			return err
		}
		switch strings.ToLower(name) {
		case "gtcrn":
			g, err := gtcrn.Open(path, opt)
			if err != nil {
				return fmt.Errorf("peer %s: %w", name, err)
			}
			defer g.Close()
			systems = append(systems, &eval.FuncSystem{Name: name, Rate: g.SampleRate(), Fn: g.Enhance})
		default:
			return fmt.Errorf("peer %s: unknown (known peers: gtcrn)", name)
		}
	}
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
		if err != nil {
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

// streamingSystems opens a streaming bundle once per step count (one ONNX Runtime thread
// each, as the live engine runs it) and scores it frame by frame.
func streamingSystems(b *bundle.Bundle, steps intListFlag, seed uint64) ([]eval.System, func(), error) {
	var procs []*streaming.Processor
	closeAll := func() {
		for _, p := range procs {
			p.Close()
		}
	}
	list := []int(steps)
	if len(list) == 0 {
		list = []int{b.Manifest.DefaultSteps}
	}
	var out []eval.System
	for _, s := range list {
		if s == 0 {
			s = b.Manifest.DefaultSteps
		}
		p, err := streaming.Open(b, streaming.Options{Threads: 1, Steps: s, MaxSteps: s, Seed: seed})
		if err != nil {
			return nil, closeAll, err
		}
		procs = append(procs, p)
		out = append(out, &eval.StreamSystem{Name: b.Manifest.Name, Proc: p})
	}
	warnUntrained(&b.Manifest)
	return out, closeAll, nil
}

func modelSystem(m *models.Model, steps int, seed uint64) eval.System {
	man := m.Manifest()
	return &eval.ModelSystem{Name: man.Name, Enh: m, Steps: steps, Seed: seed, InputRMS: man.InputRMS}
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
