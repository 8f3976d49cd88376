package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/restoregrad/restoregrad/models/zoo"
	"github.com/restoregrad/restoregrad/stream/plugin"
)

// pluginFile is the LADSPA plugin's file name (make plugin).
const pluginFile = "librestoregrad_ladspa.so"

// pipewireConfName is the file --install-pipewire-config writes.
const pipewireConfName = "restoregrad-denoised-mic.conf"

// pipewireMic is what the filter-chain configuration needs.
type pipewireMic struct {
	plugin string  // absolute path of the LADSPA plugin
	name   string  // device description shown to apps
	input  string  // target.object of the capture side ("": the default microphone)
	model  int     // the plugin's Model control
	steps  int     // the plugin's Steps control (0: the model's default)
	atten  float64 // the plugin's attenuation limit, dB
}

// findPlugin looks for the plugin beside the executable (bin/ after make plugin), then in
// the LADSPA folders of $LADSPA_PATH, ~/.ladspa and the system.
func findPlugin() (string, error) {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Dir(exe))
	}
	dirs = append(dirs, filepath.SplitList(os.Getenv("LADSPA_PATH"))...)
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".ladspa"))
	}
	dirs = append(dirs, "/usr/local/lib/ladspa", "/usr/lib/ladspa", "/usr/lib/x86_64-linux-gnu/ladspa")
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, pluginFile)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("%s not found beside %s or in the LADSPA folders (%s): build it with `make plugin`, or give --plugin PATH",
		pluginFile, dirs[0], strings.Join(dirs[1:], ", "))
}

// pluginModelIndex is the plugin's Model control value for a shipped streaming model.
func pluginModelIndex(name string) (int, error) {
	bs, err := plugin.Models()
	if err != nil {
		return 0, err
	}
	if name == defaultLiveModel {
		name = zoo.DefaultStreaming
	}
	var names []string
	for i, b := range bs {
		if b.Manifest.Name == name {
			return i, nil
		}
		names = append(names, b.Manifest.Name)
	}
	return 0, fmt.Errorf("model %q: the plugin runs the shipped streaming models only (%s)", name, strings.Join(names, ", "))
}

// writePipewireConf writes a filter-chain configuration: a capture stream from the
// microphone, the plugin, and an Audio/Source apps can pick.
func writePipewireConf(w io.Writer, m pipewireMic) error {
	target := ""
	if m.input != "" {
		target = "\n                target.object = " + strconv.Quote(m.input)
	}
	_, err := fmt.Fprintf(w, `# RestoreGrad denoised microphone: PipeWire filter-chain with the LADSPA plugin.
# Written by: restoregrad virtual-mic --pipewire-config
# Use: save as ~/.config/pipewire/pipewire.conf.d/%s (or run
#   restoregrad virtual-mic --install-pipewire-config), then
#   systemctl --user restart pipewire
# and pick %q as the microphone in your apps.
# "Attenuation limit (dB)": 100 = full strength, 0 = no denoising; 12-24 keeps some ambience.
context.modules = [
    {   name = libpipewire-module-filter-chain
        args = {
            node.description = %q
            media.name       = %q
            filter.graph = {
                nodes = [
                    {
                        type    = ladspa
                        name    = restoregrad
                        plugin  = %q
                        label   = restoregrad_mono
                        control = {
                            "Attenuation limit (dB)" = %g
                            "Steps" = %d
                            "Model" = %d
                        }
                    }
                ]
            }
            audio.channels = 1
            audio.position = [ MONO ]
            capture.props = {
                node.name      = "capture.restoregrad_denoised_mic"
                node.passive   = true
                audio.position = [ MONO ]%s
            }
            playback.props = {
                node.name      = "restoregrad_denoised_mic"
                media.class    = Audio/Source
                audio.position = [ MONO ]
            }
        }
    }
]
`, pipewireConfName, m.name, m.name, m.name, m.plugin, m.atten, m.steps, m.model, target)
	return err
}

// pipewireConfDir is PipeWire's per-user drop-in folder.
func pipewireConfDir() (string, error) { return userConfigDir("pipewire", "pipewire.conf.d") }

// pipewireConfig prints the configuration, or installs it into PipeWire's drop-in folder.
func pipewireConfig(o liveOptions, name, pluginPath string, install bool) error {
	if isPassthrough(o.model) {
		return errors.New("--pipewire-config runs the plugin, which has no passthrough model")
	}
	m := pipewireMic{plugin: pluginPath, name: name, input: o.input, steps: o.steps, atten: o.attenuation.dB()}
	var err error
	if m.model, err = pluginModelIndex(o.model); err != nil {
		return err
	}
	if m.plugin == "" {
		if m.plugin, err = findPlugin(); err != nil {
			return err
		}
	} else if m.plugin, err = filepath.Abs(m.plugin); err != nil {
		return err
	}
	if _, err := os.Stat(m.plugin); err != nil {
		return fmt.Errorf("--plugin: %w", err)
	}
	if !install {
		return writePipewireConf(os.Stdout, m)
	}
	dir, err := pipewireConfDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, pipewireConfName)
	var b strings.Builder
	if err := writePipewireConf(&b, m); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Printf("wrote %s\nrestart PipeWire to load it: systemctl --user restart pipewire\n", path)
	return nil
}
