package stream

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/restoregrad/restoregrad/dsp/sanitize"
	"github.com/restoregrad/restoregrad/stream/adapt"
)

// ErrStalled is returned by Run when the devices stop calling back (unplugged, server
// gone).
var ErrStalled = errors.New("the audio device stopped delivering audio (unplugged or server gone?)")

// RunOptions are the worker's hooks. Each runs on the worker goroutine.
type RunOptions struct {
	// OnInput sees every input chunk at the device rate, as read from the input ring.
	OnInput func(raw []float32)
	// OnOutput sees every output chunk at the device rate, as written to the output ring.
	OnOutput func(processed []float32)
	// Watchdog: no callback for this long ends Run with ErrStalled (0: 2 s).
	Watchdog time.Duration
}

// Processor is what Run needs of the denoiser: engine.Realtime (any
// engine.FrameProcessor) is one. Process reads exactly FrameSize samples from in at
// SampleRate and writes as many to out, lagging in by Latency samples; Run calls it from
// the worker goroutine, never from the audio side.
type Processor interface {
	SampleRate() int
	FrameSize() int
	Latency() int
	Process(out, in []float32) error
}

// backlogSetter is implemented by engine.Realtime: it is told how far behind the worker is.
type backlogSetter interface{ SetBacklog(time.Duration) }

// warmer is implemented by engine.Realtime: it runs the model a few times before the
// devices start, so that its slow first runs do not make the output late.
type warmer interface{ Warm(frames int) error }

// warmFrames is how many frames a warmer runs before the devices start.
const warmFrames = 20

// Run starts the devices and runs the worker until ctx ends or the devices fail: it reads
// input from the ring, resamples it to p's rate, runs p frame by frame, resamples back and
// queues the result for output. p is typically an *engine.Realtime, which is also told the
// backlog. Run returns nil when ctx ends.
func (s *Stream) Run(ctx context.Context, p Processor, opt RunOptions) error {
	if opt.Watchdog == 0 {
		opt.Watchdog = 2 * time.Second
	}
	mrate, n := p.SampleRate(), p.FrameSize()
	if mrate <= 0 || n <= 0 {
		return fmt.Errorf("processor reports rate %d and frame size %d", mrate, n)
	}
	chunk := 4 * s.block
	var proc adapt.Processor = adapt.OneChannel(p)
	if mc, ok := p.(adapt.Processor); ok { // engine.Realtime
		proc = mc
	}
	stage, err := adapt.New(proc, adapt.Config{Channels: 1, Rate: s.rate, MaxWrite: chunk})
	if err != nil {
		return err
	}
	s.modelRate.Store(int64(mrate))
	bl, _ := p.(backlogSetter)
	push, _ := s.dev.(pusher)
	fail, _ := s.dev.(failer)
	idle, _ := s.dev.(idleWatcher)
	// Algorithmic latency: the resamplers' and the processor's delays (gathering a frame is
	// counted as buffered: pendingAtModel).
	upDelay, downDelay := stage.Delays()
	s.setAlgorithmic(upDelay/float64(mrate), float64(p.Latency())/float64(mrate), downDelay/float64(s.rate))

	raw := make([]float32, chunk)
	in1 := make([][]float32, 1)
	// The output queue is kept between the cushion and softMax. Queued beyond the cushion
	// is latency: after a stall (of this process, or of the sound server, which pauses
	// playback and then delivers the input late, in a burst) the excess is shed by leaving
	// out frames of silence (trimmed) or, where there is none, by playing up to maxShed
	// fast (shedder), and only beyond hardMax by skipping frames whatever they hold
	// (dropped). Below the cushion the margin against underflows is thin: when the output
	// device's clock runs faster than the input's (two sound cards; even two PulseAudio
	// null sinks differ by tens of ppm) the queue drains a little every second until the
	// device plays a gap, again and again. So while the queue, with the input waiting for
	// the worker and averaged over a second (level), is more than half a block below
	// where it sits when the clocks agree (floor) the output is played slightly slow, in proportion to
	// the deficit, up to maxStretch (stretched): that holds the queue near the cushion
	// whichever clock is faster. (An underflow needs no such help: the device plays
	// the gap and then the queue, later, so the queue is whole again.) Each output
	// underflow raises the level shed down to by a block (extra, up to maxExtra): the
	// latency a stall left is kept as margin up to what this machine needs, and the
	// allowance shrinks again after a quiet minute.
	softMax := s.cushion + 2*s.block
	hardMax := s.cushion + max(5*s.block, 2*s.maxBacklog)
	maxExtra := max(8*s.block, s.rate/10)
	extra := 0
	lastXruns, lastGrow := s.outXruns.Load(), time.Now()
	var shed shedder
	shedOut := make([]float32, 0, int(float64(n*s.rate/mrate+64)/(1-maxStretch))+64)
	frameOut := float64(n) * float64(s.rate) / float64(mrate) // a frame at the device rate
	levelAlpha := min(1, frameOut/float64(s.rate)/levelSmoothing.Seconds())
	level, levelSet := 0.0, false
	// With the clocks agreed, level averages the cushion and half a frame (the input
	// gathered towards the next frame); floor is half a block below that.
	floor := float64(s.cushion) + frameOut/2 - float64(s.block)/2

	// A busy machine gets a larger margin (load.go), watched off the worker thread.
	if busy := s.cfg.BusyCushion; busy > 0 {
		meter := s.loadMeter
		if meter == nil {
			meter = &procStat{path: "/proc/stat"}
		}
		lctx, stopLoad := context.WithCancel(ctx)
		defer stopLoad()
		go s.watchLoad(lctx, meter, int64(busy.Seconds()*float64(s.rate)))
	}

	// The worker thread runs the model: ask for real-time scheduling so that other work
	// on the machine cannot make it late.
	sched := "normal priority (NoRealtime)"
	if !s.cfg.NoRealtime {
		got, undo, err := realtimeThread(workerPriority)
		defer undo()
		sched = got
		if err != nil {
			sched = "refused: " + err.Error()
		}
	}
	s.workerSched.Store(&sched)
	if w, ok := p.(warmer); ok {
		if err := w.Warm(warmFrames); err != nil {
			return fmt.Errorf("process: %w", err)
		}
	}

	// The cushion is queued ahead of the first real output (not before the devices start,
	// when the backends' priming would eat it); gaps count from then on.
	if err := s.start(); err != nil {
		return err
	}
	poll := time.Duration(float64(s.block) / float64(s.rate) * float64(time.Second) / 4)
	poll = min(max(poll, 500*time.Microsecond), 5*time.Millisecond)
	lastCallbacks, lastChange := s.callbacks.Load(), time.Now()
	lastSample := time.Now()
	for {
		// Sample the latency estimate for its mean, once the output has started.
		if s.outPrimed.Load() && time.Since(lastSample) >= 100*time.Millisecond {
			lastSample = time.Now()
			ready := true
			if m, ok := s.dev.(latencyMeter); ok {
				_, _, _, ready = m.measuredLatency()
			}
			if in, out := s.dev.latency(); ready && in+out > 0 {
				s.sampleLatency()
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if fail != nil {
			if err := fail.failure(); err != nil {
				return err
			}
		}
		if c := s.callbacks.Load(); c != lastCallbacks {
			lastCallbacks, lastChange = c, time.Now()
		} else if time.Since(lastChange) > opt.Watchdog {
			return ErrStalled
		}
		// Bound the latency: if the worker fell far behind, drop the oldest input. The bound
		// is twice MaxBacklog: a server that stalled hands over that much input at once,
		// which the worker catches up on and the output sheds without a drop.
		if excess := s.inRing.Len() - 2*s.maxBacklog; excess > 0 {
			k := s.inRing.Discard(excess)
			d := int64(math.Ceil(float64(k) * float64(mrate) / float64(s.rate) / float64(n)))
			s.dropped.Add(d)
			s.droppedIn.Add(d)
		}
		if x := s.outXruns.Load(); x != lastXruns {
			lastXruns = x
			extra = min(extra+s.block, maxExtra)
			lastGrow = time.Now()
		} else if extra > 0 && time.Since(lastGrow) > time.Minute {
			extra -= s.block
			lastGrow = time.Now()
		}
		s.extraCushion.Store(int64(extra))
		m := s.inRing.Read(raw)
		if m == 0 {
			if idle != nil {
				idle.workerIdle()
			}
			sleep(poll)
			continue
		}
		// NaN or infinite input (a float source can hold anything) would poison the
		// resampler's and the model's state for good: it goes on as 0 or ±1, counted.
		if k := sanitize.Samples(raw[:m]); k > 0 {
			s.replaced.Add(int64(k))
		}
		s.inPeak.Store(math.Float32bits(peak(raw[:m])))
		if opt.OnInput != nil {
			opt.OnInput(raw[:m])
		}
		in1[0] = raw[:m]
		stage.Write(in1)
		for stage.Ready() {
			if bl != nil {
				waiting := float64(s.inRing.Len())/float64(s.rate) + float64(stage.Buffered()-n)/float64(mrate)
				bl.SetBacklog(time.Duration(waiting * float64(time.Second)))
			}
			outs, err := stage.Next()
			if err != nil {
				return fmt.Errorf("process: %w", err)
			}
			outDev := outs[0]
			s.outPeak.Store(math.Float32bits(peak(outDev)))
			if opt.OnOutput != nil {
				opt.OnOutput(outDev)
			}
			queued := s.outRing.Len()
			if push != nil {
				queued += push.queued()
			}
			busy := int(s.loadCushion.Load())
			if queued > hardMax+extra+busy {
				// Far behind (a long stall, or an output clock slower than the input's):
				// skip the frame.
				s.dropped.Add(1)
				continue
			}
			if s.outPrimed.Load() {
				// What waits for the worker counts too: a late frame moves audio from
				// the output queue to the input side, which is no deficit.
				total := float64(queued+s.inRing.Len()) + float64(stage.Buffered())*float64(s.rate)/float64(mrate)
				if !levelSet {
					level, levelSet = total, true
				}
				level += levelAlpha * (total - level)
			}
			speed := 1.0
			pad := false
			if excess := queued - (softMax + extra + busy); excess > 0 {
				if peak(outDev) < quiet {
					// Silence: leaving it out costs nothing.
					s.trimmed.Add(1)
					continue
				}
				// 1% faster per 100 ms of excess, at most maxShed.
				speed = 1 + min(maxShed, float64(excess)/float64(s.rate)/10)
				s.shed.Add(int64(len(outDev)))
			} else if deficit := floor + float64(busy) - level; levelSet && deficit > 0 {
				switch {
				case busy > 0 && deficit > frameOut && peak(outDev) < quiet:
					// Far below (a busy machine's margin): silence played twice costs nothing.
					pad = true
				case busy > 0 && deficit > float64(s.block):
					speed = 1 - maxFill
				default:
					speed = 1 - min(maxStretch, stretchGain*deficit/float64(s.rate))
				}
				if !pad {
					s.stretched.Add(int64(len(outDev)))
				}
			}
			shedOut = shed.process(shedOut[:0], outDev, speed)
			if !s.outPrimed.Load() {
				s.outRing.WriteZeros(s.cushion)
			}
			if pad {
				s.outRing.WriteZeros(len(shedOut))
				s.padded.Add(1)
				level += float64(len(shedOut)) // counted now, so one silent stretch does not overfill
			}
			s.outRing.Write(shedOut)
			s.outPrimed.Store(true)
			if push != nil {
				push.push()
			}
		}
		s.pendingAtModel.Store(int64(stage.Buffered()))
	}
}

// Keeping the cushion: the output is played 0.1% slow per 2 ms that the queue, averaged
// over levelSmoothing, lies below its floor, at most maxStretch (0.5%, under a tenth of a
// semitone). An output clock 500 ppm fast is then followed 1 ms below the floor; the gain
// and the smoothing together settle without much overshoot in a few seconds, and a
// transient dip (a late frame, a stall of the input) barely moves the average.
const (
	stretchGain    = 0.5 // speed change per second of deficit
	maxStretch     = 0.005
	levelSmoothing = time.Second
	// maxFill is the slowdown while the queue is more than a block below its floor, which
	// only a busy machine's margin asks for: 2% (a third of a semitone) fills 100 ms in 5 s.
	maxFill = 0.02
)

// quiet is the peak level (−50 dBFS) under which an output frame is silence, which may be
// left out to shed latency.
const quiet = 0.003

func peak(x []float32) float32 {
	var p float32
	for _, v := range x {
		if v < 0 {
			v = -v
		}
		p = max(p, v)
	}
	return p
}
