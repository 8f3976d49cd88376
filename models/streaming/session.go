package streaming

import (
	"fmt"
	"runtime"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/ort"
)

// graph is one loaded frame-step graph. Its tensors are allocated once and bound to the
// session through ONNX Runtime I/O bindings, so a run allocates nothing on the Go side.
type graph struct {
	name string
	spec StepGraph
	sess *onnx.DynamicAdvancedSession
}

func openGraph(b *bundle.Bundle, name string, spec StepGraph, threads int) (*graph, error) {
	data, n, err := b.Network(name)
	if err != nil {
		return nil, err
	}
	if err := ort.Init(""); err != nil {
		return nil, err
	}
	if err := models.CheckGraph(b, n, data); err != nil {
		return nil, err
	}
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("%s: session options: %w", name, err)
	}
	defer so.Destroy()
	threads = min(max(threads, 1), runtime.NumCPU())
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		return nil, fmt.Errorf("%s: set intra-op threads: %w", name, err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("%s: set inter-op threads: %w", name, err)
	}
	s, err := onnx.NewDynamicAdvancedSessionWithONNXData(data, n.InputNames(), n.OutputNames(), so)
	if err != nil {
		return nil, fmt.Errorf("model %s: load %s: %w", b.Manifest.Name, n.File, err)
	}
	return &graph{name: name, spec: spec, sess: s}, nil
}

func (g *graph) close() error { return g.sess.Destroy() }

// tensor is a float32 ONNX Runtime tensor over Go memory that the caller reads and writes.
type tensor struct {
	data []float32
	v    *onnx.Tensor[float32]
}

func newTensor(shape ...int64) (*tensor, error) {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	v, err := onnx.NewTensor(onnx.NewShape(shape...), data)
	if err != nil {
		return nil, fmt.Errorf("tensor %v: %w", shape, err)
	}
	return &tensor{data: data, v: v}, nil
}

func (t *tensor) destroy() {
	if t != nil && t.v != nil {
		t.v.Destroy()
		t.v = nil
	}
}

// stream is one independent use of a step graph (the prior, or one reverse step of the
// sampler): two banks of cache tensors and two bindings, bank A → bank B and B → A. Each
// run reads the current bank and writes the other, which becomes current.
type stream struct {
	g     *graph
	banks [2][]*tensor
	bind  [2]*onnx.IoBinding
	cur   int
}

// newStream binds audio (the graph's audio inputs in order, e.g. y, x_t, t) and out (its
// audio output); those tensors may be shared between streams that never run at once.
func (g *graph) newStream(audio []*tensor, out *tensor) (*stream, error) {
	s := &stream{g: g}
	fail := func(err error) (*stream, error) {
		s.destroy()
		return nil, fmt.Errorf("%s: %w", g.name, err)
	}
	if len(audio) != len(g.spec.Inputs) {
		return fail(fmt.Errorf("%d audio tensors for inputs %v", len(audio), g.spec.Inputs))
	}
	for k := range s.banks {
		for _, c := range g.spec.Caches {
			t, err := newTensor(c.Shape...)
			if err != nil {
				return fail(err)
			}
			s.banks[k] = append(s.banks[k], t)
		}
	}
	for k := range s.bind {
		b, err := g.sess.CreateIoBinding()
		if err != nil {
			return fail(err)
		}
		s.bind[k] = b
		for i, in := range g.spec.Inputs {
			if err := b.BindInput(in.Name, audio[i].v); err != nil {
				return fail(fmt.Errorf("bind %s: %w", in.Name, err))
			}
		}
		if err := b.BindOutput(g.spec.Output, out.v); err != nil {
			return fail(fmt.Errorf("bind %s: %w", g.spec.Output, err))
		}
		for i, c := range g.spec.Caches {
			if err := b.BindInput(c.Input, s.banks[k][i].v); err != nil {
				return fail(fmt.Errorf("bind %s: %w", c.Input, err))
			}
			if err := b.BindOutput(c.Output, s.banks[1-k][i].v); err != nil {
				return fail(fmt.Errorf("bind %s: %w", c.Output, err))
			}
		}
	}
	return s, nil
}

// run evaluates the graph on the bound tensors and advances the caches by one hop.
func (s *stream) run() error {
	if err := s.g.sess.RunWithBinding(s.bind[s.cur]); err != nil {
		return fmt.Errorf("%s: run: %w", s.g.name, err)
	}
	s.cur ^= 1
	return nil
}

// reset zeroes the caches: the stream starts after silence.
func (s *stream) reset() {
	for _, bank := range s.banks {
		for _, t := range bank {
			clear(t.data)
		}
	}
	s.cur = 0
}

// stage copies src's current caches into s's spare bank; commit then makes them current.
// Staging every stream before committing any lets streams exchange caches in place.
func (s *stream) stage(src *stream) {
	for i, t := range s.banks[1-s.cur] {
		copy(t.data, src.banks[src.cur][i].data)
	}
}

func (s *stream) commit() { s.cur ^= 1 }

func (s *stream) destroy() {
	for k := range s.bind {
		if s.bind[k] != nil {
			s.bind[k].Destroy()
			s.bind[k] = nil
		}
	}
	for _, bank := range s.banks {
		for _, t := range bank {
			t.destroy()
		}
	}
}
