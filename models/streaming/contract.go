// Package streaming runs a causal RestoreGrad model frame by frame: the streaming bundle's
// step graphs with explicit caches, one cache set per reverse diffusion step, so the whole
// few-step sampler advances on each hop with no overlap and equals the whole-file run.
package streaming

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/restoregrad/restoregrad/models/bundle"
)

// Names of the frame-step graphs in a streaming bundle's networks and contract.
const (
	DenoiserStep = "denoiser_step"
	PriorStep    = "prior_step"
)

// ContractVersion is the newest version of the manifest's `streaming` object this code reads
// (1: waveform hops; 2 adds STFT frames).
const ContractVersion = 2

// Contract is a streaming bundle's frame-step contract: the manifest's `streaming` object
// (models/BUNDLE.md, "Streaming bundles").
type Contract struct {
	Version int `json:"version"`
	// Hop is the frame size in samples: every step graph reads and writes one hop (one
	// STFT frame of [2][F] compressed bins for an STFT bundle).
	Hop int `json:"hop"`
	// Lookahead is how many input samples after an output sample that sample depends on.
	// It never reaches past the end of the sample's own hop.
	Lookahead int `json:"lookahead"`
	// Latency is the delay, in samples, of output hop k behind input hop k (0: aligned;
	// n_fft − hop for an STFT bundle, whose overlap-add completes a hop one frame later).
	Latency int `json:"latency"`
	// AlgorithmicLatency is Hop + Latency: the wait from an input sample to its output.
	AlgorithmicLatency int `json:"algorithmic_latency"`
	// CacheInit is the state at the start of a stream: "zeros" (silence before it).
	CacheInit string `json:"cache_init"`
	// Networks holds the step graphs, DenoiserStep and PriorStep.
	Networks map[string]StepGraph `json:"networks"`
	// WholeSignal names the whole-signal graphs of the same model (offline contract).
	WholeSignal map[string]string `json:"whole_signal"`
}

// StepGraph is one frame-step graph: its audio inputs (one hop each, plus the step t for
// the denoiser), its audio output, and its caches. A graph's inputs are the audio inputs
// followed by the caches' inputs; its outputs are Output followed by the caches' outputs.
type StepGraph struct {
	Inputs    []bundle.TensorSpec `json:"inputs"`
	Output    string              `json:"output"`
	Caches    []Cache             `json:"caches"`
	CacheSets string              `json:"cache_sets"`
}

// Cache is one convolution's state: the graph reads it from Input and returns its next
// value from Output, which the caller feeds back to Input on the next hop.
type Cache struct {
	Input  string  `json:"input"`
	Output string  `json:"output"`
	Shape  []int64 `json:"shape"`
}

// Size is the number of float32 values in the cache.
func (c Cache) Size() int {
	n := 1
	for _, d := range c.Shape {
		n *= int(d)
	}
	return n
}

// ParseContract reads and checks the contract of a streaming manifest against its networks.
func ParseContract(m *bundle.Manifest) (*Contract, error) {
	if m.Kind != bundle.KindStreaming {
		return nil, fmt.Errorf("model %s is a %s bundle, not a streaming one", m.Name, m.Kind)
	}
	if len(m.Streaming) == 0 {
		return nil, fmt.Errorf("model %s: streaming bundle without a `streaming` object", m.Name)
	}
	dec := json.NewDecoder(bytes.NewReader(m.Streaming))
	dec.DisallowUnknownFields()
	var c Contract
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("model %s: manifest streaming: %w", m.Name, err)
	}
	if err := c.check(m); err != nil {
		return nil, fmt.Errorf("model %s: manifest streaming: %w", m.Name, err)
	}
	return &c, nil
}

func (c *Contract) check(m *bundle.Manifest) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Version < 1 || c.Version > ContractVersion {
		bad("version %d, this program reads 1 to %d", c.Version, ContractVersion)
	}
	if c.Hop < 1 || c.Hop%m.LengthMultiple != 0 {
		bad("hop %d must be a positive multiple of length_multiple %d", c.Hop, m.LengthMultiple)
	}
	if c.Lookahead < 0 || c.Lookahead > c.Hop || c.Latency < 0 || c.AlgorithmicLatency != c.Hop+c.Latency {
		bad("lookahead %d, latency %d, algorithmic_latency %d inconsistent with hop %d",
			c.Lookahead, c.Latency, c.AlgorithmicLatency, c.Hop)
	}
	frame := []int64{1, 1, int64(c.Hop)}
	if s := m.STFT; m.IsSTFT() && s != nil {
		// One STFT frame per hop; a sample leaves once the frame after it is in.
		if c.Hop != s.Hop || c.Latency != s.NFFT-s.Hop || c.Lookahead != 0 {
			bad("hop %d, latency %d, lookahead %d: an STFT stream has hop = stft.hop %d, latency = n_fft − hop %d, lookahead 0",
				c.Hop, c.Latency, c.Lookahead, s.Hop, s.NFFT-s.Hop)
		}
		frame = []int64{1, 2, 1, int64(s.Bins())}
	}
	if c.CacheInit != "zeros" {
		bad("cache_init %q (want \"zeros\")", c.CacheInit)
	}
	if m.InputRMS != 0 {
		bad("input_rms %v: a stream has no whole-signal RMS to normalise by", m.InputRMS)
	}
	want := map[string]struct {
		inputs []bundle.TensorSpec
		output string
	}{
		DenoiserStep: {[]bundle.TensorSpec{{Name: "y", Shape: frame}, {Name: "x_t", Shape: frame}, {Name: "t", Shape: []int64{1}}}, "eps"},
		PriorStep:    {[]bundle.TensorSpec{{Name: "y", Shape: frame}}, "sigma"},
	}
	for name, w := range want {
		g, ok := c.Networks[name]
		if !ok {
			bad("networks.%s missing", name)
			continue
		}
		if !specsEqual(g.Inputs, w.inputs) || g.Output != w.output {
			bad("networks.%s: inputs %v and output %q, want %v and %q", name, g.Inputs, g.Output, w.inputs, w.output)
		}
		n, ok := m.Networks[name]
		if !ok {
			bad("manifest networks.%s missing", name)
			continue
		}
		ins, outs := slices.Clone(g.Inputs), []bundle.TensorSpec{{Name: g.Output, Shape: frame}}
		for _, k := range g.Caches {
			if len(k.Shape) == 0 || k.Size() < 1 || k.Input == "" || k.Output == "" {
				bad("networks.%s: cache %q has shape %v", name, k.Input, k.Shape)
			}
			ins = append(ins, bundle.TensorSpec{Name: k.Input, Shape: k.Shape})
			outs = append(outs, bundle.TensorSpec{Name: k.Output, Shape: k.Shape})
		}
		if !specsEqual(n.Inputs, ins) || !specsEqual(n.Outputs, outs) {
			bad("manifest networks.%s inputs/outputs do not match the streaming contract", name)
		}
	}
	return errors.Join(errs...)
}

func specsEqual(a, b []bundle.TensorSpec) bool { return bundle.SpecsEqual(a, b) }
