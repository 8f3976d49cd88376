// Package gtcrn runs GTCRN (Rong et al., ICASSP 2024), an ultra-light streaming speech
// denoiser, from its public streaming ONNX export, so that it can be measured as a peer
// on the same files and through the same ONNX Runtime as our models.
//
// The graph enhances one STFT frame at a time (512-point STFT, hop 256, square-root
// periodic Hann window, 16 kHz): it takes the frame's 257 bins as [1,257,1,2]
// (real, imaginary) and three cache tensors, and returns the enhanced frame and the
// updated caches. The host owns the caches; they start at zero.
package gtcrn

import (
	"fmt"
	"os"

	"github.com/restoregrad/restoregrad/dsp/spectral"
	"github.com/restoregrad/restoregrad/models/ort"
)

// Model constants of the public export.
const (
	Rate     = 16000
	FrameLen = 512
	Hop      = 256
	Bins     = FrameLen/2 + 1
)

// cache shapes of gtcrn_simple.onnx.
var cacheShapes = [3][]int64{
	{2, 1, 16, 16, 33}, // conv_cache
	{2, 3, 1, 1, 16},   // tra_cache
	{2, 1, 33, 16},     // inter_cache
}

var (
	inputNames  = []string{"mix", "conv_cache", "tra_cache", "inter_cache"}
	outputNames = []string{"enh", "conv_cache_out", "tra_cache_out", "inter_cache_out"}
)

// Model is a loaded GTCRN graph. It is safe for concurrent use; each Stream (and each
// Enhance call) carries its own caches.
type Model struct {
	sess *ort.Session
}

// Open loads the streaming GTCRN graph from an .onnx file.
func Open(path string, opt ort.Options) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sess, err := ort.NewSession(path, data, inputNames, outputNames, opt)
	if err != nil {
		return nil, err
	}
	return &Model{sess: sess}, nil
}

// Close releases the session.
func (m *Model) Close() error { return m.sess.Close() }

// SampleRate is 16 kHz.
func (m *Model) SampleRate() int { return Rate }

// Latency is the algorithmic latency in samples when streaming: one frame (32 ms).
func (m *Model) Latency() int { return FrameLen }

func newSTFT() *spectral.STFT {
	s, err := spectral.NewSTFT(FrameLen, Hop, spectral.SqrtHann(FrameLen))
	if err != nil {
		panic(err) // constant, valid arguments
	}
	return s
}

// state is one stream's caches and scratch.
type state struct {
	caches [3][]float32
	mix    []float32
}

func newState() *state {
	s := &state{mix: make([]float32, Bins*2)}
	for i, sh := range cacheShapes {
		n := int64(1)
		for _, d := range sh {
			n *= d
		}
		s.caches[i] = make([]float32, n)
	}
	return s
}

// step enhances one frame of Bins coefficients in place.
func (m *Model) step(st *state, frame []complex128) error {
	for k, c := range frame {
		st.mix[2*k] = float32(real(c))
		st.mix[2*k+1] = float32(imag(c))
	}
	in := []ort.Tensor{
		{Shape: []int64{1, Bins, 1, 2}, Data: st.mix},
		{Shape: cacheShapes[0], Data: st.caches[0]},
		{Shape: cacheShapes[1], Data: st.caches[1]},
		{Shape: cacheShapes[2], Data: st.caches[2]},
	}
	out, err := m.sess.Run(in)
	if err != nil {
		return err
	}
	if len(out[0].Data) != 2*Bins {
		return fmt.Errorf("gtcrn: %d output values per frame, want %d", len(out[0].Data), 2*Bins)
	}
	for i := range st.caches {
		if len(out[i+1].Data) != len(st.caches[i]) {
			return fmt.Errorf("gtcrn: cache %s has %d values, want %d", outputNames[i+1], len(out[i+1].Data), len(st.caches[i]))
		}
		st.caches[i] = out[i+1].Data
	}
	e := out[0].Data
	for k := range frame {
		frame[k] = complex(float64(e[2*k]), float64(e[2*k+1]))
	}
	return nil
}

// Enhance denoises a whole 16 kHz signal frame by frame through the streaming graph and
// returns an output of the same length, aligned with the input (the STFT's synthesis
// delay is removed).
func (m *Model) Enhance(y []float32) ([]float32, error) {
	if len(y) == 0 {
		return nil, nil
	}
	s := newSTFT()
	frames := s.Forward(y)
	st := newState()
	for k, f := range frames {
		if err := m.step(st, f); err != nil {
			return nil, fmt.Errorf("frame %d: %w", k, err)
		}
	}
	return s.Inverse(frames, len(y))
}

// Stream enhances a signal as it arrives, Hop samples at a time.
type Stream struct {
	m     *Model
	st    *state
	ana   *spectral.Analyzer
	syn   *spectral.Synthesizer
	frame []complex128
}

// NewStream starts a stream with zero caches.
func (m *Model) NewStream() *Stream {
	s := newSTFT()
	return &Stream{m: m, st: newState(), ana: s.NewAnalyzer(), syn: s.NewSynthesizer(), frame: make([]complex128, Bins)}
}

// Process takes exactly Hop input samples and appends Hop output samples to dst. The
// output is the enhanced input delayed by Delay() samples.
func (s *Stream) Process(dst, hop []float32) ([]float32, error) {
	f, err := s.ana.Next(s.frame, hop)
	if err != nil {
		return dst, err
	}
	if err := s.m.step(s.st, f); err != nil {
		return dst, err
	}
	return s.syn.Next(dst, f)
}

// Delay is the shift, in samples, between a Stream's input and its output.
func (s *Stream) Delay() int { return s.syn.Latency() }

// Processor runs a Stream with the shape of engine.FrameProcessor: one Hop of samples per
// call, output lagging by Latency(). GTCRN has no diffusion steps: Steps and MaxSteps
// are 0 and SetSteps fails. Process allocates (ONNX Runtime tensors) on every call.
type Processor struct {
	m   *Model
	s   *Stream
	buf []float32
}

// NewProcessor starts a processor with zero caches.
func (m *Model) NewProcessor() *Processor {
	return &Processor{m: m, s: m.NewStream(), buf: make([]float32, 0, Hop)}
}

// SampleRate is 16 kHz.
func (p *Processor) SampleRate() int { return Rate }

// FrameSize is the hop, 256 samples.
func (p *Processor) FrameSize() int { return Hop }

// Latency is the output lag behind the input, in samples (the synthesis overlap).
func (p *Processor) Latency() int { return p.s.Delay() }

// Process enhances one hop of samples.
func (p *Processor) Process(out, in []float32) error {
	if len(in) != Hop || len(out) != Hop {
		return fmt.Errorf("gtcrn: frames of %d samples, got in %d out %d", Hop, len(in), len(out))
	}
	r, err := p.s.Process(p.buf[:0], in)
	if err != nil {
		return err
	}
	copy(out, r)
	return nil
}

// Steps is 0: GTCRN is not a diffusion model.
func (p *Processor) Steps() int { return 0 }

// MaxSteps is 0.
func (p *Processor) MaxSteps() int { return 0 }

// SetSteps always fails: GTCRN has no steps to set.
func (p *Processor) SetSteps(n int) error { return fmt.Errorf("gtcrn has no diffusion steps") }

// Reset clears the caches and the STFT state.
func (p *Processor) Reset() { p.s = p.m.NewStream() }
