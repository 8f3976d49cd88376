package spectral

import (
	"fmt"
	"math"
)

// Compressed spectra are the representation of time-frequency speech models: each STFT bin
// X becomes scale·|X|^p·X/|X| (power-law compression of the magnitude, phase kept), and a
// frame of B bins is held as 2·B float32 values, the real parts then the imaginary parts.
// A signal's frames are stored one after another (frame-major).

// Compress writes the compressed bins of one frame into dst[:2·len(frame)]: dst[b] and
// dst[B+b] are the real and imaginary parts of scale·|X_b|^p·X_b/|X_b| (0 where X_b = 0).
func Compress(dst []float32, frame []complex128, p, scale float64) {
	nb := len(frame)
	dst = dst[:2*nb]
	for b, x := range frame {
		m := math.Hypot(real(x), imag(x))
		if m == 0 {
			dst[b], dst[nb+b] = 0, 0
			continue
		}
		g := scale * math.Pow(m, p) / m
		dst[b], dst[nb+b] = float32(real(x)*g), float32(imag(x)*g)
	}
}

// Decompress inverts Compress: dst[b] = (|c_b|/scale)^(1/p)·c_b/|c_b| for the compressed
// bin c_b = src[b] + i·src[B+b] (0 where c_b = 0), B = len(dst).
func Decompress(dst []complex128, src []float32, p, scale float64) {
	nb := len(dst)
	src = src[:2*nb]
	inv := 1 / p
	for b := range dst {
		re, im := float64(src[b]), float64(src[nb+b])
		m := math.Hypot(re, im)
		if m == 0 {
			dst[b] = 0
			continue
		}
		g := math.Pow(m/scale, inv) / m
		dst[b] = complex(re*g, im*g)
	}
}

// A CompressedSTFT is an STFT (framing as STFT's) whose frames are compressed. It holds
// scratch buffers: it is not safe for concurrent use.
type CompressedSTFT struct {
	s        *STFT
	p, scale float64
}

// NewCompressedSTFT compresses s's frames with exponent p in (0, 1] and a positive scale.
func NewCompressedSTFT(s *STFT, p, scale float64) (*CompressedSTFT, error) {
	if !(p > 0 && p <= 1) || !(scale > 0) || math.IsInf(scale, 0) {
		return nil, fmt.Errorf("spectral: compression exponent %v must be in (0, 1] and scale %v positive", p, scale)
	}
	return &CompressedSTFT{s: s, p: p, scale: scale}, nil
}

// STFT returns the underlying transform.
func (c *CompressedSTFT) STFT() *STFT { return c.s }

// RowLen is the number of values per compressed frame, 2·Bins().
func (c *CompressedSTFT) RowLen() int { return 2 * c.s.Bins() }

// Forward returns the compressed STFT of x: NumFrames(len(x)) rows of RowLen() values.
func (c *CompressedSTFT) Forward(x []float32) []float32 {
	frames := c.s.Forward(x)
	rows := make([]float32, len(frames)*c.RowLen())
	for k, f := range frames {
		Compress(rows[k*c.RowLen():], f, c.p, c.scale)
	}
	return rows
}

// Inverse decompresses rows (whole frames laid out as Forward returns them) and
// reconstructs length samples by weighted overlap-add.
func (c *CompressedSTFT) Inverse(rows []float32, length int) ([]float32, error) {
	n := c.RowLen()
	if len(rows)%n != 0 {
		return nil, fmt.Errorf("spectral: %d compressed values are not whole frames of %d", len(rows), n)
	}
	bins := c.s.Bins()
	back := make([]complex128, len(rows)/n*bins)
	frames := make([][]complex128, len(rows)/n)
	for k := range frames {
		frames[k] = back[k*bins : (k+1)*bins : (k+1)*bins]
		Decompress(frames[k], rows[k*n:], c.p, c.scale)
	}
	return c.s.Inverse(frames, length)
}

// A CompressedAnalyzer is an Analyzer whose frames come out compressed; it does not
// allocate.
type CompressedAnalyzer struct {
	a        *Analyzer
	spec     []complex128
	p, scale float64
}

// NewAnalyzer returns a streaming analyzer for c, starting after silence.
func (c *CompressedSTFT) NewAnalyzer() *CompressedAnalyzer {
	return &CompressedAnalyzer{a: c.s.NewAnalyzer(), spec: make([]complex128, c.s.Bins()), p: c.p, scale: c.scale}
}

// Next takes exactly Hop() new samples and writes the compressed frame that ends with them
// into dst (RowLen() values); the k-th call gives row k of Forward.
func (a *CompressedAnalyzer) Next(dst []float32, hop []float32) error {
	if len(dst) != 2*len(a.spec) {
		return fmt.Errorf("spectral: CompressedAnalyzer.Next got %d values, want %d", len(dst), 2*len(a.spec))
	}
	if _, err := a.a.Next(a.spec, hop); err != nil {
		return err
	}
	Compress(dst, a.spec, a.p, a.scale)
	return nil
}

// Reset clears the history to zeros.
func (a *CompressedAnalyzer) Reset() { a.a.Reset() }

// A CompressedSynthesizer is a Synthesizer fed compressed frames; it does not allocate.
type CompressedSynthesizer struct {
	y        *Synthesizer
	spec     []complex128
	p, scale float64
}

// NewSynthesizer returns a streaming synthesizer for c.
func (c *CompressedSTFT) NewSynthesizer() *CompressedSynthesizer {
	return &CompressedSynthesizer{y: c.s.NewSynthesizer(), spec: make([]complex128, c.s.Bins()), p: c.p, scale: c.scale}
}

// Latency returns the delay of the output in samples, FrameLen()-Hop().
func (y *CompressedSynthesizer) Latency() int { return y.y.Latency() }

// Next overlap-adds one compressed frame (RowLen() values) and writes the Hop() samples
// that no later frame overlaps into dst, which must hold exactly Hop() samples.
func (y *CompressedSynthesizer) Next(dst []float32, row []float32) error {
	if len(row) != 2*len(y.spec) || len(dst) != y.y.s.hop {
		return fmt.Errorf("spectral: CompressedSynthesizer.Next got %d values and %d samples, want %d and %d",
			len(row), len(dst), 2*len(y.spec), y.y.s.hop)
	}
	Decompress(y.spec, row, y.p, y.scale)
	_, err := y.y.Next(dst[:0], y.spec)
	return err
}

// Reset clears the overlap-add state.
func (y *CompressedSynthesizer) Reset() { y.y.Reset() }
