package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/zoo"
)

func toyModel(t *testing.T) string {
	t.Helper()
	modeltest.RequireRuntime(t)
	return modeltest.ToyBundle(t, filepath.Join(t.TempDir(), "toy"), modeltest.ToyManifest())
}

// toyInput makes the toy bundle and a test WAV (writeWAV's) named name in a new temporary
// folder, and returns the bundle, the folder and the WAV's path.
func toyInput(t *testing.T, name string, rate, channels, frames int) (model, dir, in string) {
	t.Helper()
	model = toyModel(t)
	dir = t.TempDir()
	in = filepath.Join(dir, name)
	writeWAV(t, in, rate, channels, frames)
	return model, dir, in
}

func writeWAV(t *testing.T, name string, rate, channels, frames int) {
	t.Helper()
	x := make([][]float32, channels)
	for c := range x {
		x[c] = make([]float32, frames)
		for i := range x[c] {
			x[c][i] = float32(0.2 * math.Sin(float64(i)*0.05*float64(c+1)))
		}
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := wav.WriteFile(name, x, wav.Format{SampleRate: rate, Channels: channels, BitsPerSample: 16}); err != nil {
		t.Fatal(err)
	}
}

func TestEnhanceFolderKeepsTreeAndSkipsBadFiles(t *testing.T) {
	model := toyModel(t)
	in := filepath.Join(t.TempDir(), "in")
	writeWAV(t, filepath.Join(in, "a.wav"), 16000, 1, 8000)
	writeWAV(t, filepath.Join(in, "sub", "b.WAV"), 44100, 2, 30000)
	os.WriteFile(filepath.Join(in, "sub", "broken.wav"), []byte("RIFF....WAVEfmt "), 0o644)
	os.WriteFile(filepath.Join(in, "notes.txt"), []byte("not audio"), 0o644)
	out := filepath.Join(t.TempDir(), "out")

	err := runEnhance([]string{in, "-o", out, "--model", model, "--quiet", "--jobs", "2"})
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "broken.wav") {
		t.Fatalf("want exit 1 naming broken.wav, got %v (code %d)", err, exitCode(err))
	}
	for _, f := range []struct {
		name           string
		rate, channels int
		frames         int
	}{{"a.wav", 16000, 1, 8000}, {"sub/b.WAV", 44100, 2, 30000}} {
		x, format, err := wav.ReadFile(filepath.Join(out, f.name))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if format.SampleRate != f.rate || len(x) != f.channels || len(x[0]) != f.frames {
			t.Errorf("%s: %v, %d×%d", f.name, format, len(x), len(x[0]))
		}
	}
	for _, absent := range []string{"sub/broken.wav", "notes.txt"} {
		if _, err := os.Stat(filepath.Join(out, absent)); err == nil {
			t.Errorf("%s exists in the output", absent)
		}
	}
	// No temporary files are left behind.
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if strings.Contains(filepath.Base(p), ".tmp") {
			t.Errorf("leftover temp file %s", p)
		}
		return nil
	})
}

func TestEnhanceSingleFileAndDefaults(t *testing.T) {
	model, dir, in := toyInput(t, "talk.wav", 48000, 1, 48000)
	if err := runEnhance([]string{"--model", model, "--quiet", "--steps", "3", in}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := wav.ReadFile(filepath.Join(dir, "talk-denoised.wav")); err != nil {
		t.Fatalf("default output: %v", err)
	}
	// Same seed, same output; another seed, another output.
	a, b, c := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav"), filepath.Join(dir, "c.wav")
	for _, run := range [][]string{{in, "-o", a}, {in, "-o", b}, {in, "-o", c, "--seed", "9"}} {
		if err := runEnhance(append(run, "--model", model, "--quiet")); err != nil {
			t.Fatal(err)
		}
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	dc, _ := os.ReadFile(c)
	if string(da) != string(db) || string(da) == string(dc) {
		t.Error("seed does not control the output")
	}
}

func TestEnhanceArgumentErrors(t *testing.T) {
	model, dir, in := toyInput(t, "x.wav", 16000, 1, 1600)
	cases := map[string][]string{
		"overwrite the input":          {in, "-o", in, "--model", model},
		"no .wav, .flac or .mp3 files": {t.TempDir(), "--model", model},
		"no input":                     {"--model", model},
		"no 51-step":                   {in, "-o", filepath.Join(dir, "y.wav"), "--model", model, "--steps", "51"},
		"not found":                    {in, "-o", filepath.Join(dir, "y.wav"), "--model", "no-such-model"},
		"inside the input":             {dir, "-o", filepath.Join(dir, "out")},
	}
	for want, args := range cases {
		err := runEnhance(append(args, "--quiet"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: want error containing %q, got %v", args, want, err)
		}
	}
}

// enhance takes the alias live takes ("rt") and gives what the full name gives (issue 25:
// it failed with `model "rt" not found`).
func TestEnhanceModelAlias(t *testing.T) {
	modeltest.RequireRuntime(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "talk.wav")
	writeWAV(t, in, 16000, 1, 8000)
	alias, full := filepath.Join(dir, "alias.wav"), filepath.Join(dir, "full.wav")
	for model, out := range map[string]string{defaultLiveModel: alias, zoo.DefaultStreaming: full} {
		if err := runEnhance([]string{"--model", model, "--quiet", in, "-o", out}); err != nil {
			t.Fatalf("--model %s: %v", model, err)
		}
	}
	a, _ := os.ReadFile(alias)
	f, _ := os.ReadFile(full)
	if len(a) == 0 || string(a) != string(f) {
		t.Errorf("--model %s wrote %d bytes, --model %s %d bytes, not the same file", defaultLiveModel, len(a), zoo.DefaultStreaming, len(f))
	}
}
