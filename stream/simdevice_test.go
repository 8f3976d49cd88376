package stream

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"
)

// simDevice is what the tests' backends without a sound server share: their audio side
// runs on its own goroutine in simulated time, captures a sine, and paces itself by the
// worker's idle reads. A device embeds it and gives start its audio side.
type simDevice struct {
	s          *Stream
	phase      float64      // of the captured sine
	idle       atomic.Int64 // times the worker found no input
	finished   chan struct{}
	stop, done chan struct{}
}

func newSimDevice() simDevice { return simDevice{finished: make(chan struct{})} }

// startAudio runs the device's audio side on its own goroutine until it returns.
func (d *simDevice) startAudio(audio func()) error {
	d.stop, d.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(d.done)
		audio()
	}()
	return nil
}

// sine fills in with the next samples of a 440 Hz sine at 0.3.
func (d *simDevice) sine(in []float32) {
	for i := range in {
		in[i] = float32(0.3 * math.Sin(d.phase))
		d.phase += 2 * math.Pi * 440 / float64(d.s.rate)
	}
}

// capture hands in to the Stream as one input callback and waits until the worker has
// processed it; false means the device is being closed.
func (d *simDevice) capture(in []float32) bool {
	d.s.capture(in, false)
	d.s.called()
	// Two idle reads after this capture: the second began after the first, which
	// followed the capture, so the input was read and processed before it.
	for c := d.idle.Load(); d.idle.Load() < c+2; {
		select {
		case <-d.stop:
			return false
		case <-time.After(100 * time.Microsecond):
		}
	}
	return true
}

func (d *simDevice) latency() (in, out time.Duration) { return 0, 0 }
func (d *simDevice) workerIdle()                      { d.idle.Add(1) }
func (d *simDevice) sim() *simDevice                  { return d }

func (d *simDevice) close() {
	if d.stop != nil {
		close(d.stop)
		<-d.done
	}
}

// simulated is a test backend built on a simDevice.
type simulated interface {
	backend
	idleWatcher
	sim() *simDevice
}

// runSim sets s up at 48 kHz on the simulated backend dev, runs p until dev's audio side
// closes finished, and returns the stats.
func runSim(t *testing.T, s *Stream, dev simulated, p Processor) Stats {
	t.Helper()
	if err := s.setup(48000); err != nil {
		t.Fatal(err)
	}
	d := dev.sim()
	d.s = s
	finished := d.finished
	s.dev = dev
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-finished
		cancel()
	}()
	if err := s.Run(ctx, p, RunOptions{Watchdog: time.Minute}); err != nil {
		t.Fatal(err)
	}
	return s.Stats()
}
