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

// The Debian package keeps the library in /usr/lib/restoregrad: a plugin in
// PREFIX/lib/ladspa finds it in PREFIX/lib/restoregrad, after its own folder and before
// `make setup`'s copy and the system folders.
func TestPackagePrivateFolder(t *testing.T) {
	dir := t.TempDir()
	plugDir := filepath.Join(dir, "usr", "lib", "ladspa")
	if err := os.MkdirAll(plugDir, 0o755); err != nil {
		t.Fatal(err)
	}
	private := touch(t, filepath.Join(dir, "usr", "lib", "restoregrad", "libonnxruntime.so.1"))
	t.Setenv(EnvLibrary, "")
	SetPluginDir(plugDir)
	defer SetPluginDir("")
	if p, err := LibraryPath(); err != nil || p != private {
		t.Fatalf("plugin in %s: %q, %v; want %q", plugDir, p, err, private)
	}
	beside := touch(t, filepath.Join(plugDir, "libonnxruntime.so.1"))
	if p, err := LibraryPath(); err != nil || p != beside {
		t.Fatalf("a library beside the plugin comes first: %q, %v; want %q", p, err, beside)
	}

	exeBin := filepath.Join(dir, "opt", "bin")
	exePrivate := touch(t, filepath.Join(dir, "opt", "lib", "restoregrad", "libonnxruntime.so.1"))
	setup := touch(t, filepath.Join(dir, "opt", relLibrary))
	s := librarySearch{dirs: []string{exeBin}, private: []string{filepath.Join(dir, "opt", "lib", "restoregrad")}}
	if p, err := s.find(); err != nil || p != exePrivate {
		t.Fatalf("private folder before make setup's copy (%s): %q, %v; want %q", setup, p, err, exePrivate)
	}
}

func TestPluginLibraryPath(t *testing.T) {
	dir := t.TempDir()
	plugDir := filepath.Join(dir, "usr", "lib", "ladspa")
	t.Setenv(EnvLibrary, filepath.Join(dir, "ignored.so")) // a host's environment has none
	if p, err := PluginLibraryPath(plugDir); err != nil || strings.HasPrefix(p, dir) {
		t.Fatalf("nothing beside the plugin: %q, %v", p, err)
	}
	private := touch(t, filepath.Join(dir, "usr", "lib", "restoregrad", "libonnxruntime.so.1"))
	if p, err := PluginLibraryPath(plugDir); err != nil || p != private {
		t.Fatalf("package folder: %q, %v; want %q", p, err, private)
	}
}
