package main

// Host tests: the plugin built as `make plugin` builds it, loaded by real LADSPA hosts from
// Debian (analyseplugin and applyplugin from ladspa-sdk, sox's ladspa effect), must give the
// output of `restoregrad enhance` with the same model, steps and attenuation limit.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/models/ort"
)

// tolerance is the largest difference allowed between the plugin's output (after its
// reported latency) and enhance's, on float WAV files. Both run the same resamplers and the
// same model on the same samples with the same noise, so what is left is float rounding
// (the frame-step graphs against the whole-signal graphs, block sizes inside ONNX Runtime).
const tolerance = 1e-4

// build builds the plugin, as make plugin does, into a temporary folder.
var build = sync.OnceValues(func() (dir string, err error) {
	dir, err = os.MkdirTemp("", "restoregrad-ladspa-test-")
	if err != nil {
		return "", err
	}
	return dir, goBuild("-buildmode=c-shared", "-o", filepath.Join(dir, "librestoregrad_ladspa.so"), ".")
})

// buildCLI builds restoregrad beside the plugin, for the enhance reference.
var buildCLI = sync.OnceValue(func() error {
	dir, err := build()
	if err != nil {
		return err
	}
	return goBuild("-o", filepath.Join(dir, "restoregrad"), "../restoregrad")
})

func goBuild(args ...string) error {
	if out, err := exec.Command("go", append([]string{"build"}, args...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := build(); err == nil && dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// setup builds the plugin and the CLI and puts ONNX Runtime beside the plugin (one of the
// places the plugin looks, with no environment variable).
func setup(t *testing.T, tools ...string) (dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("host tests build the plugin and run sox/applyplugin")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt install ladspa-sdk sox): %v", tool, err)
		}
	}
	lib, err := ort.LibraryPath()
	if err != nil || !filepath.IsAbs(lib) {
		t.Skipf("ONNX Runtime not set up (make setup): %v", err)
	}
	dir, err = build()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "libonnxruntime.so.1")
	if _, err := os.Lstat(link); err != nil {
		if err := os.Symlink(lib, link); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// run runs a command without ORT_LIB, with the plugin's counters on stderr, and returns
// its combined output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, ort.EnvLibrary+"=") && !strings.HasPrefix(e, "LADSPA_PATH=") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, envVerbose+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

var summary = regexp.MustCompile(`mode (\S+), latency (\d+) frames .* (\d+) blocks of (\d+)\.\.(\d+) frames, late frames (\d+), lost (\d+), stalls (\d+)`)

// hostRun is what the plugin said about one run.
type hostRun struct {
	mode             string
	latency          int
	minBlock, blocks int
	maxBlock         int
}

func parseSummary(t *testing.T, out string) hostRun {
	t.Helper()
	m := summary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no plugin summary in the host's output:\n%s", out)
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	if late, lost, stalls := n(6), n(7), n(8); late+lost+stalls != 0 {
		t.Errorf("late frames %d, lost %d, stalls %d (want none from an offline host):\n%s", late, lost, stalls, out)
	}
	return hostRun{mode: m[1], latency: n(2), blocks: n(3), minBlock: n(4), maxBlock: n(5)}
}

// compare checks got[lag+i] against want[i] for every channel over their overlap (at least
// 90% of want) and returns the largest difference.
func compare(t *testing.T, gotFile, wantFile string, lag int) float64 {
	t.Helper()
	got, _, err := wav.ReadFile(gotFile)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := wav.ReadFile(wantFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d channels, want %d", len(got), len(want))
	}
	var worst float64
	for c := range want {
		n := min(len(got[c])-lag, len(want[c]))
		if n < len(want[c])*9/10 {
			t.Fatalf("%s: %d frames after the latency %d, want about %d", gotFile, n, lag, len(want[c]))
		}
		for i := 0; i < n; i++ {
			worst = math.Max(worst, math.Abs(float64(got[c][lag+i]-want[c][i])))
		}
	}
	return worst
}

// input writes 3 s of the demo sample at rate Hz (float WAV, so no host quantises).
func input(t *testing.T, dir string, rate, channels int) string {
	t.Helper()
	name := filepath.Join(dir, fmt.Sprintf("in-%d-%dch.wav", rate, channels))
	if _, err := os.Stat(name); err == nil {
		return name
	}
	args := []string{"../../testdata/sample-noisy.wav", "-e", "floating-point", "-b", "32", name, "trim", "0", "3", "rate", "-v", strconv.Itoa(rate)}
	if channels == 2 { // a second channel that differs: the sample 20 ms later, quieter
		args = append(args, "remix", "1", "1v0.5", "delay", "0", "0.02")
	}
	run(t, "sox", args...)
	return name
}

func enhance(t *testing.T, dir, in string, extra ...string) string {
	t.Helper()
	if err := buildCLI(); err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSuffix(in, ".wav") + "-enhance" + strings.Join(extra, "") + ".wav"
	args := append([]string{"enhance", in, "-o", out, "--model", "restoregrad-rt", "--seed", "1", "--quiet"}, extra...)
	run(t, filepath.Join(dir, "restoregrad"), args...)
	return out
}

func TestAnalyseplugin(t *testing.T) {
	dir := setup(t, "analyseplugin")
	out := run(t, "analyseplugin", filepath.Join(dir, "librestoregrad_ladspa.so"))
	for _, want := range []string{
		`Plugin Label: "restoregrad_mono"`, `Plugin Label: "restoregrad_stereo"`,
		`"Input" input, audio`, `"Output" output, audio`, `"Input L" input, audio`, `"Output R" output, audio`,
		`"Attenuation limit (dB)" input, control, 0 to 100, default 100`,
		`"Steps" input, control, 0 to 8, default 0, integer`,
		`"Model" input, control, 0 to`, `"latency" output, control`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("analyseplugin output lacks %s:\n%s", want, out)
		}
	}
}

// TestSoxMatchesEnhance: sox's ladspa effect (latency compensated with -l) at three rates
// and two buffer sizes gives enhance's output sample for sample, up to tolerance.
func TestSoxMatchesEnhance(t *testing.T) {
	dir := setup(t, "sox")
	so := filepath.Join(dir, "librestoregrad_ladspa.so")
	for _, rate := range []int{16000, 44100, 48000} {
		in := input(t, dir, rate, 1)
		ref := enhance(t, dir, in)
		for _, buf := range []int{64, 1024} {
			out := filepath.Join(dir, fmt.Sprintf("sox-%d-%d.wav", rate, buf))
			r := parseSummary(t, run(t, "sox", "--buffer", strconv.Itoa(buf), in, "-e", "floating-point", "-b", "32", out,
				"ladspa", "-l", so, "restoregrad_mono"))
			d := compare(t, out, ref, 0)
			t.Logf("%5d Hz, sox --buffer %4d (blocks %d..%d): mode %s, latency %d frames, max |sox − enhance| %.2e",
				rate, buf, r.minBlock, r.maxBlock, r.mode, r.latency, d)
			if d > tolerance || r.mode != "offline" {
				t.Errorf("%d Hz, buffer %d: max difference %g (tolerance %g), mode %s", rate, buf, d, tolerance, r.mode)
			}
		}
	}
}

// TestApplypluginMatchesEnhance: applyplugin (2048-frame blocks, no latency compensation)
// gives enhance's output delayed by the latency the plugin reports; also with a step count
// and an attenuation limit set on the ports, against enhance with the same flags.
func TestApplypluginMatchesEnhance(t *testing.T) {
	dir := setup(t, "applyplugin", "sox")
	so := filepath.Join(dir, "librestoregrad_ladspa.so")
	type tc struct {
		rate         int
		atten, steps string
	}
	for _, c := range []tc{{16000, "100", "0"}, {44100, "100", "0"}, {48000, "100", "0"}, {48000, "12", "3"}} {
		in := input(t, dir, c.rate, 1)
		var ref string
		if c.atten == "100" && c.steps == "0" {
			ref = enhance(t, dir, in)
		} else {
			ref = enhance(t, dir, in, "--steps", c.steps, "--attenuation-limit", c.atten)
		}
		out := filepath.Join(dir, fmt.Sprintf("apply-%d-%s-%s.wav", c.rate, c.atten, c.steps))
		r := parseSummary(t, run(t, "applyplugin", in, out, so, "restoregrad_mono", c.atten, c.steps, "0"))
		d := compare(t, out, ref, r.latency)
		t.Logf("%5d Hz, applyplugin (blocks %d..%d), limit %s dB, steps %s: latency %d frames, max |applyplugin − enhance| %.2e",
			c.rate, r.minBlock, r.maxBlock, c.atten, c.steps, r.latency, d)
		if d > tolerance {
			t.Errorf("%+v: max difference %g (tolerance %g)", c, d, tolerance)
		}
	}
}

// TestSoxStereo: the stereo plugin, each channel with its own noise stream as enhance gives
// the channels of a file.
func TestSoxStereo(t *testing.T) {
	dir := setup(t, "sox")
	in := input(t, dir, 48000, 2)
	ref := enhance(t, dir, in)
	out := filepath.Join(dir, "sox-stereo.wav")
	r := parseSummary(t, run(t, "sox", in, "-e", "floating-point", "-b", "32", out,
		"ladspa", "-l", filepath.Join(dir, "librestoregrad_ladspa.so"), "restoregrad_stereo"))
	if d := compare(t, out, ref, 0); d > tolerance {
		t.Errorf("stereo: max difference %g (tolerance %g)", d, tolerance)
	} else {
		t.Logf("48000 Hz stereo, sox: latency %d frames, max |sox − enhance| %.2e", r.latency, d)
	}
}

// TestMissingRuntime: with no ONNX Runtime beside the plugin (and none where make setup
// puts it relative to the plugin), the host cannot instantiate it and says why.
func TestMissingRuntime(t *testing.T) {
	dir := setup(t, "sox")
	so := lonelyPlugin(t, dir)
	alone := filepath.Dir(so)
	in := input(t, dir, 16000, 1)
	cmd := exec.Command("sox", in, filepath.Join(alone, "out.wav"), "ladspa", so, "restoregrad_mono")
	cmd.Env = bareEnv(alone)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("sox succeeded without ONNX Runtime:\n%s", out)
	}
	if !strings.Contains(string(out), "restoregrad LADSPA: cannot start") || !strings.Contains(string(out), "libonnxruntime.so.1") {
		t.Errorf("stderr does not say what is missing:\n%s", out)
	}
	t.Logf("host output:\n%s", out)
}

// TestExactBlocksMatchEnhance: a minimal C host (testdata/host.c) runs the plugin in blocks of
// exactly 1, 64, 1024 and 4096 frames at 16, 44.1 and 48 kHz; after the latency it reports,
// the output is enhance's.
func TestExactBlocksMatchEnhance(t *testing.T) {
	dir := setup(t, "sox", "gcc")
	host := filepath.Join(dir, "host")
	if _, err := os.Stat(host); err != nil {
		if out, err := exec.Command("gcc", "-O2", "-o", host, "testdata/host.c", "-ldl").CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s", err, out)
		}
	}
	so := filepath.Join(dir, "librestoregrad_ladspa.so")
	for _, rate := range []int{16000, 44100, 48000} {
		in := input(t, dir, rate, 1)
		want, _, err := wav.ReadFile(enhance(t, dir, in))
		if err != nil {
			t.Fatal(err)
		}
		raw := strings.TrimSuffix(in, ".wav") + ".f32"
		run(t, "sox", in, "-t", "f32", raw)
		for _, block := range []int{1, 64, 1024, 4096} {
			out := filepath.Join(dir, fmt.Sprintf("host-%d-%d.f32", rate, block))
			cmd := exec.Command(host, so, "restoregrad_mono", strconv.Itoa(rate), strconv.Itoa(block))
			f, err := os.Open(raw)
			if err != nil {
				t.Fatal(err)
			}
			o, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stdin, cmd.Stdout, cmd.Stderr = f, o, &stderr
			cmd.Env = append(os.Environ(), envVerbose+"=1")
			err = cmd.Run()
			f.Close()
			o.Close()
			if err != nil {
				t.Fatalf("host %d Hz, block %d: %v\n%s", rate, block, err, stderr.String())
			}
			r := parseSummary(t, stderr.String())
			if r.minBlock > block || r.maxBlock != block {
				t.Errorf("host ran blocks of %d..%d frames, want %d", r.minBlock, r.maxBlock, block)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(data)/4)
			if err := binary.Read(strings.NewReader(string(data)), binary.LittleEndian, got); err != nil {
				t.Fatal(err)
			}
			var worst float64
			n := min(len(got)-r.latency, len(want[0]))
			for i := 0; i < n; i++ {
				worst = math.Max(worst, math.Abs(float64(got[r.latency+i]-want[0][i])))
			}
			t.Logf("%5d Hz, blocks of %4d: mode %s, latency %d frames, max |plugin − enhance| %.2e over %d frames",
				rate, block, r.mode, r.latency, worst, n)
			if worst > tolerance || n < len(want[0])*8/10 || r.mode != "offline" {
				t.Errorf("%d Hz, block %d: max difference %g over %d frames, mode %s", rate, block, worst, n, r.mode)
			}
		}
	}
}

// TestSoxTwoInstances: sox -r runs one mono instance per channel of a stereo file, two
// instances in one process; each channel is enhance's output for that channel alone.
func TestSoxTwoInstances(t *testing.T) {
	dir := setup(t, "sox")
	in := input(t, dir, 48000, 2)
	out := filepath.Join(dir, "sox-two-instances.wav")
	log := run(t, "sox", in, "-e", "floating-point", "-b", "32", out,
		"ladspa", "-r", "-l", filepath.Join(dir, "librestoregrad_ladspa.so"), "restoregrad_mono")
	if n := strings.Count(log, "restoregrad LADSPA: 1 ch at 48000 Hz: mode offline"); n != 2 {
		t.Fatalf("%d offline instances reported, want 2:\n%s", n, log)
	}
	r := parseSummary(t, log)
	for c := 1; c <= 2; c++ {
		mono := filepath.Join(dir, fmt.Sprintf("in-48000-channel%d.wav", c))
		run(t, "sox", in, mono, "remix", strconv.Itoa(c))
		got := filepath.Join(dir, fmt.Sprintf("sox-two-instances-%d.wav", c))
		run(t, "sox", out, got, "remix", strconv.Itoa(c))
		d := compare(t, got, enhance(t, dir, mono), 0)
		t.Logf("channel %d (own instance): max |sox − enhance| %.2e, latency %d", c, d, r.latency)
		if d > tolerance {
			t.Errorf("channel %d: max difference %g", c, d)
		}
	}
}

// TestUnknownModel: a Model port value with no model behind it keeps the loaded model and
// says why on stderr.
func TestUnknownModel(t *testing.T) {
	dir := setup(t, "applyplugin", "sox")
	in := input(t, dir, 16000, 1)
	out := filepath.Join(dir, "apply-model-7.wav")
	log := run(t, "applyplugin", in, out, filepath.Join(dir, "librestoregrad_ladspa.so"), "restoregrad_mono", "100", "0", "7")
	if !strings.Contains(log, "error: model 7") {
		t.Errorf("no error for model 7:\n%s", log)
	}
	r := parseSummary(t, log)
	if d := compare(t, out, enhance(t, dir, in), r.latency); d > tolerance {
		t.Errorf("output with the default model kept: max difference %g", d)
	}
}

// lonelyPlugin copies the plugin into a folder of its own, with no ONNX Runtime beside it,
// and skips when a system ONNX Runtime would be found anyway.
func lonelyPlugin(t *testing.T, dir string) string {
	t.Helper()
	for _, d := range []string{"/usr/local/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib"} {
		for _, name := range []string{"libonnxruntime.so.1", "libonnxruntime.so"} {
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				t.Skipf("a system ONNX Runtime (%s) would be found", filepath.Join(d, name))
			}
		}
	}
	alone := t.TempDir()
	data, err := os.ReadFile(filepath.Join(dir, "librestoregrad_ladspa.so"))
	if err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(alone, "librestoregrad_ladspa.so")
	if err := os.WriteFile(so, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return so
}

// bareEnv is an environment with no ORT_LIB, LADSPA_PATH or HOME to find anything by.
func bareEnv(home string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
}

// TestHostAbuse: every entry point takes what real hosts pass (testdata/abuse.c: cleanup
// on a failed instantiate's NULL, NULL handles, run before ports are connected and with 0
// frames, ports connected after activate, in-place buffers, deactivate, activate twice,
// NaN controls), with ONNX Runtime and without it (where instantiate fails).
func TestHostAbuse(t *testing.T) {
	dir := setup(t, "gcc")
	// Not beside the plugin's ONNX Runtime: the executable's folder is one place it looks.
	host := filepath.Join(t.TempDir(), "abuse")
	if out, err := exec.Command("gcc", "-O2", "-o", host, "testdata/abuse.c", "-ldl", "-lm").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name, so, want string
	}{
		{"with ONNX Runtime", filepath.Join(dir, "librestoregrad_ladspa.so"), "restoregrad_stereo: instantiated"},
		{"without ONNX Runtime", lonelyPlugin(t, dir), "restoregrad_stereo: not instantiated"},
	} {
		cmd := exec.Command(host, c.so)
		cmd.Env = bareEnv(t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", c.name, err, out)
			continue
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("%s: output lacks %q:\n%s", c.name, c.want, out)
		}
		t.Logf("%s: survived\n%s", c.name, out)
	}
}

// TestFfmpeg: ffmpeg's ladspa filter (which calls cleanup on the NULL of a failed
// instantiate) fails with a message, not a crash, when ONNX Runtime is missing, and with
// it writes the whole input's length of finite audio.
func TestFfmpeg(t *testing.T) {
	dir := setup(t, "ffmpeg", "sox")
	in := input(t, dir, 48000, 1)
	ffmpeg := func(so, out string) (string, error) {
		cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", in,
			"-af", "ladspa=file="+so+":plugin=restoregrad_mono", "-c:a", "pcm_f32le", "-y", out)
		cmd.Env = bareEnv(t.TempDir())
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	out, err := ffmpeg(lonelyPlugin(t, dir), filepath.Join(t.TempDir(), "out.wav"))
	var ee *exec.ExitError
	switch {
	case err == nil:
		t.Errorf("ffmpeg succeeded without ONNX Runtime:\n%s", out)
	case !errors.As(err, &ee) || !ee.Exited():
		t.Errorf("ffmpeg without ONNX Runtime: %v (want an exit status, not a signal)\n%s", err, out)
	case !strings.Contains(out, "libonnxruntime.so.1"):
		t.Errorf("ffmpeg's output does not say what is missing:\n%s", out)
	}
	t.Logf("without ONNX Runtime: %v\n%s", err, out)

	dst := filepath.Join(dir, "ffmpeg-48000.wav")
	if out, err := ffmpeg(filepath.Join(dir, "librestoregrad_ladspa.so"), dst); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	got, _, err := wav.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := wav.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0]) != len(want[0]) {
		t.Errorf("ffmpeg wrote %d frames, want %d", len(got[0]), len(want[0]))
	}
	for i, v := range got[0] {
		if math.IsNaN(float64(v)) || math.Abs(float64(v)) > 4 {
			t.Fatalf("sample %d is %g", i, v)
		}
	}
}
