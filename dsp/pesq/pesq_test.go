package pesq

import (
	"bufio"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/dsp/internal/devset"
)

func TestConformanceSpeechBabble(t *testing.T) {
	dir := devset.Shared(t, "pesq-conformance")
	ref, deg, fs := devset.LoadPair(t, filepath.Join(dir, "speech.wav"), filepath.Join(dir, "speech_bab_0dB.wav"))
	for _, c := range []struct {
		mode Mode
		want float64
	}{{WideBand, 1.0832337}, {NarrowBand, 1.6072081}} {
		got, err := Score(ref, deg, fs, c.mode)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("mode %d: got %.6f want %.6f (err %+.6f)", c.mode, got, c.want, got-c.want)
		if math.Abs(got-c.want) > 0.005 {
			t.Errorf("mode %d: got %.6f want %.6f", c.mode, got, c.want)
		}
	}
}

// TestConformanceNB8k checks the ITU-T P.862 conformance pairs at 8 kHz
// (voipref_8k.txt lists raw P.862 scores).
func TestConformanceNB8k(t *testing.T) {
	list := devset.Shared(t, "pesq-conformance", "nb8k", "voipref_8k.txt")
	dir := filepath.Dir(list)
	f, err := os.Open(list)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var maxErr, sumErr float64
	n := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[2] != "8000" {
			continue
		}
		want, err := strconv.ParseFloat(fields[3], 64)
		if err != nil {
			continue
		}
		refName := filepath.Join(dir, filepath.Base(fields[0]))
		degName := filepath.Join(dir, filepath.Base(fields[1]))
		if _, err := os.Stat(refName); err != nil {
			t.Logf("skipping %s: not present", fields[0])
			continue
		}
		if _, err := os.Stat(degName); err != nil {
			t.Logf("skipping %s: not present", fields[1])
			continue
		}
		ref, deg, fs := devset.LoadPair(t, refName, degName)
		raw, err := rawMOS(ref, deg, fs, NarrowBand)
		if err != nil {
			t.Fatalf("%s: %v", fields[1], err)
		}
		e := math.Abs(float64(raw) - want)
		t.Logf("%-22s raw %.4f want %.3f err %+.4f", filepath.Base(degName), raw, want, float64(raw)-want)
		maxErr = max(maxErr, e)
		sumErr += e
		n++
	}
	if n == 0 {
		t.Skip("no conformance pairs present")
	}
	t.Logf("%d pairs: max abs error %.4f, mean %.4f", n, maxErr, sumErr/float64(n))
	if maxErr > 0.05 || sumErr/float64(n) > 0.01 {
		t.Errorf("%d pairs: max abs error %.4f (limit 0.05), mean %.4f (limit 0.01)", n, maxErr, sumErr/float64(n))
	}
}

// TestDevSet compares with reference_metrics.tsv (ITU reference C code).
func TestDevSet(t *testing.T) {
	rows := devset.Reference(t, "pesq_wb", "pesq_nb")
	var maxWB, maxNB, sumWB, sumNB float64
	var elapsed time.Duration
	n := 0
	for _, p := range rows {
		name := p.Utt
		wantWB, wantNB := p.Ref["pesq_wb"], p.Ref["pesq_nb"]
		ref, deg, fs := p.Load(t)
		t0 := time.Now()
		wb, err := Score(ref, deg, fs, WideBand)
		if err != nil {
			t.Fatalf("%s WB: %v", name, err)
		}
		nb, err := Score(ref, deg, fs, NarrowBand)
		if err != nil {
			t.Fatalf("%s NB: %v", name, err)
		}
		elapsed += time.Since(t0)
		eWB, eNB := math.Abs(wb-wantWB), math.Abs(nb-wantNB)
		if eWB > 0.005 || eNB > 0.005 {
			t.Logf("%s: WB %.4f (ref %.4f, %+.4f)  NB %.4f (ref %.4f, %+.4f)", name, wb, wantWB, wb-wantWB, nb, wantNB, nb-wantNB)
		}
		maxWB, maxNB = max(maxWB, eWB), max(maxNB, eNB)
		sumWB += eWB
		sumNB += eNB
		n++
	}
	mWB, mNB := sumWB/float64(n), sumNB/float64(n)
	t.Logf("%d pairs in %v (WB+NB): WB max %.4f mean %.4f; NB max %.4f mean %.4f", n, elapsed.Round(time.Millisecond), maxWB, mWB, maxNB, mNB)
	if mWB > 0.02 || mNB > 0.02 {
		t.Errorf("mean absolute error WB %.4f NB %.4f, limit 0.02", mWB, mNB)
	}
}

// synthSpeech is a crude speech-like test signal: harmonic bursts with a
// syllabic envelope separated by pauses.
func synthSpeech(fs int, seconds float64, seed int64) []float32 {
	rng := rand.New(rand.NewSource(seed))
	n := int(seconds * float64(fs))
	x := make([]float32, n)
	f0 := 110.0
	phase := 0.0
	for i := range x {
		t := float64(i) / float64(fs)
		// 0.6 s syllables with 0.4 s pauses
		cyc := math.Mod(t, 1.0)
		if cyc > 0.6 || t < 0.3 || t > seconds-0.3 {
			continue
		}
		env := math.Sin(math.Pi * cyc / 0.6)
		f := f0 * (1 + 0.1*math.Sin(2*math.Pi*0.7*t))
		phase += 2 * math.Pi * f / float64(fs)
		var v float64
		for h := 1; h <= 25; h++ {
			if float64(h)*f > float64(fs)/2-200 {
				break
			}
			v += math.Sin(float64(h)*phase) / float64(h)
		}
		x[i] = float32(0.2*env*v + 0.002*rng.NormFloat64())
	}
	return x
}

func addNoise(x []float32, snrDB float64, seed int64) []float32 {
	rng := rand.New(rand.NewSource(seed))
	var p float64
	for _, v := range x {
		p += float64(v) * float64(v)
	}
	p /= float64(len(x))
	sd := math.Sqrt(p / math.Pow(10, snrDB/10))
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = v + float32(sd*rng.NormFloat64())
	}
	return y
}

func TestIdenticalScoresMaximum(t *testing.T) {
	x := synthSpeech(16000, 4, 1)
	for _, c := range []struct {
		fs   int
		mode Mode
		want float64
	}{{16000, WideBand, 4.644}, {16000, NarrowBand, 4.549}, {8000, NarrowBand, 4.549}} {
		in := x
		if c.fs == 8000 {
			in = make([]float32, len(x)/2)
			for i := range in {
				in[i] = x[2*i]
			}
		}
		got, err := Score(in, in, c.fs, c.mode)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("fs %d mode %d: identical = %.4f", c.fs, c.mode, got)
		if math.Abs(got-c.want) > 0.01 {
			t.Errorf("fs %d mode %d: identical signals score %.4f, want %.3f", c.fs, c.mode, got, c.want)
		}
	}
}

func TestMoreNoiseLowerScore(t *testing.T) {
	x := synthSpeech(16000, 4, 2)
	for _, mode := range []Mode{WideBand, NarrowBand} {
		prev := math.Inf(1)
		for _, snr := range []float64{30, 20, 10, 0} {
			got, err := Score(x, addNoise(x, snr, 3), 16000, mode)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("mode %d SNR %2.0f dB: %.4f", mode, snr, got)
			if got >= prev {
				t.Errorf("mode %d: SNR %.0f dB scores %.4f, not below %.4f", mode, snr, got, prev)
			}
			if got < 1 || got > 4.65 {
				t.Errorf("mode %d: score %.4f out of range", mode, got)
			}
			prev = got
		}
	}
}

func TestErrors(t *testing.T) {
	x := synthSpeech(16000, 2, 4)
	if _, err := Score(x, x, 44100, NarrowBand); !errors.Is(err, ErrSampleRate) {
		t.Errorf("44.1 kHz: err = %v", err)
	}
	if _, err := Score(x[:8000], x[:8000], 8000, WideBand); !errors.Is(err, ErrSampleRate) {
		t.Errorf("WB at 8 kHz: err = %v", err)
	}
	if _, err := Score(x, x, 16000, Mode(7)); !errors.Is(err, ErrMode) {
		t.Errorf("bad mode: err = %v", err)
	}
	short := x[:3999]
	if _, err := Score(short, x, 16000, WideBand); !errors.Is(err, ErrTooShort) {
		t.Errorf("short ref: err = %v", err)
	}
	if _, err := Score(x, short, 16000, NarrowBand); !errors.Is(err, ErrTooShort) {
		t.Errorf("short deg: err = %v", err)
	}
	silence := make([]float32, 32000)
	for _, mode := range []Mode{WideBand, NarrowBand} {
		if s, err := Score(silence, silence, 16000, mode); !errors.Is(err, ErrNoUtterances) {
			t.Errorf("silence mode %d: score %v, err = %v", mode, s, err)
		}
		if s, err := Score(silence, x, 16000, mode); err == nil || math.IsNaN(s) {
			t.Errorf("silent ref mode %d: score %v, err = %v", mode, s, err)
		}
		s, err := Score(x, silence, 16000, mode)
		if err == nil && (math.IsNaN(s) || s < 0.99 || s > 4.65) {
			t.Errorf("silent deg mode %d: score %v", mode, s)
		}
	}
}

func TestDelayedCopy(t *testing.T) {
	x := synthSpeech(16000, 4, 5)
	base, err := Score(x, addNoise(x, 20, 6), 16000, WideBand)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []int{-1600, -37, 250, 3200} {
		y := addNoise(x, 20, 6)
		if d > 0 {
			y = append(make([]float32, d), y...)
		} else {
			y = y[-d:]
		}
		got, err := Score(x, y, 16000, WideBand)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("delay %5d: %.4f (undelayed %.4f)", d, got, base)
		if math.Abs(got-base) > 0.15 {
			t.Errorf("delay %d: score %.4f, undelayed %.4f", d, got, base)
		}
	}
}

// TestRobustness runs odd inputs (lengths, delays, clipping, noise only,
// level changes) and requires a finite score in range or an error.
func TestRobustness(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := 0; trial < 40; trial++ {
		fs := []int{8000, 16000}[rng.Intn(2)]
		mode := NarrowBand
		if fs == 16000 && rng.Intn(2) == 0 {
			mode = WideBand
		}
		x := synthSpeech(fs, 0.3+6*rng.Float64(), int64(trial))
		var y []float32
		switch trial % 5 {
		case 0: // noise only
			y = addNoise(make([]float32, len(x)/(1+rng.Intn(3))+fs/4), 0, int64(trial))
			for i := range y {
				y[i] = float32(0.1 * rng.NormFloat64())
			}
		case 1: // clipped and louder
			y = make([]float32, len(x))
			for i, v := range x {
				y[i] = max(-0.05, min(0.05, 8*v))
			}
		case 2: // large random delay, different length
			d := rng.Intn(fs)
			y = append(make([]float32, d), addNoise(x, 10, int64(trial))...)
			y = y[:max(fs/4, len(y)-rng.Intn(len(y)/2+1))]
		case 3: // shifted earlier (truncated start)
			d := rng.Intn(len(x)/2 + 1)
			y = addNoise(x[d:], 5, int64(trial))
		case 4: // piecewise delay
			h := len(x) / 2
			y = append(append([]float32(nil), x[:h]...), make([]float32, rng.Intn(fs/4))...)
			y = append(y, x[h:]...)
			y = addNoise(y, 25, int64(trial))
		}
		s, err := Score(x, y, fs, mode)
		if err != nil {
			t.Logf("trial %d (fs %d, mode %d, len %d/%d): %v", trial, fs, mode, len(x), len(y), err)
			continue
		}
		if math.IsNaN(s) || s < 0.99 || s > 4.65 {
			t.Errorf("trial %d: score %v", trial, s)
		}
	}
}

func TestConcurrent(t *testing.T) {
	x := synthSpeech(16000, 2, 8)
	y := addNoise(x, 15, 9)
	want, err := Score(x, y, 16000, WideBand)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan float64)
	for i := 0; i < 4; i++ {
		go func() {
			s, _ := Score(x, y, 16000, WideBand)
			done <- s
		}()
	}
	for i := 0; i < 4; i++ {
		if s := <-done; s != want {
			t.Errorf("concurrent score %v, want %v", s, want)
		}
	}
}
