package stoi

import (
	"errors"
	"math"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/internal/testsignal"
)

func TestIdenticalIsOne(t *testing.T) {
	for _, rate := range []int{8000, 10000, 16000, 44100, 48000} {
		x := testsignal.SpeechLike(3*rate, rate, 7, 0.5)
		s, err := STOI(x, x, rate)
		if err != nil {
			t.Fatalf("%d Hz: STOI: %v", rate, err)
		}
		e, err := ESTOI(x, x, rate)
		if err != nil {
			t.Fatalf("%d Hz: ESTOI: %v", rate, err)
		}
		if math.Abs(s-1) > 1e-9 || math.Abs(e-1) > 1e-9 {
			t.Errorf("%d Hz: identical signals give STOI %v ESTOI %v, want 1", rate, s, e)
		}
	}
}

// both scores y against x with STOI and ESTOI.
func both(t *testing.T, x, y []float32, rate int) (s, e float64) {
	t.Helper()
	s, err := STOI(x, y, rate)
	if err != nil {
		t.Fatal(err)
	}
	e, err = ESTOI(x, y, rate)
	if err != nil {
		t.Fatal(err)
	}
	return s, e
}

func TestNoiseScoresLow(t *testing.T) {
	const rate = 16000
	x := testsignal.SpeechLike(3*rate, rate, 3, 0.5)
	y := testsignal.WhiteNoise(len(x), 9, 0.05)
	s, e := both(t, x, y, rate)
	// STOI's clipping (processed envelope ≤ 6.6 × clean) correlates even
	// independent noise with the clean envelope, so its floor is about 0.3
	// for strongly modulated speech; ESTOI has no clipping and goes to ~0.
	if s > 0.4 || e > 0.1 {
		t.Errorf("independent noise: STOI %.3f ESTOI %.3f, want < 0.4 and < 0.1", s, e)
	}
}

func TestMonotoneInSNR(t *testing.T) {
	const rate = 16000
	x := testsignal.SpeechLike(3*rate, rate, 4, 0.5)
	n := testsignal.WhiteNoise(len(x), 5, 0.02)
	prevS, prevE := -2.0, -2.0
	for _, g := range []float64{4, 1, 0.25, 0.0625} { // decreasing noise
		y := make([]float32, len(x))
		for i := range y {
			y[i] = x[i] + float32(g)*n[i]
		}
		s, e := both(t, x, y, rate)
		if s <= prevS || e <= prevE {
			t.Errorf("noise gain %v: STOI %.4f ESTOI %.4f not above previous %.4f %.4f", g, s, e, prevS, prevE)
		}
		prevS, prevE = s, e
	}
}

func TestBadInput(t *testing.T) {
	const rate = 16000
	x := testsignal.SpeechLike(rate, rate, 1, 0.5)
	short := x[:rate/4] // 250 ms: under 30 frames at 10 kHz
	cases := []struct {
		name string
		a, b []float32
		rate int
		want error
	}{
		{"too short", short, short, rate, ErrTooShort},
		{"empty", nil, nil, rate, ErrTooShort},
		{"one frame", x[:300], x[:300], rate, ErrTooShort},
		{"length mismatch", x, x[:len(x)-1], rate, nil},
		{"bad rate", x, x, 0, nil},
		{"huge rate", x, x, 1 << 30, nil},
		{"NaN", x, withNaN(x), rate, nil},
	}
	for _, c := range cases {
		for name, f := range map[string]func([]float32, []float32, int) (float64, error){"STOI": STOI, "ESTOI": ESTOI} {
			v, err := f(c.a, c.b, c.rate)
			if err == nil {
				t.Errorf("%s %s: got %v, want an error", name, c.name, v)
				continue
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("%s %s: error %v, want %v", name, c.name, err, c.want)
			}
		}
	}
}

func TestSilentProcessed(t *testing.T) {
	const rate = 16000
	x := testsignal.SpeechLike(2*rate, rate, 2, 0.5)
	y := make([]float32, len(x))
	for name, f := range map[string]func([]float32, []float32, int) (float64, error){"STOI": STOI, "ESTOI": ESTOI} {
		v, err := f(x, y, rate)
		if err != nil || math.IsNaN(v) || v > 0.01 || v < -0.01 {
			t.Errorf("%s of silence: %v, %v; want about 0", name, v, err)
		}
	}
}

func withNaN(x []float32) []float32 {
	y := append([]float32(nil), x...)
	y[len(y)/2] = float32(math.NaN())
	return y
}

// TestResampleDCGain checks that the Octave filter passes DC at unit gain
// and has the expected output length.
func TestResampleDCGain(t *testing.T) {
	x := make([]float64, 16000)
	for i := range x {
		x[i] = 1
	}
	y := resampleOct(x, 10000, 16000)
	if len(y) != 10000 {
		t.Fatalf("len %d, want 10000", len(y))
	}
	for i := 500; i < 9500; i++ {
		if math.Abs(y[i]-1) > 1e-3 {
			t.Fatalf("y[%d] = %v, want 1", i, y[i])
		}
	}
}

func BenchmarkSTOI16k3s(b *testing.B) {
	x := testsignal.SpeechLike(3*16000, 16000, 1, 0.5)
	y := testsignal.WhiteNoise(len(x), 2, 0.01)
	for i := range y {
		y[i] += x[i]
	}
	for b.Loop() {
		if _, err := STOI(x, y, 16000); err != nil {
			b.Fatal(err)
		}
	}
}
