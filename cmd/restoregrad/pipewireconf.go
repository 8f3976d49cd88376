package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"github.com/restoregrad/restoregrad/models/ort"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models/zoo"
	"github.com/restoregrad/restoregrad/stream/plugin"
	"github.com/restoregrad/restoregrad/stream/pulse"
)

// pluginFile is the LADSPA plugin's file name (make plugin).
const pluginFile = "librestoregrad_ladspa.so"

// pipewireConfName is the file --install-pipewire-config writes for the default --name.
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

// nodeName is the source's node.name: the default microphone's, with --name's words
// added for another, so that two microphones are two nodes.
func (m pipewireMic) nodeName() string {
	if slug := pulse.Slug(m.name); slug != "" {
		return pulse.SourceName + "_" + slug
	}
	return pulse.SourceName
}

// confName is the file --install-pipewire-config writes: one per microphone.
func (m pipewireMic) confName() string {
	if slug := pulse.Slug(m.name); slug != "" {
		return strings.TrimSuffix(pipewireConfName, ".conf") + "-" + strings.ReplaceAll(slug, "_", "-") + ".conf"
	}
	return pipewireConfName
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
	name = zoo.Resolve(name)
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
	node := m.nodeName()
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
                node.name      = "capture.%s"
                node.passive   = true
                audio.position = [ MONO ]%s
            }
            playback.props = {
                node.name      = "%s"
                media.class    = Audio/Source
                audio.position = [ MONO ]
            }
        }
    }
]
`, m.confName(), m.name, m.name, m.name, m.plugin, m.atten, m.steps, m.model, node, target, node)
	return err
}

// pipewireConfDir is PipeWire's per-user drop-in folder.
func pipewireConfDir() (string, error) { return userConfigDir("pipewire", "pipewire.conf.d") }

// pipewireConfig prints the configuration, or installs it into PipeWire's drop-in folder,
// after checking what the plugin will be given: a shipped streaming model, steps within
// the Steps port's range and the model's schedules, and a LADSPA plugin that will find
// ONNX Runtime (without it PipeWire's filter-chain loads and the microphone is silent).
func pipewireConfig(o liveOptions, name, pluginPath string, install bool) error {
	if isPassthrough(o.model) {
		return errors.New("--pipewire-config runs the plugin, which has no passthrough model")
	}
	m := pipewireMic{plugin: pluginPath, name: name, input: o.input, steps: o.steps, atten: min(o.attenuation.dB(), engine.FullStrength)}
	var err error
	if m.model, err = pluginModelIndex(o.model); err != nil {
		return err
	}
	if err := checkPluginSteps(m.model, m.steps); err != nil {
		return err
	}
	if m.plugin == "" {
		if m.plugin, err = findPlugin(); err != nil {
			return err
		}
	} else if m.plugin, err = filepath.Abs(m.plugin); err != nil {
		return err
	}
	if err := checkPlugin(m.plugin); err != nil {
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
	path := filepath.Join(dir, m.confName())
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

// checkPluginSteps checks a step count against the plugin's Steps port (0 to
// plugin.MaxSteps) and the model's schedules.
func checkPluginSteps(model, steps int) error {
	if steps < 0 || steps > plugin.MaxSteps {
		return fmt.Errorf("--steps %d: the plugin's Steps control takes 0 (the model's default) to %d", steps, plugin.MaxSteps)
	}
	bs, err := plugin.Models()
	if err != nil {
		return err
	}
	if _, err := bs[model].Manifest.ResolveSteps(steps); err != nil {
		return fmt.Errorf("--steps %d: %w", steps, err)
	}
	return nil
}

// checkPlugin checks that path is a LADSPA plugin (a shared library with
// ladspa_descriptor) that will find ONNX Runtime when PipeWire loads it.
func checkPlugin(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not a LADSPA plugin: %w", path, err)
	}
	defer f.Close()
	syms, _ := f.DynamicSymbols()
	if f.Type != elf.ET_DYN || !slices.ContainsFunc(syms, func(s elf.Symbol) bool { return s.Name == "ladspa_descriptor" }) {
		return fmt.Errorf("%s is not a LADSPA plugin (no ladspa_descriptor)", path)
	}
	if _, err := pluginRuntime(filepath.Dir(path)); err != nil {
		return err
	}
	return nil
}

// pluginRuntime finds the ONNX Runtime library the plugin in dir loads inside PipeWire,
// whose environment has no $ORT_LIB and whose executable's folder is not ours: the
// places of models/ort.LibraryPath that are left (beside the plugin, the .deps of `make
// setup` beside it or one level up, the system library folders, the dynamic loader's
// cache).
func pluginRuntime(dir string) (string, error) {
	// The plugin's own search (models/ort): beside it, the package's private folder,
	// `make setup`'s, the system's; a bare name when none has it.
	p, err := ort.PluginLibraryPath(dir)
	if err != nil {
		return "", err
	}
	if filepath.IsAbs(p) {
		return p, nil
	}
	if out, err := exec.Command("/sbin/ldconfig", "-p").Output(); err == nil && strings.Contains(string(out), p+" ") {
		return p, nil
	}
	return "", fmt.Errorf("the plugin would not find ONNX Runtime inside PipeWire, and the microphone would be silent: copy libonnxruntime.so.1 beside it, into %s", dir)
}
