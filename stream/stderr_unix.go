//go:build unix

package stream

import (
	"os"
	"sync"
	"syscall"
)

var stderrMu sync.Mutex

// redirectStderr points file descriptor 2 at /dev/null while f runs (C libraries write
// there directly), then restores it.
func redirectStderr(f func() error) error {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return f()
	}
	defer null.Close()
	saved, err := syscall.Dup(2)
	if err != nil {
		return f()
	}
	defer syscall.Close(saved)
	if err := syscall.Dup2(int(null.Fd()), 2); err != nil {
		return f()
	}
	defer syscall.Dup2(saved, 2)
	return f()
}
