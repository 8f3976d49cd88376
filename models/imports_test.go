package models_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models"
)

// What Frames returns goes straight into engine.NewRealtime, and back: engine.FrameProcessor
// is models.FrameProcessor.
var (
	_ engine.FrameProcessor = models.FrameProcessor(nil)
	_ models.FrameProcessor = engine.FrameProcessor(nil)
)

// module is the import path of this repository's module.
const module = "github.com/restoregrad/restoregrad"

// above are the layers over the runtime: no package under models may import them, directly
// or through another package.
var above = []string{"engine", "stream", "cmd"}

// The runtime imports nothing above it: no package under models/ depends (directly or
// through other packages, test files aside) on engine, stream or cmd. `go list -deps` reads
// the graph, so the check sees what the compiler sees.
func TestModelsImportNothingAbove(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goTool, "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/models/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkgs++
		for _, dep := range fields[1:] {
			if bad := layerAbove(dep); bad != "" {
				t.Errorf("%s imports %s (%s is above the runtime)", fields[0], dep, bad)
			}
		}
	}
	if pkgs < 5 {
		t.Fatalf("go list named %d packages under models/; want the runtime's packages:\n%s", pkgs, out)
	}
}

// layerAbove names the layer above models that package path belongs to, or "".
func layerAbove(path string) string {
	rest, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return ""
	}
	for _, l := range above {
		if rest == l || strings.HasPrefix(rest, l+"/") {
			return l
		}
	}
	return ""
}

// The check itself: it names engine, stream and cmd packages and nothing else.
func TestLayerAbove(t *testing.T) {
	for path, want := range map[string]string{
		module + "/engine":         "engine",
		module + "/engine/wavfile": "engine",
		module + "/stream/plugin":  "stream",
		module + "/cmd/ladspa":     "cmd",
		module + "/models/sampler": "",
		module + "/engineering":    "",
		module + "/dsp/wav":        "",
		"fmt":                      "",
	} {
		if got := layerAbove(path); got != want {
			t.Errorf("layerAbove(%s) = %q, want %q", path, got, want)
		}
	}
}
