package ort

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func touch(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A libonnxruntime.so.1 in the working directory or any of its parents must never be
// chosen: it would be dlopen'ed with the user's rights (issue 15, item 6).
func TestLibraryPathIgnoresWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	planted := []string{
		touch(t, filepath.Join(dir, "libonnxruntime.so.1")),
		touch(t, filepath.Join(dir, "libonnxruntime.so")),
		touch(t, filepath.Join(dir, relLibrary)),
	}
	work := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, wd := range []string{dir, work} {
		t.Chdir(wd)
		t.Setenv(EnvLibrary, "")
		p, err := LibraryPath()
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range planted {
			if p == bad || strings.HasPrefix(p, dir) {
				t.Fatalf("working directory %s: LibraryPath chose the planted %s", wd, p)
			}
		}
		if !strings.ContainsRune(p, '/') && p != libraryNames[0] {
			t.Fatalf("bare name %q, want %q for the dynamic loader", p, libraryNames[0])
		}
	}
}

func TestLibrarySearchOrder(t *testing.T) {
	dir := t.TempDir()
	exeDir := filepath.Join(dir, "repo", "bin")
	plugDir := filepath.Join(dir, "plugins")
	sys := filepath.Join(dir, "usr", "lib")
	if err := os.MkdirAll(exeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	envLib := touch(t, filepath.Join(dir, "env", "libonnxruntime.so.1"))
	s := librarySearch{dirs: []string{plugDir, exeDir}, system: []string{sys}}

	// Nothing anywhere: the loader's search by name.
	if p, err := s.find(); err != nil || p != "libonnxruntime.so.1" {
		t.Fatalf("nothing installed: %q, %v", p, err)
	}
	sysLib := touch(t, filepath.Join(sys, "libonnxruntime.so"))
	check := func(what, want string) {
		t.Helper()
		if p, err := s.find(); err != nil || p != want {
			t.Fatalf("%s: got %q (%v), want %q", what, p, err, want)
		}
	}
	check("system folder", sysLib)
	// make setup's copy in the repository above bin/ comes before the system's.
	setup := touch(t, filepath.Join(dir, "repo", relLibrary))
	check("set-up copy above bin/", setup)
	exeLib := touch(t, filepath.Join(exeDir, "libonnxruntime.so.1"))
	check("beside the executable", exeLib)
	plugLib := touch(t, filepath.Join(plugDir, "libonnxruntime.so.1"))
	check("beside the plugin", plugLib)
	s.env = envLib
	check("ORT_LIB", envLib)
	s.env = filepath.Join(dir, "missing.so")
	if _, err := s.find(); err == nil || !strings.Contains(err.Error(), EnvLibrary) {
		t.Fatalf("ORT_LIB naming a missing file: %v", err)
	}
}

func TestSetPluginDir(t *testing.T) {
	dir := t.TempDir()
	lib := touch(t, filepath.Join(dir, "libonnxruntime.so.1"))
	t.Setenv(EnvLibrary, "")
	SetPluginDir(dir)
	defer SetPluginDir("")
	if p, err := LibraryPath(); err != nil || p != lib {
		t.Fatalf("LibraryPath with a plugin folder: %q, %v; want %q", p, err, lib)
	}
}
