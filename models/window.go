package models

import (
	"fmt"

	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// window is a waveform model bound to one signal length, for running an offline bundle in
// blocks (Runner.Frames): Enhance on that length runs the graphs through bound ONNX Runtime
// buffers (ort.Bound) and allocates nothing, as a live frame processor must not; it gives
// the model's own result. Other lengths, and STFT-domain bundles, go to the model. It is not
// safe for concurrent use.
type window struct {
	*Model
	n                   int         // the signal length it is bound to
	y, x, eps, sigma, t *ort.Buffer // y and x padded to the length multiple
	z                   []float32
	pri, den            *ort.Bound
}

// newWindow binds m's graphs to signals of n samples; Close releases the bindings.
func newWindow(m *Model, n int) (*window, error) {
	if m.bins > 0 {
		return nil, fmt.Errorf("model %s: bound windows are for waveform bundles", m.bundle.Manifest.Name)
	}
	mult := m.bundle.Manifest.LengthMultiple
	padded := (n + mult - 1) / mult * mult
	w := &window{Model: m, n: n, z: make([]float32, padded)}
	var err error
	for _, b := range []**ort.Buffer{&w.y, &w.x, &w.eps, &w.sigma} {
		if *b, err = ort.NewBuffer(1, 1, int64(padded)); err != nil {
			w.Close()
			return nil, err
		}
	}
	if w.t, err = ort.NewBuffer(1); err != nil {
		w.Close()
		return nil, err
	}
	if w.pri, err = m.prior.Bind([]ort.Arg{{Name: "y", Buf: w.y}}, []ort.Arg{{Name: "sigma", Buf: w.sigma}}); err != nil {
		w.Close()
		return nil, err
	}
	w.den, err = m.denoiser.Bind([]ort.Arg{{Name: "x_t", Buf: w.x}, {Name: "y", Buf: w.y}, {Name: "t", Buf: w.t}},
		[]ort.Arg{{Name: "eps", Buf: w.eps}})
	if err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Enhance is Model.Enhance; on the bound length it allocates nothing.
func (w *window) Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	s, err := w.samplers.Get(steps)
	if len(y) != w.n || len(out) != w.n || err != nil {
		return w.Model.Enhance(out, y, steps, noise, offset)
	}
	// As Model.Enhance: y zero-padded to the length multiple, the prior, then the sampler's
	// steps with the denoiser reading x in place.
	yp, x := w.y.Data, w.x.Data
	copy(yp, y)
	clear(yp[len(y):])
	if err := w.pri.Run(); err != nil {
		return err
	}
	err = s.Reverse(x, yp, w.sigma.Data, w.eps.Data, w.z, noise, offset, func(k int) error {
		w.t.Data[0] = s.T(k)
		return w.den.Run()
	})
	if err != nil {
		return err
	}
	copy(out, x)
	return nil
}

// Close releases the bindings and buffers (not the model); it is safe on a part-made window.
func (w *window) Close() error {
	w.pri.Close()
	w.den.Close()
	for _, b := range []*ort.Buffer{w.y, w.x, w.eps, w.sigma, w.t} {
		b.Close()
	}
	return nil
}
