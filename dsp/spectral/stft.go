package spectral

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// An STFT computes short-time Fourier transforms with a fixed frame length,
// hop and window, and inverts them by weighted overlap-add.
//
// Framing convention: frame k covers samples [k·hop-pad, k·hop-pad+frameLen)
// with pad = frameLen-hop, samples outside the signal being zero. Frame k thus
// ends at sample (k+1)·hop-1, so a stream can emit it as soon as that sample
// arrives, and every sample of the signal is covered by all the frames that
// overlap it. A signal of n > 0 samples has NumFrames(n) frames.
//
// The inverse multiplies each inverse-transformed frame by the window again,
// overlap-adds, and divides by the summed squared window, which reconstructs
// the input exactly (to rounding) for any window whose overlapped squares do
// not vanish, such as SqrtHann at 50% or Hann at 75% overlap.
//
// An STFT holds scratch buffers: it is not safe for concurrent use.
type STFT struct {
	frameLen, hop int
	window        []float64
	norm          []float64 // 1 / Σ_m w²(i + m·hop) for i in [0, hop); 0 where the sum vanishes
	fft           *fourier.FFT
	frame         []float64
}

// NewSTFT returns an STFT with the given frame length, hop and window;
// len(window) must equal frameLen and 0 < hop <= frameLen.
func NewSTFT(frameLen, hop int, window []float64) (*STFT, error) {
	if frameLen < 1 || hop < 1 || hop > frameLen {
		return nil, fmt.Errorf("spectral: invalid STFT frame length %d and hop %d", frameLen, hop)
	}
	if len(window) != frameLen {
		return nil, fmt.Errorf("spectral: window length %d does not match frame length %d", len(window), frameLen)
	}
	s := &STFT{
		frameLen: frameLen,
		hop:      hop,
		window:   append([]float64(nil), window...),
		norm:     make([]float64, hop),
		fft:      fourier.NewFFT(frameLen),
		frame:    make([]float64, frameLen),
	}
	peak := 0.0
	for i := range s.norm {
		sum := 0.0
		for j := i; j < frameLen; j += hop {
			sum += window[j] * window[j]
		}
		s.norm[i] = sum
		peak = max(peak, sum)
	}
	for i, sum := range s.norm {
		if sum > peak*1e-12 && sum > 0 {
			s.norm[i] = 1 / sum
		} else {
			s.norm[i] = 0 // not recoverable: output zeros there
		}
	}
	return s, nil
}

// FrameLen returns the frame length in samples.
func (s *STFT) FrameLen() int { return s.frameLen }

// Hop returns the hop in samples.
func (s *STFT) Hop() int { return s.hop }

// Bins returns the number of frequency bins per frame, FrameLen()/2+1. Bin b
// is the frequency b/FrameLen() cycles per sample.
func (s *STFT) Bins() int { return s.frameLen/2 + 1 }

// NumFrames returns the number of frames Forward produces for n samples.
func (s *STFT) NumFrames(n int) int {
	if n <= 0 {
		return 0
	}
	return (n-1+s.frameLen-s.hop)/s.hop + 1
}

// Forward returns the STFT of x: NumFrames(len(x)) frames of Bins()
// unnormalised DFT coefficients of the windowed samples.
func (s *STFT) Forward(x []float32) [][]complex128 {
	nf := s.NumFrames(len(x))
	bins := s.Bins()
	back := make([]complex128, nf*bins)
	frames := make([][]complex128, nf)
	pad := s.frameLen - s.hop
	for k := range frames {
		start := k*s.hop - pad
		for i := range s.frame {
			v := 0.0
			if j := start + i; j >= 0 && j < len(x) {
				v = float64(x[j])
			}
			s.frame[i] = v * s.window[i]
		}
		frames[k] = s.fft.Coefficients(back[k*bins:(k+1)*bins:(k+1)*bins], s.frame)
	}
	return frames
}

// Inverse reconstructs length samples from STFT frames laid out as Forward
// returns them. Frames beyond those that cover [0, length) are ignored, and
// missing frames count as silence.
func (s *STFT) Inverse(frames [][]complex128, length int) ([]float32, error) {
	if length < 0 {
		return nil, fmt.Errorf("spectral: negative length %d", length)
	}
	bins := s.Bins()
	for k, f := range frames {
		if len(f) != bins {
			return nil, fmt.Errorf("spectral: frame %d has %d bins, want %d", k, len(f), bins)
		}
	}
	acc := make([]float64, length)
	pad := s.frameLen - s.hop
	scale := 1 / float64(s.frameLen)
	for k := 0; k < len(frames) && k < s.NumFrames(length); k++ {
		s.fft.Sequence(s.frame, frames[k])
		start := k*s.hop - pad
		for i, v := range s.frame {
			if j := start + i; j >= 0 && j < length {
				acc[j] += v * scale * s.window[i]
			}
		}
	}
	out := make([]float32, length)
	for j, v := range acc {
		// Sample j is covered by every frame that overlaps it (see the type
		// comment), so the summed squared window is the periodic one.
		out[j] = float32(v * s.norm[(j+pad)%s.hop])
	}
	return out, nil
}

// Power returns |X|² for each coefficient of a frame, appended to dst.
func Power(dst []float64, frame []complex128) []float64 {
	for _, c := range frame {
		dst = append(dst, real(c)*real(c)+imag(c)*imag(c))
	}
	return dst
}

// Magnitude returns |X| for each coefficient of a frame, appended to dst.
func Magnitude(dst []float64, frame []complex128) []float64 {
	for _, c := range frame {
		dst = append(dst, math.Hypot(real(c), imag(c)))
	}
	return dst
}
