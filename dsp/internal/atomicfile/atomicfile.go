// Package atomicfile writes a file that appears under its final name only when it is
// complete: the bytes go to a temporary file beside it, which Commit syncs and renames.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// A File is an *os.File being written under a temporary name, .NAME.tmp-N in name's
// folder (cmd/restoregrad's outdir.go removes those a killed run left).
type File struct {
	*os.File
	name, tmp string
	done      bool
	err       error
}

// Create creates the temporary file for name.
func Create(name string) (*File, error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &File{File: f, name: name, tmp: f.Name()}, nil
}

// Commit makes the file readable (0644), syncs and closes it and renames it to its final
// name; on failure it removes it. A second call returns the first's result, and Commit
// after Abort does nothing.
func (f *File) Commit() error {
	if f.done {
		return f.err
	}
	f.done = true
	if f.err = f.finish(); f.err != nil {
		f.File.Close()
		os.Remove(f.tmp)
	}
	return f.err
}

func (f *File) finish() error {
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.File.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.tmp, f.name); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	// Make the rename durable; not every platform can sync a directory.
	if d, err := os.Open(filepath.Dir(f.name)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Abort closes and removes the temporary file; it does nothing after Commit or Abort.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.tmp)
}
