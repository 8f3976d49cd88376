package ort

import (
	"fmt"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// Tensor is a float32 tensor in row-major order.
type Tensor struct {
	Shape []int64
	Data  []float32
}

// Session is one loaded ONNX graph with named float32 inputs and outputs. Run is safe for
// concurrent use.
type Session struct {
	name     string
	inputs   []string
	outputs  []string
	provider Provider
	sess     *onnx.DynamicAdvancedSession
	closeMu  sync.RWMutex
	closed   bool
}

// NewSession loads an ONNX graph from its bytes. name appears in errors (e.g. the file).
// Init must have been called, or is called with the default library path.
func NewSession(name string, model []byte, inputs, outputs []string, opt Options) (*Session, error) {
	if err := Init(""); err != nil {
		return nil, err
	}
	so, provider, err := opt.sessionOptions()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer so.Destroy()
	s, err := onnx.NewDynamicAdvancedSessionWithONNXData(model, inputs, outputs, so)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	return &Session{name: name, inputs: inputs, outputs: outputs, provider: provider, sess: s}, nil
}

// Provider reports where the session runs.
func (s *Session) Provider() Provider { return s.provider }

// Run evaluates the graph. in must hold one tensor per input name, in order; the result
// holds one tensor per output name, with its data copied out of ONNX Runtime.
func (s *Session) Run(in []Tensor) ([]Tensor, error) {
	if len(in) != len(s.inputs) {
		return nil, fmt.Errorf("%s: got %d inputs, want %d (%v)", s.name, len(in), len(s.inputs), s.inputs)
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("%s: session closed", s.name)
	}
	values := make([]onnx.Value, len(in))
	defer func() {
		for _, v := range values {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, t := range in {
		v, err := onnx.NewTensor(onnx.NewShape(t.Shape...), t.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: input %s %v: %w", s.name, s.inputs[i], t.Shape, err)
		}
		values[i] = v
	}
	outs := make([]onnx.Value, len(s.outputs))
	if err := s.sess.Run(values, outs); err != nil {
		return nil, fmt.Errorf("%s: run: %w", s.name, err)
	}
	result := make([]Tensor, len(outs))
	for i, o := range outs {
		t, ok := o.(*onnx.Tensor[float32])
		if !ok {
			o.Destroy()
			return nil, fmt.Errorf("%s: output %s is %s, want float32 tensor", s.name, s.outputs[i], o.GetONNXType())
		}
		data := t.GetData()
		result[i] = Tensor{Shape: append([]int64(nil), t.GetShape()...), Data: append([]float32(nil), data...)}
		o.Destroy()
	}
	return result, nil
}

// Close releases the session. Runs in flight finish first.
func (s *Session) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.sess.Destroy()
}
