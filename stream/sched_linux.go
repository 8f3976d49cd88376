//go:build linux

package stream

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
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

// setScheduler sets the policy of the calling thread.
func setScheduler(policy, prio int) error { return setThreadScheduler(0, policy, prio) }

// setThreadScheduler sets the policy of thread tid (0: the calling thread).
func setThreadScheduler(tid, policy, prio int) error {
	param := struct{ prio int32 }{int32(prio)}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), uintptr(policy), uintptr(unsafe.Pointer(&param))); e != 0 {
		return e
	}
	return nil
}

// threadPolicy is the scheduling policy of thread tid (-1 if it cannot be read).
func threadPolicy(tid int) int {
	p, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0)
	if e != 0 {
		return -1
	}
	return int(p)
}

// threadPriority is the real-time priority of thread tid (-1 if it cannot be read).
func threadPriority(tid int) int {
	var param struct{ prio int32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETPARAM, uintptr(tid), uintptr(unsafe.Pointer(&param)), 0); e != 0 {
		return -1
	}
	return int(param.prio)
}

// processPriority is the SCHED_FIFO priority RealtimeProcess gives the process's other
// threads: the lowest, below the worker and the audio side.
const processPriority = 1

// RealtimeProcess gives every thread of the process that runs at normal priority
// SCHED_FIFO at processPriority, and returns a function that puts the threads at that
// priority back to normal. A thread started later inherits the policy of the thread that
// starts it, so while it holds, new threads are real-time too. It is refused exactly when
// realtimeThread is (Stats.Realtime reports that).
//
// Why the whole process: Go runs goroutines on threads of its choosing, and a goroutine
// needs one of the scheduler's Ps to run. The audio side and the worker are real-time, but
// each time one of them returns from a system call, and whenever the garbage collector
// stops the world, it waits for the Ps that goroutines on other threads hold; with every
// core busy, a normal-priority thread holding one can wait tens of milliseconds for a CPU.
// The process's other threads do little (a status line, a latency query every 250 ms, the
// runtime's own housekeeping), so at the lowest real-time priority they take almost
// nothing from the rest of the machine. For the figures, see README (hog test).
func RealtimeProcess() (restore func(), err error) {
	// Twice: a thread started, during the first pass, from one not yet changed is caught
	// by the second.
	for range 2 {
		err := eachThread(func(tid int) error {
			if threadPolicy(tid) != schedOther {
				return nil
			}
			return setThreadScheduler(tid, schedFIFO, processPriority)
		})
		if err != nil {
			return func() {}, fmt.Errorf("real-time scheduling refused for the process's threads (SCHED_FIFO %d: %v)", processPriority, err)
		}
	}
	return func() {
		_ = eachThread(func(tid int) error {
			if threadPolicy(tid) == schedFIFO && threadPriority(tid) == processPriority {
				_ = setThreadScheduler(tid, schedOther, 0)
			}
			return nil
		})
	}, nil
}

// eachThread calls f with the id of each thread of the process; the first error of f ends
// the walk. A thread that ended meanwhile (ESRCH) is no error.
func eachThread(f func(tid int) error) error {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := f(tid); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
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
