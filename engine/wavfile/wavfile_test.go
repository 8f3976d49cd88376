package wavfile

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/audiofile"
	"github.com/restoregrad/restoregrad/dsp/metrics"
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
		res, err := Enhance(context.Background(), &identity{}, in, out, Options{Steps: 1, Noise: seed0, Progress: func(d, tot int64) { last = d }})
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
	_, err := Enhance(context.Background(), &identity{failAfter: 1}, in, out, Options{Steps: 1, Noise: seed0})
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
	_, err := Enhance(context.Background(), &identity{}, in, in, Options{Steps: 1, Noise: seed0})
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
	_, err := Enhance(context.Background(), &identity{}, in, filepath.Join(dir, "out.wav"), Options{Steps: 1, Noise: seed0})
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

// The output keeps the input's sample format, 8-bit PCM and 64-bit float included (they
// came out as 16-bit and 32-bit float).
func TestEnhanceKeepsSampleFormat(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []wav.Format{
		{SampleRate: 8000, Channels: 1, BitsPerSample: 8},
		{SampleRate: 22050, Channels: 2, BitsPerSample: 64, Float: true},
		{SampleRate: 16000, Channels: 1, BitsPerSample: 32},
	} {
		in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
		x := writeTone(t, in, f, f.SampleRate)
		if _, err := Enhance(context.Background(), &identity{}, in, out, Options{Steps: 1, Noise: seed0}); err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		y, g, err := wav.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if g != f {
			t.Errorf("input %v written as %v", f, g)
		}
		snr, err := metrics.SNR(x[0][500:len(x[0])-500], y[0][500:len(y[0])-500])
		if err != nil {
			t.Fatal(err)
		}
		if db := -snr; db > -30 {
			t.Errorf("%v: round-trip error %.1f dB", f, db)
		}
	}
}

// A FLAC input gives the output its WAV twin gives, and a FLAC output holds the samples
// of the WAV output, bit for bit.
func TestEnhanceFLAC(t *testing.T) {
	dir := t.TempDir()
	f := wav.Format{SampleRate: 44100, Channels: 2, BitsPerSample: 16}
	inWAV, inFLAC := filepath.Join(dir, "in.wav"), filepath.Join(dir, "in.flac")
	writeTone(t, inWAV, f, 44100*2+3)
	x, _, err := wav.ReadFile(inWAV)
	if err != nil {
		t.Fatal(err)
	}
	if err := audiofile.WriteFile(inFLAC, x, audiofile.Format{Codec: audiofile.FLAC, SampleRate: 44100, Channels: 2, BitsPerSample: 16}); err != nil {
		t.Fatal(err)
	}
	outs := map[string][2]string{
		"wav→wav":   {inWAV, filepath.Join(dir, "a.wav")},
		"flac→wav":  {inFLAC, filepath.Join(dir, "b.wav")},
		"flac→flac": {inFLAC, filepath.Join(dir, "c.flac")},
		"wav→flac":  {inWAV, filepath.Join(dir, "d.FLAC")},
	}
	for what, io := range outs {
		res, err := Enhance(context.Background(), &identity{}, io[0], io[1], Options{Steps: 1, Noise: seed0})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		want := audiofile.Format{Codec: audiofile.WAV, SampleRate: 44100, Channels: 2, BitsPerSample: 16}
		if strings.HasSuffix(strings.ToLower(io[1]), ".flac") {
			want.Codec = audiofile.FLAC
		}
		if res.Output != want {
			t.Errorf("%s: wrote %v, want %v", what, res.Output, want)
		}
	}
	a, _ := os.ReadFile(outs["wav→wav"][1])
	b, _ := os.ReadFile(outs["flac→wav"][1])
	if len(a) == 0 || string(a) != string(b) {
		t.Errorf("FLAC input: output differs from the WAV input's (%d and %d bytes)", len(b), len(a))
	}
	ref, _, err := audiofile.ReadFile(outs["wav→wav"][1])
	if err != nil {
		t.Fatal(err)
	}
	for _, what := range []string{"flac→flac", "wav→flac"} {
		y, _, err := audiofile.ReadFile(outs[what][1])
		if err != nil {
			t.Fatal(err)
		}
		for c := range ref {
			if len(y[c]) != len(ref[c]) {
				t.Fatalf("%s: %d frames, WAV output %d", what, len(y[c]), len(ref[c]))
			}
			for i := range ref[c] {
				if y[c][i] != ref[c][i] {
					t.Fatalf("%s: channel %d frame %d = %v, WAV output %v", what, c, i, y[c][i], ref[c][i])
				}
			}
		}
	}
}

// Defect 12: NaN, ±Inf and 1e30 in a float WAV are enhanced as 0 and ±1 and counted; the
// output is finite (it held NaN and -Inf) and equals the output for the cleaned input.
func TestEnhanceSanitisesNonFiniteSamples(t *testing.T) {
	dir := t.TempDir()
	f := wav.Format{SampleRate: 48000, Channels: 2, BitsPerSample: 32, Float: true}
	in, clean := filepath.Join(dir, "in.wav"), filepath.Join(dir, "clean.wav")
	x := writeTone(t, in, f, 48000)
	bad := map[int]float32{1000: float32(math.NaN()), 2000: float32(math.Inf(1)), 3000: float32(math.Inf(-1)), 4000: 1e30, 5000: -1.5}
	want := map[int]float32{1000: 0, 2000: 1, 3000: -1, 4000: 1, 5000: -1}
	for i, v := range bad {
		x[1][i] = v
	}
	if err := wav.WriteFile(in, x, f); err != nil {
		t.Fatal(err)
	}
	for i, v := range want {
		x[1][i] = v
	}
	if err := wav.WriteFile(clean, x, f); err != nil {
		t.Fatal(err)
	}
	for _, rms := range []float64{0, 0.05} { // without and with input normalisation
		outBad, outClean := filepath.Join(dir, "out-bad.wav"), filepath.Join(dir, "out-clean.wav")
		res, err := Enhance(context.Background(), &identity{}, in, outBad, Options{Steps: 1, Noise: seed0, InputRMS: rms})
		if err != nil {
			t.Fatal(err)
		}
		if res.Replaced != int64(len(bad)) {
			t.Errorf("rms %v: Replaced = %d, want %d", rms, res.Replaced, len(bad))
		}
		if _, err := Enhance(context.Background(), &identity{}, clean, outClean, Options{Steps: 1, Noise: seed0, InputRMS: rms}); err != nil {
			t.Fatal(err)
		}
		y, _, err := wav.ReadFile(outBad)
		if err != nil {
			t.Fatal(err)
		}
		for c := range y {
			for i, v := range y[c] {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 2 {
					t.Fatalf("rms %v: output channel %d frame %d = %v", rms, c, i, v)
				}
			}
		}
		a, _ := os.ReadFile(outBad)
		b, _ := os.ReadFile(outClean)
		if string(a) != string(b) {
			t.Errorf("rms %v: output differs from the cleaned input's", rms)
		}
	}
}

// A damaged FLAC and an output the package cannot write fail with one line naming the
// file, and leave nothing behind.
func TestEnhanceFormatErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.wav")
	writeTone(t, good, wav.Format{SampleRate: 16000, Channels: 1, BitsPerSample: 16}, 16000)
	x, _, _ := wav.ReadFile(good)
	flac := filepath.Join(dir, "cut.flac")
	if err := audiofile.WriteFile(flac, x, audiofile.Format{Codec: audiofile.FLAC, SampleRate: 16000, Channels: 1, BitsPerSample: 16}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(flac)
	os.WriteFile(flac, b[:len(b)/2], 0o644)
	ogg := filepath.Join(dir, "x.ogg")
	os.WriteFile(ogg, []byte("OggS\x00\x02"+strings.Repeat("\x00", 40)), 0o644)
	for _, c := range []struct{ in, out, want string }{
		{flac, filepath.Join(dir, "o1.wav"), flac + ": flac: truncated stream"},
		{ogg, filepath.Join(dir, "o2.wav"), ogg + ": Ogg (Vorbis, Opus) is not supported"},
		{good, filepath.Join(dir, "o3.mp3"), filepath.Join(dir, "o3.mp3") + ": writing MP3 files is not supported; write .wav or .flac"},
	} {
		_, err := Enhance(context.Background(), &identity{}, c.in, c.out, Options{Steps: 1, Noise: seed0})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s → %s: got %v, want one line starting %q", c.in, c.out, err, c.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want only the three inputs", names)
	}
}

// seed0 is the noise of seed 0 for each channel.
func seed0(channel uint64) sampler.Noise { return sampler.CounterNoise{Stream: channel} }
