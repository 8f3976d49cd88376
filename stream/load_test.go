package stream

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseCPULine(t *testing.T) {
	idle, total, err := parseCPULine("cpu  100 5 50 800 45 0 0 0 0 0\n")
	if err != nil || idle != 845 || total != 1000 {
		t.Errorf("got idle %d total %d err %v, want 845 1000 nil", idle, total, err)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5", "cpu 1 2 x 4 5", "cpu 1 2"} {
		if _, _, err := parseCPULine(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestProcStatBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stat")
	write := func(line string) {
		if err := os.WriteFile(path, []byte(line+"\ncpu0 1 2 3 4 5\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := &procStat{path: path}
	write("cpu 100 0 0 900 0")
	if b, err := p.busy(); err != nil || b != 0 {
		t.Fatalf("first call: %v %v, want 0 (no interval yet)", b, err)
	}
	write("cpu 190 0 0 910 0") // 90 busy ticks of 100
	if b, err := p.busy(); err != nil || b < 0.899 || b > 0.901 {
		t.Errorf("busy %v %v, want 0.9", b, err)
	}
	if _, err := (&procStat{path: filepath.Join(t.TempDir(), "none")}).busy(); err == nil {
		t.Error("a missing file gave no error")
	}
}

// fakeMeter reports a busy fraction that the test sets.
type fakeMeter struct{ b atomic.Uint64 } // fraction × 1000

func (m *fakeMeter) busy() (float64, error) { return float64(m.b.Load()) / 1000, nil }

// The margin comes after two busy samples and goes after loadQuiet without one.
func TestWatchLoadAddsAndRemovesTheMargin(t *testing.T) {
	defer func(p, q time.Duration) { loadPeriod, loadQuiet = p, q }(loadPeriod, loadQuiet)
	loadPeriod, loadQuiet = time.Millisecond, 50*time.Millisecond
	s := &Stream{rate: 48000}
	m := &fakeMeter{}
	m.b.Store(950)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.watchLoad(ctx, m, 4800)
	wait := func(want int64) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); s.loadCushion.Load() != want; {
			if time.Now().After(end) {
				t.Fatalf("margin %d, want %d", s.loadCushion.Load(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	wait(4800)
	m.b.Store(300)
	wait(0)
}

// On a busy machine the output queue grows by the margin while it plays (2% slow: no
// gap, no dropped frame), so that a stall of the machine is covered.
func TestBusyMachineGrowsTheMargin(t *testing.T) {
	defer func(p time.Duration) { loadPeriod = p }(loadPeriod)
	loadPeriod = time.Millisecond
	m := &fakeMeter{}
	m.b.Store(1000)
	const margin = 100 * time.Millisecond
	st := runClocksWith(t, 0, 12*time.Second, margin, m)
	t.Logf("stats: %+v", st)
	if st.OutputXruns > 0 || st.DroppedFrames > 0 {
		t.Errorf("%d output underflows, %d dropped frames while growing the margin, want none", st.OutputXruns, st.DroppedFrames)
	}
	if st.BusyCushion != margin {
		t.Errorf("busy cushion %v, want %v", st.BusyCushion, margin)
	}
	// The 20 ms of an idle machine (TestFasterOutputClockKeepsTheCushion) plus the margin.
	if lo, hi := 20*time.Millisecond+margin*8/10, 20*time.Millisecond+margin+60*time.Millisecond; st.Buffered < lo || st.Buffered > hi {
		t.Errorf("buffered %v at the end, want %v to %v (the usual 20 ms and the %v margin)", st.Buffered, lo, hi, margin)
	}
}
