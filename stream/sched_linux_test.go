package stream

import (
	"runtime"
	"testing"
)

// threads lists the process's threads by policy and real-time priority.
func threads(t *testing.T) (other, atProcess int) {
	t.Helper()
	err := eachThread(func(tid int) error {
		switch p := threadPolicy(tid); {
		case p == schedOther:
			other++
		case p == schedFIFO && threadPriority(tid) == processPriority:
			atProcess++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return other, atProcess
}

func TestRealtimeProcess(t *testing.T) {
	// A goroutine locked to its thread keeps one more thread alive through the test.
	locked, release := make(chan struct{}), make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		close(locked)
		<-release
	}()
	<-locked
	defer close(release)
	if other, _ := threads(t); other < 2 {
		t.Fatalf("%d threads at normal priority before; want several", other)
	}
	restore, err := RealtimeProcess()
	if err != nil {
		restore()
		t.Skipf("no real-time scheduling here: %v", err)
	}
	other, atProcess := threads(t)
	restore()
	if other != 0 || atProcess < 2 {
		t.Errorf("after RealtimeProcess: %d threads at normal priority, %d at SCHED_FIFO %d; want 0 and all", other, atProcess, processPriority)
	}
	if other, atProcess := threads(t); other < 2 || atProcess != 0 {
		t.Errorf("after restore: %d threads at normal priority, %d at SCHED_FIFO %d; want all and 0", other, atProcess, processPriority)
	}
}
