package wavfile

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// identity is a fake model that returns its input, or fails after some calls.
type identity struct{ failAfter, calls int }

func (identity) SampleRate() int { return 16000 }
func (identity) Context() int    { return 0 }
func (m *identity) Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error {
	m.calls++
	if m.failAfter > 0 && m.calls > m.failAfter {
		return errors.New("model failed")
	}
	copy(out, y)
	return nil
}

func writeTone(t *testing.T, name string, f wav.Format, frames int) [][]float32 {
	t.Helper()
	x := make([][]float32, f.Channels)
	for c := range x {
		x[c] = make([]float32, frames)
		for i := range x[c] {
			x[c][i] = float32(0.3 * math.Sin(2*math.Pi*float64(440*(c+1))*float64(i)/float64(f.SampleRate)))
		}
	}
	if err := wav.WriteFile(name, x, f); err != nil {
		t.Fatal(err)
	}
	return x
}

func TestEnhanceKeepsRateChannelsAndLength(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []wav.Format{
		{SampleRate: 44100, Channels: 2, BitsPerSample: 16},
		{SampleRate: 16000, Channels: 1, BitsPerSample: 32, Float: true},
		{SampleRate: 48000, Channels: 1, BitsPerSample: 24},
	} {
		in := filepath.Join(dir, "in.wav")
		out := filepath.Join(dir, "out.wav")
		frames := f.SampleRate*3 + 17
		x := writeTone(t, in, f, frames)
		var last int64
		res, err := Enhance(context.Background(), &identity{}, in, out, Options{Steps: 1, Progress: func(d, tot int64) { last = d }})
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		if res.Frames != int64(frames) || last != int64(frames) {
			t.Fatalf("%v: result %d frames, progress %d, want %d", f, res.Frames, last, frames)
		}
		y, g, err := wav.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if g != f || len(y) != f.Channels || len(y[0]) != frames {
			t.Fatalf("%v: wrote %v with %d×%d frames", f, g, len(y), len(y[0]))
		}
		// The tone survives the trip through 16 kHz (its band is below 8 kHz).
		for c := range y {
			var num, den float64
			for i := 2000; i < frames-2000; i++ {
				d := float64(y[c][i] - x[c][i])
				num += d * d
				den += float64(x[c][i]) * float64(x[c][i])
			}
			if db := 10 * math.Log10(num/den); db > -40 {
				t.Errorf("%v ch %d: round-trip error %.1f dB", f, c, db)
			}
		}
	}
}

func TestEnhanceFailureLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	out := filepath.Join(dir, "out.wav")
	writeTone(t, in, wav.Format{SampleRate: 16000, Channels: 1, BitsPerSample: 16}, 16000*20)
	_, err := Enhance(context.Background(), &identity{failAfter: 1}, in, out, Options{Steps: 1})
	if err == nil || !strings.Contains(err.Error(), "model failed") {
		t.Fatalf("want model error, got %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries after a failure, want only the input", len(entries))
	}
}

func TestEnhanceRefusesToOverwriteInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	writeTone(t, in, wav.Format{SampleRate: 16000, Channels: 1, BitsPerSample: 16}, 1600)
	before, _ := os.ReadFile(in)
	_, err := Enhance(context.Background(), &identity{}, in, in, Options{Steps: 1})
	if err == nil || !strings.Contains(err.Error(), "overwrite the input") {
		t.Fatalf("want refusal, got %v", err)
	}
	after, _ := os.ReadFile(in)
	if string(before) != string(after) {
		t.Fatal("input changed")
	}
}

func TestEnhanceBadInputNamesFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bad.wav")
	os.WriteFile(in, []byte("RIFF\x10\x00\x00\x00WAVEjunk"), 0o644)
	_, err := Enhance(context.Background(), &identity{}, in, filepath.Join(dir, "out.wav"), Options{Steps: 1})
	if err == nil || !strings.Contains(err.Error(), in) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want one-line error naming %s, got %v", in, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.wav")); err == nil {
		t.Fatal("output written for a bad input")
	}
}

func TestChannelGains(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	writeTone(t, in, wav.Format{SampleRate: 16000, Channels: 2, BitsPerSample: 16}, 16000)
	g, err := channelGains(in, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.1 / (0.3 / math.Sqrt2)
	for c := range g {
		if math.Abs(float64(g[c])-want) > 0.01 {
			t.Errorf("gain[%d] = %v, want %v", c, g[c], want)
		}
	}
}
