package virtualmic

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/models/zoo"
	"github.com/restoregrad/restoregrad/stream/pulse"
)

func TestPipewireConf(t *testing.T) {
	var b strings.Builder
	c := filterChain{plugin: "/opt/ladspa/librestoregrad_ladspa.so", name: "Clean Mic", input: "alsa_input.usb", steps: 3, atten: 18}
	if err := c.write(&b); err != nil {
		t.Fatal(err)
	}
	conf := b.String()
	for _, want := range []string{
		"libpipewire-module-filter-chain", `plugin  = "/opt/ladspa/librestoregrad_ladspa.so"`, "label   = restoregrad_mono",
		`"Attenuation limit (dB)" = 18`, `"Steps" = 3`, `"Model" = 0`, `node.description = "Clean Mic"`,
		`target.object = "alsa_input.usb"`, "media.class    = Audio/Source",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %s:\n%s", want, conf)
		}
	}
	// PipeWire 1.4 needs the position on the graph and on both streams.
	if n := strings.Count(conf, "audio.position = [ MONO ]"); n != 3 {
		t.Errorf("audio.position = [ MONO ] appears %d times, want 3:\n%s", n, conf)
	}
}

// stubPlugin builds a shared library with a ladspa_descriptor into a new folder (with
// ONNX Runtime beside it when withRuntime) and returns its path.
func stubPlugin(t *testing.T, withRuntime bool) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	dir := t.TempDir()
	so := filepath.Join(dir, PluginFile)
	cmd := exec.Command("gcc", "-shared", "-fPIC", "-o", so, "-x", "c", "-")
	cmd.Stdin = strings.NewReader("void *ladspa_descriptor(unsigned long i) { return 0; }\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	if withRuntime {
		if err := os.WriteFile(filepath.Join(dir, "libonnxruntime.so.1"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return so
}

func TestPipewireConfigInstall(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	plugin := stubPlugin(t, true)
	if err := (PipeWire{Plugin: plugin, Name: pulse.DefaultDescription, Model: zoo.DefaultStreaming, AttenuationDB: 24}).Install(io.Discard); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "pipewire", "pipewire.conf.d", ConfName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"Attenuation limit (dB)" = 24`) || !strings.Contains(string(data), plugin) {
		t.Errorf("installed config:\n%s", data)
	}
	if err := (PipeWire{Plugin: plugin, Name: "x", Model: zoo.DefaultOffline}).Write(io.Discard); err == nil {
		t.Error("an offline model was accepted for the plugin")
	}
	if err := (PipeWire{Plugin: filepath.Join(dir, "missing.so"), Name: "x", Model: zoo.DefaultStreaming}).Write(io.Discard); err == nil {
		t.Error("a missing plugin file was accepted")
	}
}

// What the plugin cannot do is refused (issue 24, item 7): steps beyond the Steps port,
// a file that is no LADSPA plugin, a plugin that would not find ONNX Runtime inside
// PipeWire (the microphone would be silent). A limit above 100 dB is full strength, 100.
func TestPipewireConfigChecksThePlugin(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	good := stubPlugin(t, true)
	for _, steps := range []int{-1, 9, 99} {
		if err := (PipeWire{Plugin: good, Name: "x", Model: zoo.DefaultStreaming, Steps: steps}).Write(io.Discard); err == nil || !strings.Contains(err.Error(), "--steps") {
			t.Errorf("--steps %d: %v", steps, err)
		}
	}
	var b strings.Builder
	if err := (PipeWire{Plugin: good, Name: "x", Model: zoo.DefaultStreaming, AttenuationDB: 300}).Write(&b); err != nil || !strings.Contains(b.String(), `"Attenuation limit (dB)" = 100`) {
		t.Errorf("a 300 dB limit: %v\n%s", err, b.String())
	}
	notPlugin := filepath.Join(t.TempDir(), PluginFile)
	os.WriteFile(notPlugin, []byte("not really a plugin"), 0o644)
	os.WriteFile(filepath.Join(filepath.Dir(notPlugin), "libonnxruntime.so.1"), nil, 0o644)
	if err := (PipeWire{Plugin: notPlugin, Name: "x", Model: zoo.DefaultStreaming}).Install(io.Discard); err == nil || !strings.Contains(err.Error(), "not a LADSPA plugin") {
		t.Errorf("a file that is not a plugin: %v", err)
	}
	if _, err := pluginRuntime(t.TempDir()); err == nil {
		t.Skip("a system ONNX Runtime would be found: cannot test a plugin without one")
	}
	err := (PipeWire{Plugin: stubPlugin(t, false), Name: "x", Model: zoo.DefaultStreaming}).Install(io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ONNX Runtime") {
		t.Errorf("a plugin without ONNX Runtime: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "pipewire", "pipewire.conf.d"))
	if len(entries) != 0 {
		t.Errorf("a refused config was written: %v", entries)
	}
}

// Two microphones with --name are two nodes in two files (issue 24, item 8: both got
// node.name restoregrad_denoised_mic); the default name keeps the names it always had.
func TestPipewireConfigNamesPerMicrophone(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{pulse.DefaultDescription, "Other Mic", "other mic!", "Микрофон", "Микрофон 2"} {
		c := filterChain{plugin: "/p.so", name: name}
		var b strings.Builder
		if err := c.write(&b); err != nil {
			t.Fatal(err)
		}
		node := c.nodeName()
		if !strings.Contains(b.String(), `node.name      = "`+node+`"`) || !strings.Contains(b.String(), `node.name      = "capture.`+node+`"`) {
			t.Errorf("%q: node %q not in the config:\n%s", name, node, b.String())
		}
		if strings.Trim(node, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("%q: node name %q", name, node)
		}
		if prev, ok := seen[node]; ok && !strings.EqualFold(strings.Trim(prev, "!"), strings.Trim(name, "!")) {
			t.Errorf("%q and %q share node.name %q", prev, name, node)
		}
		seen[node] = name
		t.Logf("%q: node %s, file %s", name, node, c.confName())
	}
	if c := (filterChain{name: pulse.DefaultDescription}); c.nodeName() != "restoregrad_denoised_mic" || c.confName() != ConfName {
		t.Errorf("default: %s %s", c.nodeName(), c.confName())
	}
	if a, b := (filterChain{name: "Other Mic"}), (filterChain{name: pulse.DefaultDescription}); a.confName() == b.confName() {
		t.Errorf("one file for both: %s", a.confName())
	}
}
