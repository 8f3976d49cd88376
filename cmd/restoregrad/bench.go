package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/restoregrad/restoregrad/dsp/resample"
	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/engine/eval"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/gtcrn"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/streaming"
	"github.com/restoregrad/restoregrad/models/zoo"
)

func init() {
	register(command{name: "bench", summary: "measure real-time factor, latency and memory of models", run: runBench})
}

func runBench(args []string) error {
	fs := newFlagSet("bench", "[--model M ...] [--steps LIST] [--threads LIST] [--file WAV | --seconds N] [flags]",
		"Times each model at each step count and thread count: the real-time factor (compute time over\n"+
			"audio time) is the median of --runs runs after one untimed warm-up run. Offline bundles run\n"+
			"whole-file through the chunked engine; streaming processors run frame by frame.")
	var (
		modelNames, peers listFlag
		steps, threads    intListFlag
		file, jsonPath    string
		seconds           float64
		runs              int
		mf                modelFlags
	)
	fs.Var(&modelNames, "model", "model bundle name or folder (repeatable; default "+zoo.DefaultOffline+")")
	fs.Var(&peers, "peer", "also time a peer, NAME=PATH; known: gtcrn=gtcrn_simple.onnx (repeatable)")
	fs.Var(&steps, "steps", "step counts, e.g. 3,6 (default: the model's default)")
	fs.Var(&threads, "threads", "ONNX Runtime intra-op thread counts, e.g. 1,2 (default 1)")
	fs.StringVar(&file, "file", "", "time on this WAV file (first channel, resampled to the model's rate)")
	fs.Float64Var(&seconds, "seconds", 10, "without --file, time on this many seconds of a synthetic speech-like signal")
	fs.IntVar(&runs, "runs", 5, "timed runs per configuration (the median is reported)")
	fs.StringVar(&jsonPath, "json", "", "also write the results to this JSON file")
	mf.registerRuntime(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q", pos)}
	}
	if runs < 1 {
		return &exitError{code: 2, err: errors.New("--runs must be at least 1")}
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
	if err := ort.Init(mf.ortLib); err != nil {
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
		b, err := zoo.Find(name)
		if err != nil {
			return err
		}
		if b.Manifest.Kind == bundle.KindStreaming {
			rs, err := benchStreamingBundle(b, steps, threads, at(b.Manifest.SampleRate), runs)
			if err != nil {
				return err
			}
			results = append(results, rs...)
			continue
		}
		for _, th := range threads {
			f := mf
			f.name, f.threads = name, th
			m, def, err := f.open()
			if err != nil {
				return fmt.Errorf("model %s: %w", name, err)
			}
			list := []int(steps)
			if len(list) == 0 {
				list = []int{def}
			}
			x := at(m.SampleRate())
			for _, s := range list {
				if s == 0 {
					s = def
				}
				if err := m.CheckSteps(s); err != nil {
					m.Close()
					return fmt.Errorf("model %s: %w", name, err)
				}
				r, err := eval.BenchOffline(m.Manifest().Name, m, s, th, x, runs)
				if err != nil {
					m.Close()
					return err
				}
				results = append(results, r)
				fmt.Fprintf(os.Stderr, "%s@%d threads %d: RTF %.4f\n", r.Name, s, th, r.RTF)
			}
			m.Close()
		}
	}
	for _, p := range peers {
		name, path, err := splitNameValue("peer", p)
		if err != nil {
			return err
		}
		if strings.ToLower(name) != "gtcrn" {
			return fmt.Errorf("peer %s: unknown (known peers: gtcrn)", name)
		}
		provider, err := ort.ParseProvider(mf.provider)
		if err != nil {
			return err
		}
		for _, th := range threads {
			g, err := gtcrn.Open(path, ort.Options{Threads: th, Provider: provider, CPUFallback: mf.cpuFallback})
			if err != nil {
				return fmt.Errorf("peer %s: %w", name, err)
			}
			r, err := eval.BenchStream(name, g.NewProcessor(), th, at(g.SampleRate()), runs)
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

// benchStreamingBundle times a streaming bundle frame by frame at each step and thread
// count, and its whole-signal graphs through the offline engine for comparison.
func benchStreamingBundle(b *bundle.Bundle, steps, threads []int, x []float32, runs int) ([]eval.BenchResult, error) {
	name := b.Manifest.Name
	list := steps
	if len(list) == 0 {
		list = []int{b.Manifest.DefaultSteps}
	}
	maxSteps := b.Manifest.DefaultSteps
	for _, s := range list {
		maxSteps = max(maxSteps, s)
	}
	var results []eval.BenchResult
	for _, th := range threads {
		p, err := streaming.Open(b, streaming.Options{Threads: th, MaxSteps: maxSteps, Seed: 1})
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
		for _, s := range list {
			if s == 0 {
				s = b.Manifest.DefaultSteps
			}
			if err := p.SetSteps(s); err != nil {
				p.Close()
				return nil, fmt.Errorf("model %s: %w", name, err)
			}
			p.ResetFrameStats()
			r, err := eval.BenchStream(name, p, th, x, runs)
			if err != nil {
				p.Close()
				return nil, err
			}
			fs := p.FrameStats()
			fmt.Fprintf(os.Stderr, "%s@%d threads %d: streaming RTF %.4f, per frame p50 %v p99 %v max %v\n",
				name, s, th, r.RTF, fs.P50, fs.P99, fs.Max)
			results = append(results, r)
		}
		p.Close()
		m, err := streaming.OpenWhole(b, ort.Options{Threads: th})
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
		for _, s := range list {
			if s == 0 {
				s = b.Manifest.DefaultSteps
			}
			r, err := eval.BenchOffline(name, m, s, th, x, runs)
			if err != nil {
				m.Close()
				return nil, err
			}
			results = append(results, r)
		}
		m.Close()
	}
	return results, nil
}
