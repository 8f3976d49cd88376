package stream

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"
)

// badDevice is a backend without a sound server: its audio side captures a sine with NaN,
// ±Inf and 1e30 samples in it, a block at a time, and renders after the worker has
// processed each block, keeping what it played.
type badDevice struct {
	s          *Stream
	blocks     int
	idle       atomic.Int64
	played     []float32
	finished   chan struct{}
	stop, done chan struct{}
}

func (d *badDevice) start() error {
	d.stop, d.done = make(chan struct{}), make(chan struct{})
	go d.run()
	return nil
}

func (d *badDevice) run() {
	defer close(d.done)
	s := d.s
	in, out := make([]float32, s.block), make([]float32, s.block)
	phase := 0.0
	for b := 0; b < d.blocks; b++ {
		for i := range in {
			in[i] = float32(0.3 * math.Sin(phase))
			phase += 2 * math.Pi * 440 / float64(s.rate)
		}
		if b >= 10 && b < 14 {
			in[7] = [...]float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30}[b-10]
		}
		s.capture(in, false)
		s.called()
		for c := d.idle.Load(); d.idle.Load() < c+2; {
			select {
			case <-d.stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
		s.render(out)
		d.played = append(d.played, out...)
	}
	close(d.finished)
}

func (d *badDevice) latency() (in, out time.Duration) { return 0, 0 }
func (d *badDevice) workerIdle()                      { d.idle.Add(1) }

func (d *badDevice) close() {
	if d.stop != nil {
		close(d.stop)
		<-d.done
	}
}

// Defect 12: a NaN or infinite input sample used to poison the resamplers' state, and the
// output stayed NaN from then on. It is processed as 0 or ±1 and counted.
func TestNonFiniteInputIsSanitised(t *testing.T) {
	s := &Stream{cfg: Config{Block: 10 * time.Millisecond, Cushion: 10 * time.Millisecond, MaxBacklog: 200 * time.Millisecond}}
	if err := s.setup(48000); err != nil {
		t.Fatal(err)
	}
	dev := &badDevice{s: s, blocks: 100, finished: make(chan struct{})}
	s.dev = dev
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-dev.finished
		cancel()
	}()
	if err := s.Run(ctx, hop16{}, RunOptions{Watchdog: time.Minute}); err != nil {
		t.Fatal(err)
	}
	<-dev.done
	var loud int
	for i, v := range dev.played {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 2 {
			t.Fatalf("played sample %d = %v", i, v)
		}
		if i > len(dev.played)/2 && math.Abs(float64(v)) > 0.2 {
			loud++
		}
	}
	if loud == 0 {
		t.Error("the sine did not come through after the bad samples")
	}
	if st := s.Stats(); st.ReplacedSamples != 4 {
		t.Errorf("ReplacedSamples = %d, want 4", st.ReplacedSamples)
	}
}
