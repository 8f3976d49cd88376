package spectral

import "fmt"

// An Analyzer computes an STFT frame by frame from a stream of samples, hop
// samples at a time. Its frames equal those of STFT.Forward on the whole
// signal: the k-th call to Next returns frame k.
//
// An Analyzer has its own buffers; it is not safe for concurrent use.
type Analyzer struct {
	s     *STFT
	hist  []float64 // the last frameLen samples, oldest first
	frame []float64
}

// NewAnalyzer returns an Analyzer for s's frame length, hop and window,
// starting with a history of zeros.
func (s *STFT) NewAnalyzer() *Analyzer {
	t, _ := NewSTFT(s.frameLen, s.hop, s.window) // own FFT scratch; s is valid
	return &Analyzer{s: t, hist: make([]float64, s.frameLen), frame: make([]float64, s.frameLen)}
}

// Next takes exactly Hop() new samples and returns the spectrum of the frame
// that ends with them. The spectrum is written to dst when len(dst) equals
// Bins(), and to a new slice when dst is nil.
func (a *Analyzer) Next(dst []complex128, hop []float32) ([]complex128, error) {
	s := a.s
	if len(hop) != s.hop {
		return nil, fmt.Errorf("spectral: Analyzer.Next got %d samples, want hop %d", len(hop), s.hop)
	}
	if dst != nil && len(dst) != s.Bins() {
		return nil, fmt.Errorf("spectral: Analyzer.Next got %d bins, want %d", len(dst), s.Bins())
	}
	copy(a.hist, a.hist[s.hop:])
	tail := a.hist[s.frameLen-s.hop:]
	for i, v := range hop {
		tail[i] = float64(v)
	}
	for i, v := range a.hist {
		a.frame[i] = v * s.window[i]
	}
	return s.fft.Coefficients(dst, a.frame), nil
}

// Reset clears the history to zeros.
func (a *Analyzer) Reset() { clear(a.hist) }

// A Synthesizer inverts an STFT frame by frame by weighted overlap-add. Each
// call to Next takes one frame and returns Hop() finished samples.
//
// Fed the frames of a signal x in order, the Synthesizer returns x delayed by
// Latency() = FrameLen()-Hop() samples: the samples returned by the k-th call
// (k from 0) are x[k·hop-Latency() : (k+1)·hop-Latency()], zeros standing in
// for negative indices. They equal STFT.Inverse's output wherever both exist.
type Synthesizer struct {
	s   *STFT
	acc []float64 // overlap-add accumulator, frameLen samples
	buf []float64
}

// NewSynthesizer returns a Synthesizer for s's frame length, hop and window.
func (s *STFT) NewSynthesizer() *Synthesizer {
	t, _ := NewSTFT(s.frameLen, s.hop, s.window)
	return &Synthesizer{s: t, acc: make([]float64, s.frameLen), buf: make([]float64, s.frameLen)}
}

// Latency returns the delay of the Synthesizer's output in samples.
func (y *Synthesizer) Latency() int { return y.s.frameLen - y.s.hop }

// Next overlap-adds one frame of Bins() coefficients and appends the Hop()
// samples that no later frame overlaps to dst.
func (y *Synthesizer) Next(dst []float32, frame []complex128) ([]float32, error) {
	s := y.s
	if len(frame) != s.Bins() {
		return dst, fmt.Errorf("spectral: Synthesizer.Next got %d bins, want %d", len(frame), s.Bins())
	}
	s.fft.Sequence(y.buf, frame)
	scale := 1 / float64(s.frameLen)
	for i, v := range y.buf {
		y.acc[i] += v * scale * s.window[i]
	}
	// The first hop samples of acc are now complete. Frame k starts at
	// sample k·hop-pad, so their phase (i+pad) mod hop is i mod hop.
	for i := 0; i < s.hop; i++ {
		dst = append(dst, float32(y.acc[i]*s.norm[i]))
	}
	copy(y.acc, y.acc[s.hop:])
	clear(y.acc[s.frameLen-s.hop:])
	return dst, nil
}

// Reset clears the overlap-add state.
func (y *Synthesizer) Reset() { clear(y.acc) }
