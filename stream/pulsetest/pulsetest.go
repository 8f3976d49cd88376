// Package pulsetest gives tests a real PulseAudio server (scripts/pulse-test-server.sh):
// it skips the test when none answers, loads modules for a test's length, and plays,
// records and generates test audio with pacat at 48 kHz mono float32.
package pulsetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/stream/pulse"
)

// Rate is the rate of the test server's null sinks.
const Rate = 48000

// Require skips t unless a server answers with the test sinks rg_mic and rg_out, and
// pacat is there to play and record.
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("pacat"); err != nil {
		t.Skip("pacat not installed (apt-get install pulseaudio-utils); skipping the live audio test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	sinks, err := pulse.List(ctx, "sinks")
	if err != nil {
		t.Skipf("no PulseAudio server reachable (run: eval \"$(scripts/pulse-test-server.sh start)\"); skipping the live audio test: %v", err)
	}
	_, mic := pulse.Find(sinks, "rg_mic")
	_, out := pulse.Find(sinks, "rg_out")
	if !mic || !out {
		t.Skip("the PulseAudio server has no rg_mic/rg_out sinks (start it with scripts/pulse-test-server.sh start); skipping")
	}
}

// LoadModule loads a module for the length of t (it is unloaded when t ends) and returns
// its index.
func LoadModule(t testing.TB, name string, args ...string) int {
	t.Helper()
	idx, err := pulse.LoadModule(context.Background(), name, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pulse.UnloadModule(context.Background(), idx) })
	return idx
}

func args(kind, dev string) []string {
	return []string{kind, "-d", dev, "--raw", "--format=float32le", "--rate=" + strconv.Itoa(Rate), "--channels=1"}
}

// Play plays x into the sink dev and returns when it has been played.
func Play(ctx context.Context, dev string, x []float32) error {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, x)
	cmd := exec.CommandContext(ctx, "pacat", args("-p", dev)...)
	cmd.Stdin = &b
	return cmd.Run()
}

// Recorder records a source with pacat until Stop.
type Recorder struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

// Record starts recording the source dev.
func Record(dev string) (*Recorder, error) {
	r := &Recorder{cmd: exec.Command("pacat", args("-r", dev)...)}
	r.cmd.Stdout = &r.out
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	return r, nil
}

// Stop ends the recording and returns the samples.
func (r *Recorder) Stop() []float32 {
	r.cmd.Process.Signal(interrupt)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
	b := r.out.Bytes()
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

// Band is the upper edge of SpeechLike's spectrum, below the Nyquist frequency of the
// 16 kHz models with a margin for their resamplers' transition band.
const Band = 6000.0

// lowpass filters x with a 255-tap windowed-sinc (Blackman) low-pass at cutoff Hz, without
// delay (the filter is centred).
func lowpass(x []float32, cutoff float64) []float32 {
	const taps = 255
	h := make([]float64, taps)
	fc := cutoff / Rate
	var sum float64
	for i := range h {
		m := float64(i - taps/2)
		sinc := 2 * fc
		if m != 0 {
			sinc = math.Sin(2*math.Pi*fc*m) / (math.Pi * m)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/(taps-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/(taps-1))
		h[i] = sinc * w
		sum += h[i]
	}
	y := make([]float32, len(x))
	for n := range y {
		var acc float64
		for i, c := range h {
			if k := n + taps/2 - i; k >= 0 && k < len(x) {
				acc += c * float64(x[k])
			}
		}
		y[n] = float32(acc / sum)
	}
	return y
}

// SpeechLike returns d of a deterministic speech-like test signal at Rate: voiced
// syllables (harmonics of a gliding 100–220 Hz pitch, shaped by a few formants), unvoiced
// noise bursts and pauses, band-limited to Band, peak about 0.5.
func SpeechLike(d time.Duration, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	n := int(d.Seconds() * Rate)
	x := make([]float32, n)
	i := 0
	for i < n {
		syl := int((0.08 + 0.2*rng.Float64()) * Rate)
		gap := int((0.02 + 0.15*rng.Float64()) * Rate)
		voiced := rng.Float64() < 0.7
		f0 := 100 + 120*rng.Float64()
		glide := (rng.Float64() - 0.5) * 60
		formants := []float64{300 + 600*rng.Float64(), 900 + 1500*rng.Float64(), 2300 + 800*rng.Float64()}
		phase := 0.0
		var lp float64
		for k := 0; k < syl && i+k < n; k++ {
			t := float64(k) / float64(syl)
			env := math.Sin(math.Pi * t)
			var v float64
			if voiced {
				f := f0 + glide*t
				phase += 2 * math.Pi * f / Rate
				for h := 1; float64(h)*f < 4000; h++ {
					hf := float64(h) * f
					w := 0.0
					for _, fm := range formants {
						w += math.Exp(-math.Pow((hf-fm)/150, 2))
					}
					v += (0.05 + w) / float64(h) * math.Sin(float64(h)*phase)
				}
				v *= 0.25
			} else {
				// Hiss: noise through a one-pole high-pass.
				w := rng.NormFloat64()
				lp += 0.3 * (w - lp)
				v = 0.15 * (w - lp)
			}
			x[i+k] = float32(0.5 * env * v)
		}
		i += syl + gap
	}
	// Keep it in the band a 16 kHz processor can carry (the hiss is broadband): otherwise a
	// perfect 16 kHz passthrough loses 40% of the energy and no SI-SDR test can pass.
	x = lowpass(x, Band)
	// Normalise the peak to 0.5.
	var p float32
	for _, v := range x {
		p = max(p, float32(math.Abs(float64(v))))
	}
	if p > 0 {
		for k := range x {
			x[k] *= 0.5 / p
		}
	}
	return x
}

// Noise returns d of white noise bursts (50 ms on, 150 ms off) at amplitude 0.3: a signal
// with a sharp autocorrelation, for latency measurement.
func Noise(d time.Duration, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	n := int(d.Seconds() * Rate)
	x := make([]float32, n)
	period, on := Rate/5, Rate/20
	for i := range x {
		if i%period < on {
			x[i] = float32(0.1 * rng.NormFloat64())
		}
	}
	return x
}
