package streaming

import (
	"fmt"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/internal/network"
	"github.com/restoregrad/restoregrad/models/ort"
)

// graph is one loaded frame-step graph. Its streams bind their tensors to the session
// once (ort.Bound), so a run allocates nothing on the Go side.
type graph struct {
	name string
	spec StepGraph
	sess *ort.Session
}

func openGraph(b *bundle.Bundle, name string, spec StepGraph, opt ort.Options) (*graph, error) {
	s, err := network.Open(b, name, opt)
	if err != nil {
		return nil, err
	}
	return &graph{name: name, spec: spec, sess: s}, nil
}

func (g *graph) close() error { return g.sess.Close() }

// stream is one independent use of a step graph (the prior, or one reverse step of the
// sampler): two banks of cache tensors and two bindings, bank A → bank B and B → A. Each
// run reads the current bank and writes the other, which becomes current.
type stream struct {
	g     *graph
	banks [2][]*ort.Buffer
	bind  [2]*ort.Bound
	cur   int
}

// newStream binds audio (the graph's audio inputs in order, e.g. y, x_t, t) and out (its
// audio output); those tensors may be shared between streams that never run at once.
func (g *graph) newStream(audio []*ort.Buffer, out *ort.Buffer) (*stream, error) {
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
			t, err := ort.NewBuffer(c.Shape...)
			if err != nil {
				return fail(err)
			}
			s.banks[k] = append(s.banks[k], t)
		}
	}
	for k := range s.bind {
		var ins, outs []ort.Arg
		for i, in := range g.spec.Inputs {
			ins = append(ins, ort.Arg{Name: in.Name, Buf: audio[i]})
		}
		outs = append(outs, ort.Arg{Name: g.spec.Output, Buf: out})
		for i, c := range g.spec.Caches {
			ins = append(ins, ort.Arg{Name: c.Input, Buf: s.banks[k][i]})
			outs = append(outs, ort.Arg{Name: c.Output, Buf: s.banks[1-k][i]})
		}
		b, err := g.sess.Bind(ins, outs)
		if err != nil {
			return fail(err)
		}
		s.bind[k] = b
	}
	return s, nil
}

// run evaluates the graph on the bound tensors and advances the caches by one hop.
func (s *stream) run() error {
	if err := s.bind[s.cur].Run(); err != nil {
		return err
	}
	s.cur ^= 1
	return nil
}

// reset zeroes the caches: the stream starts after silence.
func (s *stream) reset() {
	for _, bank := range s.banks {
		for _, t := range bank {
			clear(t.Data)
		}
	}
	s.cur = 0
}

// stage copies src's current caches into s's spare bank; commit then makes them current.
// Staging every stream before committing any lets streams exchange caches in place.
func (s *stream) stage(src *stream) {
	for i, t := range s.banks[1-s.cur] {
		copy(t.Data, src.banks[src.cur][i].Data)
	}
}

func (s *stream) commit() { s.cur ^= 1 }

func (s *stream) destroy() {
	for k := range s.bind {
		s.bind[k].Close()
		s.bind[k] = nil
	}
	for _, bank := range s.banks {
		for _, t := range bank {
			t.Close()
		}
	}
}
