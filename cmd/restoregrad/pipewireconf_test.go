package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/models/zoo"
)

func TestPipewireConf(t *testing.T) {
	var b strings.Builder
	m := pipewireMic{plugin: "/opt/ladspa/librestoregrad_ladspa.so", name: "Clean Mic", input: "alsa_input.usb", steps: 3, atten: 18}
	if err := writePipewireConf(&b, m); err != nil {
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

func TestPipewireConfigInstall(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	plugin := filepath.Join(dir, pluginFile)
	if err := os.WriteFile(plugin, []byte("not really a plugin"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := liveOptions{model: defaultLiveModel}
	if err := o.attenuation.Set("24"); err != nil {
		t.Fatal(err)
	}
	if err := pipewireConfig(o, "RestoreGrad Denoised Microphone", plugin, true); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "pipewire", "pipewire.conf.d", pipewireConfName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"Attenuation limit (dB)" = 24`) || !strings.Contains(string(data), plugin) {
		t.Errorf("installed config:\n%s", data)
	}
	if err := pipewireConfig(liveOptions{model: zoo.DefaultOffline}, "x", plugin, false); err == nil {
		t.Error("an offline model was accepted for the plugin")
	}
	if err := pipewireConfig(liveOptions{model: defaultLiveModel}, "x", filepath.Join(dir, "missing.so"), false); err == nil {
		t.Error("a missing plugin file was accepted")
	}
}

func TestAttenuationFlag(t *testing.T) {
	var a attenuationLimit
	if a.dB() != 100 || a.String() != "100" {
		t.Errorf("unset: %v %q", a.dB(), a.String())
	}
	for _, bad := range []string{"-1", "NaN", "loud"} {
		if err := a.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := a.Set("6"); err != nil || a.dB() != 6 {
		t.Errorf("6: %v %v", a.dB(), err)
	}
}
