package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/zoo"
)

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
