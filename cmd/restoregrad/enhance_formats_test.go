package main

import (
	"bytes"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/audiofile"
	"github.com/restoregrad/restoregrad/dsp/wav"
)

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (make setup installs it): skipping", name)
	}
}

func tool(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func sameSamples(t *testing.T, a, b string) {
	t.Helper()
	x, fx, err := audiofile.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, fy, err := audiofile.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if fx.SampleRate != fy.SampleRate || len(x) != len(y) || len(x[0]) != len(y[0]) {
		t.Fatalf("%s is %v with %d frames, %s is %v with %d", a, fx, len(x[0]), b, fy, len(y[0]))
	}
	for c := range x {
		for i := range x[c] {
			if x[c][i] != y[c][i] {
				t.Fatalf("%s and %s differ at channel %d frame %d: %v and %v", a, b, c, i, x[c][i], y[c][i])
			}
		}
	}
}

// A FLAC made by sox enhances to what its WAV gives (the same samples in, the same out),
// and the FLAC output holds the WAV output's samples bit for bit.
func TestEnhanceFLACInput(t *testing.T) {
	needTool(t, "sox")
	model, dir, in := toyInput(t, "talk.wav", 44100, 2, 44100)
	flac := filepath.Join(dir, "talk.flac")
	tool(t, "sox", in, flac)
	args := []string{"--model", model, "--quiet"}
	if err := runEnhance(append([]string{in, flac}, args...)); err != nil { // defaults: talk-denoised.wav, talk-denoised.flac
		t.Fatal(err)
	}
	wavOut, flacOut := filepath.Join(dir, "talk-denoised.wav"), filepath.Join(dir, "talk-denoised.flac")
	sameSamples(t, wavOut, flacOut)
	// FLAC in, WAV out: the same file, byte for byte.
	other := filepath.Join(dir, "from-flac.wav")
	if err := runEnhance(append([]string{flac, "-o", other}, args...)); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(wavOut)
	b, _ := os.ReadFile(other)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("FLAC input: WAV output differs from the WAV input's")
	}
	// sox reads the FLAC output as the WAV output's samples.
	dec := filepath.Join(dir, "sox.wav")
	tool(t, "sox", flacOut, dec)
	sameSamples(t, wavOut, dec)
}

// An MP3 made by ffmpeg enhances to what the same MP3, decoded by the same decoder to a
// WAV, gives. (The decoding itself is MP3's loss: dsp/audiofile's TestReadMP3 measures it
// against ffmpeg's decoder.)
func TestEnhanceMP3Input(t *testing.T) {
	needTool(t, "ffmpeg")
	model, dir, src := toyInput(t, "src.wav", 44100, 1, 44100)
	mp3 := filepath.Join(dir, "talk.mp3")
	tool(t, "ffmpeg", "-v", "error", "-i", src, "-b:a", "96k", mp3)
	x, f, err := audiofile.ReadFile(mp3)
	if err != nil {
		t.Fatal(err)
	}
	if f.Channels != 1 || f.SampleRate != 44100 {
		t.Fatalf("MP3 decoded as %v", f)
	}
	decoded := filepath.Join(dir, "decoded.wav")
	if err := wav.WriteFile(decoded, x, wav.Format{SampleRate: f.SampleRate, Channels: 1, BitsPerSample: 16}); err != nil {
		t.Fatal(err)
	}
	args := []string{"--model", model, "--quiet"}
	if err := runEnhance(append([]string{mp3, decoded}, args...)); err != nil {
		t.Fatal(err)
	}
	mp3Out := filepath.Join(dir, "talk-denoised.wav") // an MP3's output is WAV
	a, _ := os.ReadFile(mp3Out)
	b, _ := os.ReadFile(filepath.Join(dir, "decoded-denoised.wav"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("MP3 input: output (%d bytes) differs from the decoded WAV's (%d bytes)", len(a), len(b))
	}
	// A folder of mixed formats: every readable file, outputs named for what is written.
	tree := filepath.Join(dir, "tree")
	os.MkdirAll(filepath.Join(tree, "sub"), 0o755)
	os.Rename(mp3, filepath.Join(tree, "sub", "talk.MP3"))
	os.WriteFile(filepath.Join(tree, "song.ogg"), []byte("OggS"), 0o644) // not searched for
	out := filepath.Join(dir, "out")
	if err := runEnhance(append([]string{tree, "-o", out}, args...)); err != nil {
		t.Fatal(err)
	}
	c, _ := os.ReadFile(filepath.Join(out, "sub", "talk.wav"))
	if !bytes.Equal(a, c) {
		t.Error("folder: sub/talk.MP3 was not written as sub/talk.wav")
	}
}

// Defect 14: several inputs (or a folder) with a file-like -o made a folder named
// clean.wav; --threads -3 was accepted; --chunk nan and inf reached the engine.
func TestEnhanceRefusesBadOutputsAndFlags(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
	writeWAV(t, a, 16000, 1, 1600)
	writeWAV(t, b, 16000, 1, 1600)
	clean := filepath.Join(dir, "clean.wav")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{a, b, "-o", clean}, "2 inputs need an output folder, not a file name"},
		{[]string{dir, "-o", filepath.Join(t.TempDir(), "x.flac")}, "is a folder: give an output folder"},
		{[]string{a, "-o", filepath.Join(dir, "x.mp3")}, "writing MP3 files is not supported"},
		{[]string{a, "--threads", "-3"}, "-threads -3: must be at least 1"},
		{[]string{a, "--threads", "0"}, "-threads 0: must be at least 1"},
		{[]string{a, "--chunk", "nan"}, "-chunk NaN: must be between"},
		{[]string{a, "--chunk", "inf"}, "-chunk +Inf: must be between"},
		{[]string{a, "--chunk", "1e300"}, "must be between"},
	}
	for _, c := range cases {
		err := runEnhance(append(c.args, "--quiet", "--model", "no-such-model"))
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: want exit 2 with %q, got %v (code %d)", c.args, c.want, err, exitCode(err))
		}
	}
	if _, err := os.Stat(clean); !os.IsNotExist(err) {
		t.Errorf("%s was created (%v)", clean, err)
	}
}

// Defect 12: a float WAV holding NaN and ±Inf is enhanced to a finite file, with a
// warning that counts the replaced samples.
func TestEnhanceWarnsAboutNonFiniteSamples(t *testing.T) {
	model := toyModel(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.wav")
	x := make([][]float32, 1)
	x[0] = make([]float32, 16000)
	for i := range x[0] {
		x[0][i] = float32(0.2 * math.Sin(float64(i)*0.05))
	}
	x[0][100], x[0][200], x[0][300] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
	if err := wav.WriteFile(in, x, wav.Format{SampleRate: 16000, Channels: 1, BitsPerSample: 32, Float: true}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.wav")
	stderr := captureStderr(t, func() {
		if err := runEnhance([]string{in, "-o", out, "--model", model, "--quiet"}); err != nil {
			t.Fatal(err)
		}
	})
	if want := "warning: " + in + ": 3 samples were NaN, infinite or beyond full scale"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
	y, f, err := wav.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Float || f.BitsPerSample != 32 {
		t.Errorf("written as %v", f)
	}
	for i, v := range y[0] {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("output frame %d = %v", i, v)
		}
	}
}

// captureStderr returns what f writes to os.Stderr.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() {
		os.Stderr = old
	}()
	f()
	w.Close()
	os.Stderr = old
	return <-done
}
