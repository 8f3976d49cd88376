package ort

import (
	"fmt"

	onnx "github.com/yalue/onnxruntime_go"
)

// Buffer is a float32 tensor in Go memory that ONNX Runtime reads and writes in place:
// the caller fills Data before a bound run and reads it after.
type Buffer struct {
	Data []float32
	v    *onnx.Tensor[float32]
}

// NewBuffer allocates a zeroed tensor of the given shape.
func NewBuffer(shape ...int64) (*Buffer, error) {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	v, err := onnx.NewTensor(onnx.NewShape(shape...), data)
	if err != nil {
		return nil, fmt.Errorf("tensor %v: %w", shape, err)
	}
	return &Buffer{Data: data, v: v}, nil
}

// Close releases the tensor; it is safe on nil and twice.
func (b *Buffer) Close() {
	if b != nil && b.v != nil {
		b.v.Destroy()
		b.v = nil
	}
}

// Arg names the buffer bound to one graph input or output.
type Arg struct {
	Name string
	Buf  *Buffer
}

// Bound is a session whose inputs and outputs were bound to buffers once (ONNX Runtime
// I/O binding): Run reads the input buffers, writes the output buffers and allocates
// nothing, which is what a per-frame caller needs. Run must not be called concurrently on
// one Bound; several Bounds of one session may run one at a time.
type Bound struct {
	s *Session
	b *onnx.IoBinding
}

// Bind binds buffers to the named graph inputs and outputs. Buffers may be shared between
// Bounds that never run at once. The session must outlive the Bound.
func (s *Session) Bind(inputs, outputs []Arg) (*Bound, error) {
	b, err := s.sess.CreateIoBinding()
	if err != nil {
		return nil, fmt.Errorf("%s: io binding: %w", s.name, err)
	}
	for _, a := range inputs {
		if err := b.BindInput(a.Name, a.Buf.v); err != nil {
			b.Destroy()
			return nil, fmt.Errorf("%s: bind input %s: %w", s.name, a.Name, err)
		}
	}
	for _, a := range outputs {
		if err := b.BindOutput(a.Name, a.Buf.v); err != nil {
			b.Destroy()
			return nil, fmt.Errorf("%s: bind output %s: %w", s.name, a.Name, err)
		}
	}
	return &Bound{s: s, b: b}, nil
}

// Run evaluates the graph on the bound buffers.
func (b *Bound) Run() error {
	b.s.closeMu.RLock()
	defer b.s.closeMu.RUnlock()
	if b.s.closed {
		return fmt.Errorf("%s: session closed", b.s.name)
	}
	if err := b.s.sess.RunWithBinding(b.b); err != nil {
		return fmt.Errorf("%s: run: %w", b.s.name, err)
	}
	return nil
}

// Close releases the binding (not the session or the buffers); it is safe on nil and twice.
func (b *Bound) Close() {
	if b != nil && b.b != nil {
		b.b.Destroy()
		b.b = nil
	}
}
