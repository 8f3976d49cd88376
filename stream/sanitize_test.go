package stream

import (
	"math"
	"testing"
	"time"
)

// badDevice is a backend without a sound server: its audio side captures a sine with NaN,
// ±Inf and 1e30 samples in it, a block at a time, and renders after the worker has
// processed each block, keeping what it played.
type badDevice struct {
	simDevice
	blocks int
	played []float32
}

func (d *badDevice) start() error { return d.startAudio(d.run) }

func (d *badDevice) run() {
	in, out := make([]float32, d.s.block), make([]float32, d.s.block)
	for b := 0; b < d.blocks; b++ {
		d.sine(in)
		if b >= 10 && b < 14 {
			in[7] = [...]float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30}[b-10]
		}
		if !d.capture(in) {
			return
		}
		d.s.render(out)
		d.played = append(d.played, out...)
	}
	close(d.finished)
}

// Defect 12: a NaN or infinite input sample used to poison the resamplers' state, and the
// output stayed NaN from then on. It is processed as 0 or ±1 and counted.
func TestNonFiniteInputIsSanitised(t *testing.T) {
	s := &Stream{cfg: Config{Block: 10 * time.Millisecond, Cushion: 10 * time.Millisecond, MaxBacklog: 200 * time.Millisecond}}
	dev := &badDevice{simDevice: newSimDevice(), blocks: 100}
	st := runSim(t, s, dev, hop16{})
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
	if st.ReplacedSamples != 4 {
		t.Errorf("ReplacedSamples = %d, want 4", st.ReplacedSamples)
	}
}
