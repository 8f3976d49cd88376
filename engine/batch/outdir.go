package batch

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
)

// outputDirs holds a shared flock on every folder this process writes outputs into. A
// writer's temporary file (.NAME.tmp-N, see dsp/wav) left by a killed run is removed by the
// next run, but only when no other running process holds the folder: its temporary files
// may still be in the making. The kernel drops a killed process's locks.
type outputDirs struct {
	mu   sync.Mutex
	held map[string]*os.File
}

var tempSuffix = regexp.MustCompile(`\.tmp-[0-9]+$`)

// claim locks dir (once per process) and removes stale temporary files of the output
// named base in it. Errors only mean nothing is cleaned.
func (d *outputDirs) claim(dir, base string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.held[dir]
	if f == nil {
		var err error
		if f, err = os.Open(dir); err != nil {
			return
		}
		if d.held == nil {
			d.held = map[string]*os.File{}
		}
		d.held[dir] = f
	}
	fd := int(f.Fd())
	// Exclusive only while cleaning, and only if nobody else holds the folder.
	if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		matches, _ := filepath.Glob(filepath.Join(dir, "."+globEscape(base)+".tmp-*"))
		for _, m := range matches {
			if tempSuffix.MatchString(m) {
				os.Remove(m)
			}
		}
	}
	syscall.Flock(fd, syscall.LOCK_SH)
}

func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`).Replace(s)
}

// release drops the locks.
func (d *outputDirs) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for dir, f := range d.held {
		f.Close()
		delete(d.held, dir)
	}
}
