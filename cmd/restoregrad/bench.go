package main

import (
	"errors"
	"os"

	"github.com/restoregrad/restoregrad/engine/eval"
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
		p                 eval.BenchPlan
		modelNames, peers listFlag
		steps, threads    intListFlag
		mf                modelFlags
	)
	fs.Var(&modelNames, "model", "model bundle name or folder (repeatable; default "+zoo.DefaultOffline+")")
	fs.Var(&peers, "peer", "also time a peer, "+eval.PeerHelp)
	fs.Var(&steps, "steps", "step counts, e.g. 3,6 (default: the model's default)")
	fs.Var(&threads, "threads", "ONNX Runtime intra-op thread counts, e.g. 1,2 (default 1)")
	fs.StringVar(&p.File, "file", "", "time on this WAV file (first channel, resampled to the model's rate)")
	fs.Float64Var(&p.Seconds, "seconds", 10, "without --file, time on this many seconds of a synthetic speech-like signal")
	fs.IntVar(&p.Runs, "runs", 5, "timed runs per configuration (the median is reported)")
	fs.Float64Var(&p.Paced, "paced", 5, "streaming: also time this many seconds with one frame per hop, as live does (0: not)")
	fs.StringVar(&p.JSON, "json", "", "also write the results to this JSON file")
	mf.registerRuntime(fs)
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	if p.Runs < 1 {
		return &exitError{code: 2, err: errors.New("--runs must be at least 1")}
	}
	if p.Paced < 0 {
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
	if p.File == "" && p.Seconds <= 0 {
		return &exitError{code: 2, err: errors.New("--seconds must be positive")}
	}
	var err error
	if p.Model, err = mf.options(); err != nil {
		return err
	}
	p.Models, p.Peers, p.Steps, p.Threads = modelNames, peers, steps, threads
	p.Open, p.Out, p.Log = cliOpener{}, os.Stdout, os.Stderr
	return eval.RunBench(p)
}
