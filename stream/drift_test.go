package stream

import (
	"testing"
	"time"
)

// clockDevice is a backend without a sound server and without timing: its audio side
// captures a sine in blocks on the input's clock and renders blocks on the output's,
// which runs skew faster, as two sound cards' callbacks would, in simulated time. Before
// each output block it waits until the worker has processed all input captured so far,
// so the worker is never late: what the test sees is the clocks' difference alone.
type clockDevice struct {
	simDevice
	skew  float64       // output rate / input rate − 1
	audio time.Duration // simulated input time, after which finished is closed
}

func (d *clockDevice) start() error { return d.startAudio(d.run) }

func (d *clockDevice) run() {
	s := d.s
	in, out := make([]float32, s.block), make([]float32, s.block)
	period := float64(s.block) / float64(s.rate)
	outs := 0
	for ins := 1; ; ins++ {
		d.sine(in)
		if !d.capture(in) {
			return
		}
		now := float64(ins) * period
		for ; float64(outs+1)*period <= now*(1+d.skew); outs++ {
			if s.render(out) {
				s.outputXrun()
			}
		}
		if now >= d.audio.Seconds() && d.finished != nil {
			close(d.finished)
			d.finished = nil
		}
	}
}

// hop16 passes its input through in 16 ms frames at 16 kHz, as restoregrad-rt's hop.
type hop16 struct{}

func (hop16) SampleRate() int                 { return 16000 }
func (hop16) FrameSize() int                  { return 256 }
func (hop16) Latency() int                    { return 0 }
func (hop16) Process(out, in []float32) error { copy(out, in); return nil }

// runClocks runs a hop16 stream at 48 kHz with the default buffering for audio of
// simulated time, the output clock skew faster than the input's, and returns its stats.
func runClocks(t *testing.T, skew float64, audio time.Duration) Stats {
	t.Helper()
	return runClocksWith(t, skew, audio, 0, nil)
}

// runClocksWith is runClocks with a busy machine's margin and a load meter (nil: none set).
func runClocksWith(t *testing.T, skew float64, audio, busyCushion time.Duration, meter busyMeter) Stats {
	t.Helper()
	return runClocksFull(t, hop16{}, skew, audio, busyCushion, meter)
}

// runClocksWithProc runs p at 48 kHz on clocks that agree.
func runClocksWithProc(t *testing.T, p Processor, audio time.Duration) Stats {
	t.Helper()
	return runClocksFull(t, p, 0, audio, 0, nil)
}

func runClocksFull(t *testing.T, p Processor, skew float64, audio, busyCushion time.Duration, meter busyMeter) Stats {
	t.Helper()
	s := &Stream{cfg: Config{Block: 10 * time.Millisecond, Cushion: 10 * time.Millisecond, MaxBacklog: 200 * time.Millisecond,
		BusyCushion: busyCushion}, loadMeter: meter}
	return runSim(t, s, &clockDevice{simDevice: newSimDevice(), skew: skew, audio: audio}, p)
}

// An output clock faster than the input's drains the output queue a little every
// second; the worker must play slightly slow to keep the cushion, not let the device play
// a gap again and again (two PulseAudio null sinks about 65 ppm apart gave 1141 output
// underflows in a 10-minute soak). 0.2% is 30 times that, so that 20 s of audio would
// lose 40 ms, twice the cushion.
func TestFasterOutputClockKeepsTheCushion(t *testing.T) {
	st := runClocks(t, 0.002, 20*time.Second)
	t.Logf("stats: %+v", st)
	if st.OutputXruns > 0 || st.OutputGaps > 0 {
		t.Errorf("%d output underflows (%d samples of gaps) with an output clock 0.2%% fast, want none", st.OutputXruns, st.OutputGaps)
	}
	if st.StretchedSamples == 0 {
		t.Errorf("no output was played slow")
	}
	// Held about the cushion (20 ms: a block and Config.Cushion), so the latency does not
	// grow either.
	if st.Buffered > 45*time.Millisecond {
		t.Errorf("buffered %v at the end, want about the 20 ms cushion", st.Buffered)
	}
}

// Two streams run at once in one process, each worker telling its own backend when it is
// idle (issue 25: a package-level test hook in worker.go, which the last device set,
// stalled the other stream's device until the watchdog ended it).
func TestTwoStreamsAtOnce(t *testing.T) {
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if st := runClocks(t, 0, 3*time.Second); st.OutputXruns > 0 {
				t.Errorf("%d output underflows with equal clocks", st.OutputXruns)
			}
		})
	}
}

// A slower output clock is the shedder's case: the queue grows and is played fast (1%
// per 100 ms beyond the cushion and two blocks, 40 ms); it must stay bounded, without
// gaps or dropped frames.
func TestSlowerOutputClockShedsTheExcess(t *testing.T) {
	st := runClocks(t, -0.005, 12*time.Second)
	t.Logf("stats: %+v", st)
	if st.OutputXruns > 0 || st.DroppedFrames > 0 {
		t.Errorf("%d output underflows, %d dropped frames with an output clock 0.5%% slow, want none", st.OutputXruns, st.DroppedFrames)
	}
	// 0.5% is shed at 50 ms beyond those 40 ms; a frame and the input side add up to 30.
	if st.Buffered > 120*time.Millisecond {
		t.Errorf("buffered %v at the end, want at most 120 ms", st.Buffered)
	}
}
