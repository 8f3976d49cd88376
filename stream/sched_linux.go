//go:build linux

package stream

import (
	"fmt"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

const (
	schedOther   = 0
	schedFIFO    = 1
	rlimitRTPrio = 14 // RLIMIT_RTPRIO
)

// realtimeThread locks the calling goroutine to its thread and asks the kernel to run
// that thread with SCHED_FIFO at prio, as JACK and PipeWire clients do: a CPU hog at
// normal priority then cannot delay it. Without CAP_SYS_NICE the kernel allows up to
// RLIMIT_RTPRIO (e.g. 95 for the "audio" group of limits.conf), so the priority is
// lowered to that; where it is 0 the request is refused. It returns what it got, and an
// error that says why not; either way the goroutine stays locked until undo, which
// restores normal scheduling.
func realtimeThread(prio int) (got string, undo func(), err error) {
	runtime.LockOSThread()
	undo = func() {
		setScheduler(schedOther, 0)
		runtime.UnlockOSThread()
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(rlimitRTPrio, &lim) == nil && lim.Cur != ^uint64(0) && lim.Cur > 0 && uint64(prio) > lim.Cur {
		prio = int(lim.Cur)
	}
	if err := setScheduler(schedFIFO, prio); err != nil {
		return "normal priority", undo, fmt.Errorf("real-time scheduling refused (SCHED_FIFO %d: %v; raise RLIMIT_RTPRIO, e.g. the audio group in /etc/security/limits.d)", prio, err)
	}
	return fmt.Sprintf("SCHED_FIFO %d", prio), undo, nil
}

// setScheduler sets the policy of the calling thread (pid 0 is the caller's thread).
func setScheduler(policy, prio int) error {
	param := struct{ prio int32 }{int32(prio)}
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, uintptr(policy), uintptr(unsafe.Pointer(&param)))
	if e != 0 {
		return e
	}
	return nil
}

// sleep blocks the calling thread in the kernel for d. The worker uses it instead of
// time.Sleep: a goroutine locked to a real-time thread is woken from time.Sleep by the Go
// scheduler, on whatever normal-priority thread runs the timers, which a CPU hog delays;
// the kernel wakes a real-time thread on time.
func sleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	syscall.Nanosleep(&ts, nil)
}
