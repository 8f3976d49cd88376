package stream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// When every core is busy, the sound server and the machine under it stall now and then
// for longer than the usual cushion covers: on a virtual machine with both cores busy a
// real-time thread was seen to wake up to 75 ms late and the test server to stall for about
// 130 ms, and each such stall played as an output underflow. A busy machine can therefore
// be given a larger output margin (Config.BusyCushion), filled while it plays (silence
// doubled, or up to maxFill slow) and shed again once the machine has been quiet for
// loadQuiet.
const (
	loadBusy      = 0.9 // busy fraction of all cores that counts as busy
	loadBusyTicks = 2   // consecutive busy samples before the margin is added
)

// How often the machine's load is sampled, and how long it must stay below loadBusy for
// the margin to go (variables for tests).
var (
	loadPeriod = time.Second
	loadQuiet  = 30 * time.Second
)

// busyMeter reports the fraction of the machine's CPU time that was busy since its
// previous call.
type busyMeter interface {
	busy() (float64, error)
}

// procStat reads the machine's CPU times from /proc/stat.
type procStat struct {
	path        string
	idle, total uint64
}

func (p *procStat) busy() (float64, error) {
	f, err := os.Open(p.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p.path, err)
	}
	idle, total, err := parseCPULine(line)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p.path, err)
	}
	di, dt := idle-p.idle, total-p.total
	first := p.total == 0
	p.idle, p.total = idle, total
	if first || dt == 0 {
		return 0, nil
	}
	return 1 - float64(di)/float64(dt), nil
}

// parseCPULine reads the aggregate "cpu" line of /proc/stat: the idle time (idle +
// iowait) and the total of all fields, in clock ticks.
func parseCPULine(line string) (idle, total uint64, err error) {
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, errors.New("no aggregate cpu line")
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("cpu field %d: %w", i+1, err)
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return idle, total, nil
}

// watchLoad samples m every loadPeriod until ctx ends and keeps s.loadCushion at margin
// (samples) while the machine is busy, 0 otherwise. A meter that fails is given up on
// (no margin is added).
func (s *Stream) watchLoad(ctx context.Context, m busyMeter, margin int64) {
	t := time.NewTicker(loadPeriod)
	defer t.Stop()
	busyTicks := 0
	var lastBusy time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b, err := m.busy()
		if err != nil {
			s.loadCushion.Store(0)
			return
		}
		if b >= loadBusy {
			busyTicks++
		} else {
			busyTicks = 0
		}
		now := time.Now()
		if busyTicks >= loadBusyTicks {
			lastBusy = now
			s.loadCushion.Store(margin)
		} else if s.loadCushion.Load() > 0 && now.Sub(lastBusy) > loadQuiet {
			s.loadCushion.Store(0)
		}
	}
}
