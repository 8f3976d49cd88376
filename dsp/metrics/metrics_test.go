package metrics

import (
	"errors"
	"math"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/internal/testsignal"
)

// mixAt returns s + g·n with g chosen so that the mixture's SNR is snrDB
// exactly (in float64, before rounding to float32).
func mixAt(s, n []float32, snrDB float64) []float32 {
	var es, en float64
	for i := range s {
		es += float64(s[i]) * float64(s[i])
		en += float64(n[i]) * float64(n[i])
	}
	g := math.Sqrt(es / en / math.Pow(10, snrDB/10))
	out := make([]float32, len(s))
	for i := range s {
		out[i] = float32(float64(s[i]) + g*float64(n[i]))
	}
	return out
}

func TestIdentical(t *testing.T) {
	x := testsignal.SpeechLike(16000, 16000, 1, 0.45)
	for name, f := range map[string]func(a, b []float32) (float64, error){"SNR": SNR, "SISDR": SISDR} {
		v, err := f(x, x)
		if err != nil || v != MaxDB {
			t.Errorf("%s(x, x) = %v, %v; want MaxDB = %v", name, v, err, MaxDB)
		}
	}
	seg, err := SegSNR(x, x, 16000)
	if err != nil || seg != maxSegSNR {
		t.Errorf("SegSNR(x, x) = %v, %v; want %v", seg, err, maxSegSNR)
	}
	llr, err := LLR(x, x, 16000)
	if err != nil || math.Abs(llr) > 1e-9 {
		t.Errorf("LLR(x, x) = %v, %v; want 0", llr, err)
	}
	wss, err := WSS(x, x, 16000)
	if err != nil || wss != 0 {
		t.Errorf("WSS(x, x) = %v, %v; want 0", wss, err)
	}
	csig, cbak, covl, err := Composite(x, x, 16000, 4.64)
	if err != nil || csig != 5 || cbak != 5 || covl != 5 {
		t.Errorf("Composite(x, x, PESQ 4.64) = %v %v %v, %v; want 5 5 5", csig, cbak, covl, err)
	}
}

func TestKnownSNR(t *testing.T) {
	s := testsignal.SpeechLike(32000, 16000, 2, 0.45)
	n := testsignal.WhiteNoise(len(s), 3, 1)
	for _, want := range []float64{-5, 0, 5, 10, 20, 30} {
		y := mixAt(s, n, want)
		got, err := SNR(s, y)
		if err != nil || math.Abs(got-want) > 0.1 {
			t.Errorf("SNR at %v dB: %v, %v", want, got, err)
		}
		// Noise is independent of speech, so SI-SDR ≈ SNR (within the
		// chance correlation of 32000 samples).
		sd, err := SISDR(s, y)
		if err != nil || math.Abs(sd-want) > 0.1 {
			t.Errorf("SI-SDR at %v dB: %v, %v", want, sd, err)
		}
	}
}

func TestSISDRScaleInvariant(t *testing.T) {
	s := testsignal.SpeechLike(16000, 16000, 4, 0.45)
	y := mixAt(s, testsignal.WhiteNoise(len(s), 5, 1), 7)
	ref, err := SISDR(s, y)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []float32{0.01, 0.5, 3, 100} {
		z := make([]float32, len(y))
		for i := range y {
			z[i] = g * y[i]
		}
		got, err := SISDR(s, z)
		if err != nil || math.Abs(got-ref) > 1e-3 {
			t.Errorf("SI-SDR of %v·y = %v, want %v (%v)", g, got, ref, err)
		}
		// SNR is not scale invariant.
		if g != 1 {
			if snr, _ := SNR(s, z); math.Abs(snr-ref) < 0.5 {
				t.Errorf("SNR of %v·y = %v unexpectedly equals SI-SDR", g, snr)
			}
		}
	}
	// A DC offset does not change the zero-mean SI-SDR.
	z := make([]float32, len(y))
	for i := range y {
		z[i] = y[i] + 0.3
	}
	if got, err := SISDR(s, z); err != nil || math.Abs(got-ref) > 1e-3 {
		t.Errorf("SI-SDR with DC offset = %v, want %v (%v)", got, ref, err)
	}
	// SI-SDR ignores the sign too: −s projects onto s with α = −1.
	neg := make([]float32, len(s))
	for i := range s {
		neg[i] = -s[i]
	}
	if got, err := SISDR(s, neg); err != nil || got != MaxDB {
		t.Errorf("SI-SDR of −s = %v, %v; want MaxDB", got, err)
	}
}

func TestSegSNRClamps(t *testing.T) {
	const rate = 16000
	s := testsignal.SpeechLike(rate, rate, 6, 0.45)
	// Very noisy: every frame is below −10 dB.
	loud := mixAt(s, testsignal.WhiteNoise(len(s), 7, 1), -40)
	if v, err := SegSNR(s, loud, rate); err != nil || v != minSegSNR {
		t.Errorf("SegSNR at −40 dB = %v, %v; want %v", v, err, minSegSNR)
	}
	// Very clean: every frame is above 35 dB.
	quiet := mixAt(s, testsignal.WhiteNoise(len(s), 8, 1), 80)
	if v, err := SegSNR(s, quiet, rate); err != nil || v != maxSegSNR {
		t.Errorf("SegSNR at 80 dB = %v, %v; want %v", v, err, maxSegSNR)
	}
	// In between it lies strictly inside the clamp range.
	mid := mixAt(s, testsignal.WhiteNoise(len(s), 9, 1), 10)
	if v, err := SegSNR(s, mid, rate); err != nil || v <= minSegSNR || v >= maxSegSNR {
		t.Errorf("SegSNR at 10 dB = %v, %v", v, err)
	}
	// Silent processed signal: every frame is 0 dB.
	if v, err := SegSNR(s, make([]float32, len(s)), rate); err != nil || math.Abs(v) > 1e-9 {
		t.Errorf("SegSNR of silence = %v, %v; want 0", v, err)
	}
}

func TestLLRWSSGrowWithNoise(t *testing.T) {
	const rate = 16000
	s := testsignal.SpeechLike(2*rate, rate, 10, 0.45)
	n := testsignal.WhiteNoise(len(s), 11, 1)
	prevL, prevW := -1.0, -1.0
	for _, snr := range []float64{30, 15, 5, -5} {
		y := mixAt(s, n, snr)
		l, err := LLR(s, y, rate)
		if err != nil {
			t.Fatal(err)
		}
		w, err := WSS(s, y, rate)
		if err != nil {
			t.Fatal(err)
		}
		if l <= prevL || w <= prevW || l < 0 {
			t.Errorf("at %v dB: LLR %v WSS %v, previous %v %v; want increasing", snr, l, w, prevL, prevW)
		}
		prevL, prevW = l, w
	}
	// 8 kHz uses LPC order 10 and a 512-point FFT.
	s8 := testsignal.SpeechLike(rate, 8000, 12, 0.45)
	y8 := mixAt(s8, testsignal.WhiteNoise(len(s8), 13, 1), 10)
	if l, err := LLR(s8, y8, 8000); err != nil || l <= 0 {
		t.Errorf("LLR at 8 kHz = %v, %v", l, err)
	}
	if w, err := WSS(s8, y8, 8000); err != nil || w <= 0 {
		t.Errorf("WSS at 8 kHz = %v, %v", w, err)
	}
}

func TestCompositeFormulas(t *testing.T) {
	const rate = 16000
	s := testsignal.SpeechLike(2*rate, rate, 14, 0.45)
	y := mixAt(s, testsignal.WhiteNoise(len(s), 15, 1), 10)
	const pesq = 2.0
	l, _ := LLR(s, y, rate)
	w, _ := WSS(s, y, rate)
	g, _ := SegSNR(s, y, rate)
	csig, cbak, covl, err := Composite(s, y, rate, pesq)
	if err != nil {
		t.Fatal(err)
	}
	clamp := func(v float64) float64 { return min(max(v, 1), 5) }
	want := [3]float64{
		clamp(3.093 - 1.029*l + 0.603*pesq - 0.009*w),
		clamp(1.634 + 0.478*pesq - 0.007*w + 0.063*g),
		clamp(1.594 + 0.805*pesq - 0.512*l - 0.007*w),
	}
	if got := [3]float64{csig, cbak, covl}; got != want {
		t.Errorf("Composite = %v, want %v (LLR %v WSS %v SegSNR %v)", got, want, l, w, g)
	}
	for _, v := range []float64{csig, cbak, covl} {
		if v < 1 || v > 5 {
			t.Errorf("composite score %v outside [1, 5]", v)
		}
	}
	if _, _, _, err := Composite(s, y, rate, math.NaN()); err == nil {
		t.Error("Composite with NaN PESQ: no error")
	}
}

func TestBadInput(t *testing.T) {
	x := testsignal.SpeechLike(8000, 16000, 16, 0.45)
	silent := make([]float32, len(x))
	nan := append([]float32(nil), x...)
	nan[10] = float32(math.Inf(1))
	type fn func(a, b []float32) (float64, error)
	withRate := func(f func(a, b []float32, r int) (float64, error)) fn {
		return func(a, b []float32) (float64, error) { return f(a, b, 16000) }
	}
	comp := func(a, b []float32) (float64, error) {
		v, _, _, err := Composite(a, b, 16000, 3)
		return v, err
	}
	funcs := map[string]fn{"SNR": SNR, "SISDR": SISDR, "SegSNR": withRate(SegSNR),
		"LLR": withRate(LLR), "WSS": withRate(WSS), "Composite": comp}
	cases := []struct {
		name string
		a, b []float32
		want error
	}{
		{"length", x, x[:100], ErrLength},
		{"empty", nil, nil, ErrShort},
		{"silent reference", silent, x, ErrSilent},
		{"non-finite", x, nan, ErrNonFini},
	}
	for _, c := range cases {
		for name, f := range funcs {
			v, err := f(c.a, c.b)
			if !errors.Is(err, c.want) {
				t.Errorf("%s %s: %v, %v; want %v", name, c.name, v, err, c.want)
			}
		}
	}
	// Too short for one 30 ms frame at hop 7.5 ms.
	for name, f := range map[string]fn{"SegSNR": withRate(SegSNR), "LLR": withRate(LLR), "WSS": withRate(WSS)} {
		if v, err := f(x[:500], x[:500]); !errors.Is(err, ErrShort) {
			t.Errorf("%s of 500 samples: %v, %v; want ErrShort", name, v, err)
		}
	}
	if v, err := SISDR(x, silent); !errors.Is(err, ErrSilent) {
		t.Errorf("SI-SDR of silent estimate: %v, %v; want ErrSilent", v, err)
	}
	if v, err := SNR(x, silent); err != nil || math.Abs(v) > 1e-9 {
		t.Errorf("SNR of silent estimate: %v, %v; want 0 dB", v, err)
	}
	if v, err := LLR(x, x, 0); err == nil {
		t.Errorf("LLR at rate 0: %v, want an error", v)
	}
}

func TestAlign(t *testing.T) {
	s := testsignal.SpeechLike(8000, 16000, 17, 0.45)
	for _, lag := range []int{0, 1, 37, 250, -5, -400} {
		shifted := make([]float32, len(s)+100)
		for i := range shifted {
			if j := i - lag; j >= 0 && j < len(s) {
				shifted[i] = s[j]
			}
		}
		n := testsignal.WhiteNoise(len(shifted), 18, 1)
		for i := range shifted {
			shifted[i] += 0.01 * n[i]
		}
		if got := Align(s, shifted, 1000); got != lag {
			t.Errorf("Align with delay %d: got %d", lag, got)
		}
		// Lining up with Align + Trim recovers a high SNR.
		ref, e := s, shifted
		if got := Align(ref, e, 1000); got > 0 {
			e = e[got:]
		} else {
			ref = ref[-got:]
		}
		ref, e = Trim(ref, e)
		if snr, err := SNR(ref, e); err != nil || snr < 15 {
			t.Errorf("delay %d: SNR after Align+Trim %v, %v", lag, snr, err)
		}
	}
	// maxLag limits the search.
	shifted := append(make([]float32, 300), s...)
	if got := Align(s, shifted, 100); abs(got) > 100 {
		t.Errorf("Align with maxLag 100 returned %d", got)
	}
	if got := Align(s, shifted, 0); got != 300 {
		t.Errorf("Align with maxLag 0 (unbounded) = %d, want 300", got)
	}
	if got := Align(nil, s, 10); got != 0 {
		t.Errorf("Align(nil) = %d", got)
	}
	if got := Align(make([]float32, 10), s, 10); got != 0 {
		t.Errorf("Align(silent) = %d", got)
	}
}

func TestTrim(t *testing.T) {
	a, b := make([]float32, 10), make([]float32, 7)
	ta, tb := Trim(a, b)
	if len(ta) != 7 || len(tb) != 7 {
		t.Errorf("Trim lengths %d %d, want 7 7", len(ta), len(tb))
	}
	ta = append(ta, 1) // must not overwrite a[7]
	if a[7] != 0 {
		t.Error("Trim result aliases the tail of its argument on append")
	}
}
