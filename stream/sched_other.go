//go:build !linux

package stream

import (
	"errors"
	"runtime"
	"time"
)

func realtimeThread(prio int) (string, func(), error) {
	runtime.LockOSThread()
	return "normal priority", runtime.UnlockOSThread, errors.New("real-time scheduling is only requested on Linux")
}

func sleep(d time.Duration) { time.Sleep(d) }

// RealtimeProcess is refused: real-time scheduling is only requested on Linux.
func RealtimeProcess() (func(), error) {
	return func() {}, errors.New("real-time scheduling is only requested on Linux")
}
