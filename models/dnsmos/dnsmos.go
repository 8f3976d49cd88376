// Package dnsmos predicts the mean opinion score of a speech clip without a reference:
// Microsoft's DNSMOS P.835 (SIG, BAK, OVRL) and P.808 networks run through ONNX Runtime,
// scored as the public DNS-Challenge script dnsmos_local.py does.
//
// The procedure, step for step: resample to 16 kHz; while the clip is shorter than
// 9.01 s, append it to itself (doubling it); cut windows of 9.01 s (144160 samples) every
// second, int(floor(len/16000) − 9.01) + 1 of them, each ending at int((i+9.01)·16000),
// and skip any window shorter than 144160 samples (a float rounding in the script makes
// windows 7 to 23 one sample short, so they are skipped, and so are they here); run the
// P.835 network on the raw window and map its three outputs through the script's
// non-personalised polynomials; run the P.808 network on the log-mel spectrogram of the
// window less its last 160 samples; average each score over the windows.
package dnsmos

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/restoregrad/restoregrad/dsp/resample"
	"github.com/restoregrad/restoregrad/models/ort"
)

// Files the model folder must hold.
const (
	P835File = "sig_bak_ovr.onnx"
	P808File = "model_v8.onnx"
)

// Rate is the sample rate the networks take.
const Rate = 16000

// inputLength is INPUT_LENGTH of dnsmos_local.py, in seconds.
const inputLength = 9.01

// windowSamples is int(INPUT_LENGTH·fs).
const windowSamples = 144160

// Score is one clip's prediction, each on the 1–5 MOS scale.
type Score struct {
	SIG, BAK, OVRL float64 // P.835, calibrated by the non-personalised polynomials
	// SIGRaw, BAKRaw and OVRLRaw are the network's outputs before calibration.
	SIGRaw, BAKRaw, OVRLRaw float64
	P808                    float64 // P.808 MOS; NaN when the model folder has no P.808 graph
	Windows                 int     // 9.01 s windows averaged
}

// Scorer runs the DNSMOS networks. Its methods are safe for concurrent use.
type Scorer struct {
	p835, p808 *ort.Session
	mel        *melBank
}

// ErrUnavailable is wrapped by Open's error when the model folder or its P.835 graph is
// missing.
var ErrUnavailable = errors.New("DNSMOS models unavailable")

// DefaultDir returns the DNSMOS model folder used when none is given: the first
// ../shared/models/dnsmos found from the working directory or one of its parents, or
// "" when there is none.
func DefaultDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "..", "shared", "models", "dnsmos")
		if st, err := os.Stat(filepath.Join(p, P835File)); err == nil && !st.IsDir() {
			return filepath.Clean(p)
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Open loads the networks from dir. The P.835 graph is required; the P.808 graph is
// optional (Score.P808 is then NaN).
func Open(dir string, opt ort.Options) (*Scorer, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: no model folder (pass --dnsmos DIR holding %s and %s)", ErrUnavailable, P835File, P808File)
	}
	p835, err := os.ReadFile(filepath.Join(dir, P835File))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	s := &Scorer{mel: newMelBank(Rate)}
	if s.p835, err = ort.NewSession(filepath.Join(dir, P835File), p835, []string{"input_1"}, []string{"Identity:0"}, opt); err != nil {
		return nil, err
	}
	p808, err := os.ReadFile(filepath.Join(dir, P808File))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		s.p835.Close()
		return nil, err
	default:
		if s.p808, err = ort.NewSession(filepath.Join(dir, P808File), p808, []string{"input_1"}, []string{"Identity:0"}, opt); err != nil {
			s.p835.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close releases the sessions.
func (s *Scorer) Close() error {
	err := s.p835.Close()
	if s.p808 != nil {
		if e := s.p808.Close(); err == nil {
			err = e
		}
	}
	return err
}

// HasP808 reports whether the P.808 network was loaded.
func (s *Scorer) HasP808() bool { return s.p808 != nil }

// Windows returns the start offsets of the windows dnsmos_local.py scores in a clip of
// n samples at 16 kHz, after tiling (see the package comment), and the tiled length.
func Windows(n int) (starts []int, tiled int) {
	if n <= 0 {
		return nil, 0
	}
	tiled = n
	for tiled < windowSamples {
		tiled *= 2
	}
	hops := int(math.Floor(float64(tiled)/Rate)-inputLength) + 1
	for i := 0; i < hops; i++ {
		lo := i * Rate
		hi := min(int((float64(i)+inputLength)*Rate), tiled)
		if hi-lo < windowSamples {
			continue
		}
		starts = append(starts, lo)
	}
	return starts, tiled
}

// polynomials of dnsmos_local.py's get_polyfit_val, is_personalized_MOS false,
// highest degree first (numpy.poly1d).
var (
	polySIG  = [3]float64{-0.08397278, 1.22083953, 0.0052439}
	polyBAK  = [3]float64{-0.13166888, 1.60915514, -0.39604546}
	polyOVRL = [3]float64{-0.06766283, 1.11546468, 0.04602535}
)

func poly(p [3]float64, x float64) float64 { return (p[0]*x+p[1])*x + p[2] }

// Score predicts the MOS of x, sampled at rate (resampled to 16 kHz when it differs).
func (s *Scorer) Score(x []float32, rate int) (Score, error) {
	if rate != Rate {
		x = resample.Resample(x, rate, Rate)
	}
	if len(x) == 0 {
		return Score{}, errors.New("dnsmos: empty signal")
	}
	for _, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Score{}, errors.New("dnsmos: signal has NaN or Inf samples")
		}
	}
	starts, tiled := Windows(len(x))
	audio := x
	if tiled != len(x) {
		audio = make([]float32, tiled)
		copy(audio, x)
		for n := len(x); n < tiled; n *= 2 {
			copy(audio[n:2*n], audio[:n])
		}
	}
	nw := len(starts)
	var sc Score
	// One window per run: batching saves no compute on the CPU and makes ONNX Runtime's
	// arena grow to the largest batch seen.
	for _, lo := range starts {
		out, err := s.p835.Run([]ort.Tensor{{Shape: []int64{1, windowSamples}, Data: audio[lo : lo+windowSamples]}})
		if err != nil {
			return Score{}, fmt.Errorf("dnsmos P.835: %w", err)
		}
		if len(out[0].Data) != 3 {
			return Score{}, fmt.Errorf("dnsmos P.835: %d outputs, want 3", len(out[0].Data))
		}
		sig, bak, ovr := float64(out[0].Data[0]), float64(out[0].Data[1]), float64(out[0].Data[2])
		sc.SIGRaw += sig
		sc.BAKRaw += bak
		sc.OVRLRaw += ovr
		sc.SIG += poly(polySIG, sig)
		sc.BAK += poly(polyBAK, bak)
		sc.OVRL += poly(polyOVRL, ovr)
	}
	inv := 1 / float64(nw)
	sc.SIGRaw *= inv
	sc.BAKRaw *= inv
	sc.OVRLRaw *= inv
	sc.SIG *= inv
	sc.BAK *= inv
	sc.OVRL *= inv
	sc.Windows = nw
	sc.P808 = math.NaN()
	if s.p808 != nil {
		sum := 0.0
		for _, lo := range starts {
			f := s.mel.features(audio[lo : lo+windowSamples-melHop])
			if len(f) != p808Frames*numMels {
				return Score{}, fmt.Errorf("dnsmos P.808: %d mel values, want %d", len(f), p808Frames*numMels)
			}
			out, err := s.p808.Run([]ort.Tensor{{Shape: []int64{1, p808Frames, numMels}, Data: f}})
			if err != nil {
				return Score{}, fmt.Errorf("dnsmos P.808: %w", err)
			}
			if len(out[0].Data) != 1 {
				return Score{}, fmt.Errorf("dnsmos P.808: %d outputs, want 1", len(out[0].Data))
			}
			sum += float64(out[0].Data[0])
		}
		sc.P808 = sum / float64(nw)
	}
	return sc, nil
}
