package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/restoregrad/restoregrad/dsp/resample"
	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/engine/eval"
	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/zoo"
)

func init() {
	register(command{name: "bench", summary: "measure real-time factor, latency and memory of models", run: runBench})
}

func runBench(args []string) error {
	fs := newFlagSet("bench", "[--model M ...] [--steps LIST] [--threads LIST] [--file WAV | --seconds N] [flags]",
		"Times each model at each step count and thread count: the real-time factor (compute time over\n"+
			"audio time) is the median of --runs runs after one untimed warm-up run. Offline bundles run\n"+
			"whole-file through the chunked engine; streaming processors run frame by frame, back to back,\n"+
			"and then (paced RTF) one frame per hop as live runs them, which finds the caches cold.")
	var (
		modelNames, peers listFlag
		steps, threads    intListFlag
		file, jsonPath    string
		seconds           float64
		runs              int
		paced             float64
		mf                modelFlags
	)
	fs.Var(&modelNames, "model", "model bundle name or folder (repeatable; default "+zoo.DefaultOffline+")")
	fs.Var(&peers, "peer", "also time a peer, "+peerHelp)
	fs.Var(&steps, "steps", "step counts, e.g. 3,6 (default: the model's default)")
	fs.Var(&threads, "threads", "ONNX Runtime intra-op thread counts, e.g. 1,2 (default 1)")
	fs.StringVar(&file, "file", "", "time on this WAV file (first channel, resampled to the model's rate)")
	fs.Float64Var(&seconds, "seconds", 10, "without --file, time on this many seconds of a synthetic speech-like signal")
	fs.IntVar(&runs, "runs", 5, "timed runs per configuration (the median is reported)")
	fs.Float64Var(&paced, "paced", 5, "streaming: also time this many seconds with one frame per hop, as live does (0: not)")
	fs.StringVar(&jsonPath, "json", "", "also write the results to this JSON file")
	mf.registerRuntime(fs)
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	if runs < 1 {
		return &exitError{code: 2, err: errors.New("--runs must be at least 1")}
	}
	if paced < 0 {
		return &exitError{code: 2, err: errors.New("--paced must not be negative")}
	}
	if len(modelNames) == 0 && len(peers) == 0 {
		modelNames = listFlag{zoo.DefaultOffline}
	}
	if len(threads) == 0 {
		threads = intListFlag{1}
	}
	for _, t := range threads {
		if t < 1 {
			return &exitError{code: 2, err: errors.New("--threads values must be at least 1")}
		}
	}
	mopt, err := mf.options()
	if err != nil {
		return err
	}
	mopt.Seed = 1
	if len(steps) > 0 {
		mopt.MaxSteps = slices.Max(steps)
	}
	if _, err := mopt.Runtime(); err != nil {
		return err
	}

	// The signal, at its own rate; each model gets it resampled to its rate.
	var signal []float32
	sigRate := 16000
	if file != "" {
		chans, f, err := wav.ReadFile(file)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		signal, sigRate = chans[0], f.SampleRate
	} else {
		if seconds <= 0 {
			return &exitError{code: 2, err: errors.New("--seconds must be positive")}
		}
		signal = eval.BenchSignal(seconds, sigRate)
	}
	at := func(rate int) []float32 {
		if rate == sigRate {
			return signal
		}
		return resample.Resample(signal, sigRate, rate)
	}

	var results []eval.BenchResult
	for _, name := range modelNames {
		for _, th := range threads {
			opt := mopt
			opt.Threads = th
			rs, err := benchModel(name, opt, steps, at, runs, paced)
			if err != nil {
				return err
			}
			results = append(results, rs...)
		}
	}
	for _, p := range peers {
		for _, th := range threads {
			opt := mopt
			opt.Threads = th
			rt, err := opt.Runtime()
			if err != nil {
				return err
			}
			name, g, err := openPeer(p, rt)
			if err != nil {
				return err
			}
			p := g.NewProcessor()
			r, err := eval.BenchStream(name, p, th, at(g.SampleRate()), runs)
			if err == nil && paced > 0 {
				r.PacedRTF, r.PacedFrame, err = eval.BenchPaced(p, at(g.SampleRate()), paced)
			}
			g.Close()
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	if err := eval.WriteBenchTable(os.Stdout, results); err != nil {
		return err
	}
	if jsonPath != "" {
		return writeFileWith(jsonPath, func(w io.Writer) error { return eval.WriteBenchJSON(w, results) })
	}
	return nil
}

// benchModel times one model at one thread count and each step count: a streaming model
// frame by frame (back to back, then paced seconds one frame per hop) and then its
// whole-signal graphs through the offline engine for comparison, an offline model through
// the offline engine.
func benchModel(name string, opt models.Options, steps []int, at func(rate int) []float32, runs int, paced float64) ([]eval.BenchResult, error) {
	r, err := openModel(name, opt)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	list, err := r.StepList(steps)
	if err != nil {
		return nil, err
	}
	name, th := r.Manifest().Name, opt.Threads
	fail := func(err error) ([]eval.BenchResult, error) { return nil, fmt.Errorf("model %s: %w", name, err) }
	x := at(r.Manifest().SampleRate)
	var results []eval.BenchResult
	if r.NativeFrames() {
		p, err := r.Frames()
		if err != nil {
			return fail(err)
		}
		for _, s := range list {
			if err := p.SetSteps(s); err != nil {
				return fail(err)
			}
			res, err := eval.BenchStream(name, p, th, x, runs)
			if err != nil {
				return nil, err // names the model
			}
			f := res.Frame
			fmt.Fprintf(os.Stderr, "%s@%d threads %d: streaming RTF %.4f, per frame p50 %.3f ms p99 %.3f ms max %.3f ms\n",
				name, s, th, res.RTF, f.P50, f.P99, f.Max)
			if paced > 0 {
				if res.PacedRTF, res.PacedFrame, err = eval.BenchPaced(p, x, paced); err != nil {
					return fail(err)
				}
				f := res.PacedFrame
				fmt.Fprintf(os.Stderr, "%s@%d threads %d: paced (one frame per hop) RTF %.4f, per frame p50 %.3f ms p99 %.3f ms max %.3f ms\n",
					name, s, th, res.PacedRTF, f.P50, f.P99, f.Max)
			}
			results = append(results, res)
		}
	}
	m, err := offline(r)
	if err != nil {
		return fail(err)
	}
	for _, s := range list {
		res, err := eval.BenchOffline(name, m, s, th, x, runs, r.Noise(0))
		if err != nil {
			return nil, err // names the model
		}
		if !r.NativeFrames() {
			fmt.Fprintf(os.Stderr, "%s@%d threads %d: RTF %.4f\n", res.Name, s, th, res.RTF)
		}
		results = append(results, res)
	}
	return results, nil
}
