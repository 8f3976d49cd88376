package virtualmic

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/zoo"
	"github.com/restoregrad/restoregrad/stream/plugin"
	"github.com/restoregrad/restoregrad/stream/pulse"
)

// PluginFile is the LADSPA plugin's file name (make plugin).
const PluginFile = "librestoregrad_ladspa.so"

// ConfName is the file PipeWire.Install writes for the default microphone name.
const ConfName = "restoregrad-denoised-mic.conf"

// PipeWire is a microphone made by PipeWire's filter-chain around the LADSPA plugin: no
// process of ours keeps running. Write and Install check first what the plugin will be
// given (a shipped streaming model, steps within the Steps control's range and the model's
// schedules, a plugin that will find ONNX Runtime: without it the filter-chain loads and
// the microphone is silent).
type PipeWire struct {
	Plugin        string  // path of the LADSPA plugin ("": FindPlugin's)
	Name          string  // device description shown to apps
	Input         string  // the microphone to capture ("": the default)
	Model         string  // a shipped streaming model's name or alias
	Steps         int     // reverse steps (0: the model's default)
	AttenuationDB float64 // attenuation limit; engine.FullStrength or more is full strength
}

// Write checks p and writes its configuration to w.
func (p PipeWire) Write(w io.Writer) error {
	c, err := p.chain()
	if err != nil {
		return err
	}
	return c.write(w)
}

// Install checks p, writes its configuration into PipeWire's per-user drop-in folder (one
// file per microphone name, replaced whole) and tells w how to load it.
func (p PipeWire) Install(w io.Writer) error {
	c, err := p.chain()
	if err != nil {
		return err
	}
	dir, err := userConfigDir("pipewire", "pipewire.conf.d")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, c.confName())
	var b strings.Builder
	if err := c.write(&b); err != nil {
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
	fmt.Fprintf(w, "wrote %s\nrestart PipeWire to load it: systemctl --user restart pipewire\n", path)
	return nil
}

// chain checks p and resolves it into the plugin's controls.
func (p PipeWire) chain() (filterChain, error) {
	c := filterChain{plugin: p.Plugin, name: p.Name, input: p.Input, steps: p.Steps, atten: min(p.AttenuationDB, engine.FullStrength)}
	var err error
	if c.model, err = pluginModel(p.Model); err != nil {
		return c, err
	}
	if err := checkPluginSteps(c.model, c.steps); err != nil {
		return c, err
	}
	if c.plugin == "" {
		if c.plugin, err = FindPlugin(); err != nil {
			return c, err
		}
	} else if c.plugin, err = filepath.Abs(c.plugin); err != nil {
		return c, err
	}
	if err := checkPlugin(c.plugin); err != nil {
		return c, fmt.Errorf("--plugin: %w", err)
	}
	return c, nil
}

// filterChain is what the filter-chain configuration needs.
type filterChain struct {
	plugin string  // absolute path of the LADSPA plugin
	name   string  // device description shown to apps
	input  string  // target.object of the capture side ("": the default microphone)
	model  int     // the plugin's Model control
	steps  int     // the plugin's Steps control (0: the model's default)
	atten  float64 // the plugin's attenuation limit, dB
}

// nodeName is the source's node.name: the default microphone's, with the name's words
// added for another, so that two microphones are two nodes.
func (c filterChain) nodeName() string {
	if slug := pulse.Slug(c.name); slug != "" {
		return pulse.SourceName + "_" + slug
	}
	return pulse.SourceName
}

// confName is the file Install writes: one per microphone.
func (c filterChain) confName() string { return perName(ConfName, ".conf", c.name) }

// write writes the configuration: a capture stream from the microphone, the plugin, and
// an Audio/Source apps can pick.
func (c filterChain) write(w io.Writer) error {
	target := ""
	if c.input != "" {
		target = "\n                target.object = " + strconv.Quote(c.input)
	}
	node := c.nodeName()
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
`, c.confName(), c.name, c.name, c.name, c.plugin, c.atten, c.steps, c.model, node, target, node)
	return err
}

// FindPlugin looks for the plugin beside the executable (bin/ after make plugin), then in
// the LADSPA folders of $LADSPA_PATH, ~/.ladspa and the system.
func FindPlugin() (string, error) {
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
		p := filepath.Join(d, PluginFile)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("%s not found beside %s or in the LADSPA folders (%s): build it with `make plugin`, or give --plugin PATH",
		PluginFile, dirs[0], strings.Join(dirs[1:], ", "))
}

// pluginModel is the plugin's Model control value for a shipped streaming model.
func pluginModel(name string) (int, error) {
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

// checkPluginSteps checks a step count against the plugin's Steps control (0 to
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
	_, err = pluginRuntime(filepath.Dir(path))
	return err
}

// pluginRuntime finds the ONNX Runtime library the plugin in dir loads inside PipeWire,
// whose environment has no $ORT_LIB and whose executable's folder is not ours: the places
// of ort.PluginLibraryPath (beside the plugin, the package's private folder, the .deps of
// `make setup`, the system library folders), then the dynamic loader's cache.
func pluginRuntime(dir string) (string, error) {
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
