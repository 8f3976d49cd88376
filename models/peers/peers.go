// Package peers runs other projects' streaming speech denoisers from their public ONNX
// exports, so that they can be measured as peers on the same files and through the same
// ONNX Runtime as our models.
//
// Every peer graph here enhances one STFT frame per run and leaves its state to the host
// (see Format). Open tells the format from the graph's inputs and outputs, not from a
// name, so a retrained or re-exported graph of a known format needs no code.
//
// Adding a peer is one file declaring its Format (see gtcrn.go, ulunas.go) and one entry
// in Formats.
package peers

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/restoregrad/restoregrad/dsp/spectral"
	"github.com/restoregrad/restoregrad/models/ort"
)

// A Format is one family of streaming ONNX exports. The graph contract, shared by all:
//
//   - input "mix" is one STFT frame, shape [1, FrameLen/2+1, 1, 2] (real, imaginary),
//     unnormalised DFT of FrameLen samples times Window, frames Hop apart;
//   - the other inputs are the caches, Caches in graph order; each comes back as an
//     output of the same name with "_out" appended, to be fed to the next run;
//     the host owns them, and they start at zero;
//   - output "enh", the first output, is the enhanced frame, shaped like "mix";
//   - the signal is rebuilt by weighted overlap-add with Window again, divided by the
//     overlapped squared window (torch.istft's inverse).
type Format struct {
	Name     string // short name, as errors and the help say it: "gtcrn"
	About    string // one line for the help: what the graph is and its STFT
	Rate     int    // sample rate in Hz
	FrameLen int    // STFT frame length (and FFT size) in samples
	Hop      int    // STFT hop in samples: one run of the graph per hop
	// Window returns the analysis window of length n, also used for synthesis.
	Window func(n int) []float64
	Caches []ort.Port // the cache inputs after "mix", with their fixed shapes
}

// Formats lists the known peer formats, in the order Open tries them.
func Formats() []Format { return []Format{GTCRN(), ULUNAS()} }

// Bins is the number of STFT bins per frame, FrameLen/2+1.
func (f Format) Bins() int { return f.FrameLen/2 + 1 }

func (f Format) inputs() []ort.Port {
	return append([]ort.Port{{Name: "mix", Shape: []int64{1, int64(f.Bins()), 1, 2}}}, f.Caches...)
}

func (f Format) outputs() []ort.Port {
	p := []ort.Port{{Name: "enh", Shape: []int64{1, int64(f.Bins()), 1, 2}}}
	for _, c := range f.Caches {
		p = append(p, ort.Port{Name: c.Name + "_out", Shape: c.Shape})
	}
	return p
}

func names(ports []ort.Port) []string {
	n := make([]string, len(ports))
	for i, p := range ports {
		n[i] = p.Name
	}
	return n
}

// portList writes ports as "mix[1,257,1,2] conv_cache[1,5358]".
func portList(ports []ort.Port) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		d := make([]string, len(p.Shape))
		for j, v := range p.Shape {
			d[j] = strconv.FormatInt(v, 10)
		}
		s[i] = p.Name + "[" + strings.Join(d, ",") + "]"
	}
	return strings.Join(s, " ")
}

// ErrUnknownFormat is the cause of Detect's error for a graph of no known format.
var ErrUnknownFormat = errors.New("not a streaming peer graph of a known format")

// Detect returns the format whose inputs and outputs the graph has (names, shapes, float32).
// For a graph of no known format the error wraps ErrUnknownFormat and lists the graph's
// inputs and outputs, on one line. ONNX Runtime must be loaded (ort.Init).
func Detect(model []byte) (Format, error) {
	formats := Formats()
	for _, f := range formats {
		if ort.CheckPorts(model, f.inputs(), f.outputs()) == nil {
			return f, nil
		}
	}
	in, out, err := ort.GraphPorts(model)
	if err != nil {
		return Format{}, err
	}
	known := make([]string, len(formats))
	for i, f := range formats {
		known[i] = f.Name
	}
	return Format{}, fmt.Errorf("%w (%s): inputs %s, outputs %s", ErrUnknownFormat, strings.Join(known, ", "), portList(in), portList(out))
}

// Model is a loaded peer graph. It is safe for concurrent use; each Stream (and each
// Enhance call) carries its own caches.
type Model struct {
	f    Format
	sess *ort.Session
}

// Open loads a peer graph from an .onnx file, its format told by Detect. Errors name the
// file.
func Open(path string, opt ort.Options) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := ort.Init(""); err != nil {
		return nil, err
	}
	f, err := Detect(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sess, err := ort.NewSession(path, data, names(f.inputs()), names(f.outputs()), opt)
	if err != nil {
		return nil, err
	}
	return &Model{f: f, sess: sess}, nil
}

// Close releases the session.
func (m *Model) Close() error { return m.sess.Close() }

// Format is the graph's format.
func (m *Model) Format() Format { return m.f }

// SampleRate is the format's rate.
func (m *Model) SampleRate() int { return m.f.Rate }

// Latency is the algorithmic latency in samples when streaming: one frame.
func (m *Model) Latency() int { return m.f.FrameLen }

func (m *Model) newSTFT() *spectral.STFT {
	s, err := spectral.NewSTFT(m.f.FrameLen, m.f.Hop, m.f.Window(m.f.FrameLen))
	if err != nil {
		panic(fmt.Sprintf("peer format %s: %v", m.f.Name, err)) // a Format's constants are wrong
	}
	return s
}

// state is one stream's caches and scratch.
type state struct {
	caches [][]float32
	mix    []float32
}

func (m *Model) newState() *state {
	s := &state{mix: make([]float32, 2*m.f.Bins()), caches: make([][]float32, len(m.f.Caches))}
	for i, c := range m.f.Caches {
		n := int64(1)
		for _, d := range c.Shape {
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
	in := make([]ort.Tensor, 1+len(st.caches))
	in[0] = ort.Tensor{Shape: []int64{1, int64(m.f.Bins()), 1, 2}, Data: st.mix}
	for i, c := range st.caches {
		in[i+1] = ort.Tensor{Shape: m.f.Caches[i].Shape, Data: c}
	}
	out, err := m.sess.Run(in)
	if err != nil {
		return err
	}
	if len(out[0].Data) != 2*len(frame) {
		return fmt.Errorf("%s: %d output values per frame, want %d", m.f.Name, len(out[0].Data), 2*len(frame))
	}
	for i := range st.caches {
		if len(out[i+1].Data) != len(st.caches[i]) {
			return fmt.Errorf("%s: cache %s_out has %d values, want %d", m.f.Name, m.f.Caches[i].Name, len(out[i+1].Data), len(st.caches[i]))
		}
		st.caches[i] = out[i+1].Data
	}
	e := out[0].Data
	for k := range frame {
		frame[k] = complex(float64(e[2*k]), float64(e[2*k+1]))
	}
	return nil
}

// Enhance denoises a whole signal at SampleRate frame by frame through the streaming
// graph and returns an output of the same length, aligned with the input (the STFT's
// synthesis delay is removed). It runs the graph exactly as a Stream does: the first frame
// ends with the first Hop samples, zeros before them. Upstream offline scripts
// (torch.stft with center=True) reflect the signal at its edges instead, and UL-UNAS's
// inference.py also zeroes the last len%Hop samples; on the VoiceBank+DEMAND dev set their
// figures differ from these by up to 0.02 PESQ-WB and 0.1 dB SI-SDR.
func (m *Model) Enhance(y []float32) ([]float32, error) {
	if len(y) == 0 {
		return nil, nil
	}
	s := m.newSTFT()
	frames := s.Forward(y)
	st := m.newState()
	for k, f := range frames {
		if err := m.step(st, f); err != nil {
			return nil, fmt.Errorf("frame %d: %w", k, err)
		}
	}
	return s.Inverse(frames, len(y))
}
