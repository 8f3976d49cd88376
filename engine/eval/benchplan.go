package eval

import (
	"fmt"
	"io"
	"slices"

	"github.com/restoregrad/restoregrad/dsp/resample"
	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/models"
)

// BenchPlan is one benchmark as the bench command asks for it: each model and each peer at
// each thread count (and each model at each step count), timed on one signal. RunBench
// carries it out.
type BenchPlan struct {
	Models  []string       // bundle names or folders
	Peers   []string       // NAME=PATH, see PeerHelp
	Steps   []int          // step counts (none: each model's default)
	Threads []int          // ONNX Runtime intra-op thread counts, each at least 1
	Model   models.Options // the runtime; Threads is each of Threads in turn
	// File is the WAV file to time on (its first channel, resampled to each model's rate);
	// without it, Seconds of BenchSignal at 16 kHz.
	File    string
	Seconds float64
	Runs    int     // timed runs per configuration, at least 1 (the median is reported)
	Paced   float64 // streaming: also time this many seconds with one frame per hop (0: not)
	JSON    string  // also write the results to this file ("": not)
	Open    Opener  // nil: models.Open and Runner.Offline
	// Out receives the table, Log a line per streaming (or offline-only) configuration as it
	// finishes.
	Out, Log io.Writer
}

// RunBench times every configuration of p and writes the table (and the JSON file).
func RunBench(p BenchPlan) error {
	mopt := p.Model
	mopt.Seed = 1
	if len(p.Steps) > 0 {
		mopt.MaxSteps = slices.Max(p.Steps)
	}
	if _, err := mopt.Runtime(); err != nil {
		return err
	}

	// The signal, at its own rate; each model gets it resampled to its rate.
	var signal []float32
	sigRate := 16000
	if p.File != "" {
		chans, f, err := wav.ReadFile(p.File)
		if err != nil {
			return fmt.Errorf("%s: %w", p.File, err)
		}
		signal, sigRate = chans[0], f.SampleRate
	} else {
		signal = BenchSignal(p.Seconds, sigRate)
	}
	at := func(rate int) []float32 {
		if rate == sigRate {
			return signal
		}
		return resample.Resample(signal, sigRate, rate)
	}

	open := opener(p.Open)
	var results []BenchResult
	for _, name := range p.Models {
		for _, th := range p.Threads {
			opt := mopt
			opt.Threads = th
			rs, err := p.benchModel(open, name, opt, at)
			if err != nil {
				return err
			}
			results = append(results, rs...)
		}
	}
	for _, spec := range p.Peers {
		for _, th := range p.Threads {
			opt := mopt
			opt.Threads = th
			rt, err := opt.Runtime()
			if err != nil {
				return err
			}
			name, g, err := openPeer(spec, rt)
			if err != nil {
				return err
			}
			proc := g.NewProcessor()
			r, err := BenchStream(name, proc, th, at(g.SampleRate()), p.Runs)
			if err == nil && p.Paced > 0 {
				r.PacedRTF, r.PacedFrame, err = BenchPaced(proc, at(g.SampleRate()), p.Paced)
			}
			g.Close()
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	if err := WriteBenchTable(p.Out, results); err != nil {
		return err
	}
	if p.JSON != "" {
		return writeFileWith(p.JSON, func(w io.Writer) error { return WriteBenchJSON(w, results) })
	}
	return nil
}

// benchModel times one model at one thread count and each step count: a streaming model
// frame by frame (back to back, then p.Paced seconds one frame per hop) and then its
// whole-signal graphs through the offline engine for comparison, an offline model through
// the offline engine.
func (p BenchPlan) benchModel(open Opener, name string, opt models.Options, at func(rate int) []float32) ([]BenchResult, error) {
	r, err := open.Open(name, opt)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	list, err := r.StepList(p.Steps)
	if err != nil {
		return nil, err
	}
	name, th := r.Manifest().Name, opt.Threads
	fail := func(err error) ([]BenchResult, error) { return nil, fmt.Errorf("model %s: %w", name, err) }
	x := at(r.Manifest().SampleRate)
	var results []BenchResult
	if r.NativeFrames() {
		proc, err := r.Frames()
		if err != nil {
			return fail(err)
		}
		for _, s := range list {
			if err := proc.SetSteps(s); err != nil {
				return fail(err)
			}
			res, err := BenchStream(name, proc, th, x, p.Runs)
			if err != nil {
				return nil, err // names the model
			}
			f := res.Frame
			fmt.Fprintf(p.Log, "%s@%d threads %d: streaming RTF %.4f, per frame p50 %.3f ms p99 %.3f ms max %.3f ms\n",
				name, s, th, res.RTF, f.P50, f.P99, f.Max)
			if p.Paced > 0 {
				if res.PacedRTF, res.PacedFrame, err = BenchPaced(proc, x, p.Paced); err != nil {
					return fail(err)
				}
				f := res.PacedFrame
				fmt.Fprintf(p.Log, "%s@%d threads %d: paced (one frame per hop) RTF %.4f, per frame p50 %.3f ms p99 %.3f ms max %.3f ms\n",
					name, s, th, res.PacedRTF, f.P50, f.P99, f.Max)
			}
			results = append(results, res)
		}
	}
	m, err := open.Offline(r)
	if err != nil {
		return fail(err)
	}
	for _, s := range list {
		res, err := BenchOffline(name, m, s, th, x, p.Runs, r.Noise(0))
		if err != nil {
			return nil, err // names the model
		}
		if !r.NativeFrames() {
			fmt.Fprintf(p.Log, "%s@%d threads %d: RTF %.4f\n", res.Name, s, th, res.RTF)
		}
		results = append(results, res)
	}
	return results, nil
}
