package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A temporary output left by a killed enhance (issue 15, item 7) is removed by the next
// run that writes the same output, but not while another process holds the folder.
func TestEnhanceRemovesStaleTemporaryFiles(t *testing.T) {
	model, dir, in := toyInput(t, "in.wav", 16000, 1, 8000)
	outDir := filepath.Join(dir, "out")
	os.MkdirAll(outDir, 0o755)
	stale := filepath.Join(outDir, ".clean.wav.tmp-123456")
	other := filepath.Join(outDir, ".notes.txt.tmp-1") // not an output of this run: kept
	for _, f := range []string{stale, other} {
		if err := os.WriteFile(f, []byte("half a file"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// While another process holds the folder, its temporary files are left alone.
	held, err := os.Open(outDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(outDir, "clean.wav")
	if err := runEnhance([]string{in, "-o", out, "--model", model, "--quiet"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("removed a temporary file of a running process: %v", err)
	}
	held.Close() // that process is gone
	if err := runEnhance([]string{in, "-o", out, "--model", model, "--quiet"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale %s still there (%v)", stale, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("removed %s, which this run does not write: %v", other, err)
	}
}

// A nested output under a read-only folder reports why it cannot be created, not the
// "no such file or directory" of the file open that followed.
func TestEnhanceReadOnlyOutputFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores permission bits: use a path under a regular file instead.
		model, dir, in := toyInput(t, "in.wav", 16000, 1, 1600)
		blocker := filepath.Join(dir, "file")
		os.WriteFile(blocker, nil, 0o644)
		err := runEnhance([]string{in, "-o", filepath.Join(blocker, "sub", "out.wav"), "--model", model, "--quiet"})
		if err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("want the MkdirAll error (not a directory), got %v", err)
		}
		return
	}
	model, dir, in := toyInput(t, "in.wav", 16000, 1, 1600)
	ro := filepath.Join(dir, "ro")
	os.MkdirAll(ro, 0o555)
	err := runEnhance([]string{in, "-o", filepath.Join(ro, "a", "b", "out.wav"), "--model", model, "--quiet"})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("want permission denied from creating the folder, got %v", err)
	}
}
