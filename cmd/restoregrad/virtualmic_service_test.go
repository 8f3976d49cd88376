package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/stream/pulse"
	"github.com/restoregrad/restoregrad/stream/virtualmic"
)

// execStart reads the installed unit's command line back into words, undoing
// systemdQuote.
func execStart(t *testing.T, unit string) []string {
	t.Helper()
	var line string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			line = v
		}
	}
	var words []string
	var w strings.Builder
	inQuote, any := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(line):
			i++
			w.WriteByte(line[i])
		case inQuote && (c == '$' || c == '%') && i+1 < len(line) && line[i+1] == c:
			i++
			w.WriteByte(c)
		case c == '"':
			inQuote, any = !inQuote, true
		case c == ' ' && !inQuote:
			if w.Len() > 0 || any {
				words = append(words, w.String())
			}
			w.Reset()
			any = false
		default:
			w.WriteByte(c)
		}
	}
	if w.Len() > 0 || any {
		words = append(words, w.String())
	}
	return words
}

// installUnit runs virtual-mic --install-service with args in a fresh config folder and
// returns the unit, or the error.
func installUnit(t *testing.T, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if err := runVirtualMic(append([]string{"--install-service"}, args...)); err != nil {
		if entries, _ := os.ReadDir(filepath.Join(dir, "systemd", "user")); len(entries) > 0 {
			t.Errorf("a unit was written although the install failed (%v)", err)
		}
		return "", err
	}
	name := pulse.DefaultDescription
	for i, a := range args {
		if a == "--name" && i+1 < len(args) {
			name = args[i+1]
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "systemd", "user", virtualmic.ServiceFile(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), nil
}

// The unit runs virtual-mic with every option given, paths absolute (issue 24, item 6: it
// dropped --busy-cushion and kept relative paths).
func TestInstallServiceKeepsEveryOption(t *testing.T) {
	lib := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, lib)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORT_LIB", rel)
	unit, err := installUnit(t, "--model", "passthrough", "--name", "Desk 100% Mic", "--input", "alsa_input.usb",
		"--steps", "2", "--attenuation-limit", "12", "--busy-cushion", "120ms", "--threads", "3", "--provider", "cuda",
		"--cpu-fallback", "--ort-lib", rel, "--json-stats", "stats.json", "--duration", "1h")
	if err != nil {
		t.Fatal(err)
	}
	words := execStart(t, unit)
	if len(words) < 2 || words[1] != "virtual-mic" {
		t.Fatalf("ExecStart %q\n%s", words, unit)
	}
	var got virtualMicOptions
	if err := virtualMicFlags(&got).Parse(words[2:]); err != nil {
		t.Fatalf("the unit's flags do not parse: %v\n%s", err, unit)
	}
	want := virtualMicOptions{name: "Desk 100% Mic", liveOptions: liveOptions{model: "passthrough", input: "alsa_input.usb", steps: 2,
		busyCushion: 120 * time.Millisecond, jsonStats: filepath.Join(wd, "stats.json"), duration: time.Hour, quiet: true,
		runtime: modelFlags{threads: 3, provider: "cuda", cpuFallback: true, ortLib: lib}}}
	want.attenuation.Set("12")
	if got != want {
		t.Errorf("the unit runs\n%+v\nwant\n%+v\n%s", got, want, unit)
	}
	if !strings.Contains(unit, `Environment="ORT_LIB=`+lib+`"`) && !strings.Contains(unit, "Environment=ORT_LIB="+lib+"\n") {
		t.Errorf("ORT_LIB not absolute in the unit:\n%s", unit)
	}

	// The defaults: nothing but the name and the model.
	t.Setenv("ORT_LIB", "")
	unit, err = installUnit(t, "--model", "passthrough")
	if err != nil {
		t.Fatal(err)
	}
	if words := execStart(t, unit); len(words) != 7 || strings.Contains(unit, "Environment=") {
		t.Errorf("defaults give %q\n%s", words, unit)
	}
}

// What a run would refuse, the install refuses, and no unit is written.
func TestInstallServiceChecksLikeARun(t *testing.T) {
	t.Setenv("ORT_LIB", "")
	for _, args := range [][]string{
		{"--model", "passthrough", "--steps", "-1"},
		{"--model", "passthrough", "--ort-lib", "no/such/libonnxruntime.so"},
		{"--model", "no-such-model"},
	} {
		if _, err := installUnit(t, args...); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	t.Setenv("ORT_LIB", "no/such/lib.so")
	if _, err := installUnit(t, "--model", "passthrough"); err == nil || !strings.Contains(err.Error(), "ORT_LIB") {
		t.Errorf("a missing $ORT_LIB: %v", err)
	}
	t.Setenv("ORT_LIB", "")

	modeltest.RequireRuntime(t)
	corrupt := filepath.Join(t.TempDir(), "corrupt")
	os.MkdirAll(corrupt, 0o755)
	os.WriteFile(filepath.Join(corrupt, "manifest.json"), []byte("{"), 0o644)
	for _, args := range [][]string{{"--steps", "99"}, {"--model", corrupt}} {
		if _, err := installUnit(t, args...); err == nil {
			t.Errorf("%q accepted", args)
		} else {
			t.Logf("%q: %v", args, err)
		}
	}
	// A relative bundle path becomes absolute.
	unit, err := installUnit(t, "--model", "../../models/streaming/testdata/rt-tiny")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("../../models/streaming/testdata/rt-tiny")
	if words := execStart(t, unit); !strings.Contains(strings.Join(words, " "), "--model "+abs) {
		t.Errorf("relative --model kept: %q", words)
	}
}

// Actions are exclusive: --list --remove used to run only the first.
func TestVirtualMicActionsExclusive(t *testing.T) {
	for _, args := range [][]string{{"--list", "--remove"}, {"--install-service", "--uninstall-service"}, {"--pipewire-config", "--remove"}} {
		err := runVirtualMic(args)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "choose one") {
			t.Errorf("%q: %v", args, err)
		}
	}
}
