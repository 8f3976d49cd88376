package plugin

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/stream/adapt"
)

// pipeline is one loaded model between the host rate and the model rate: an adapt.Stage
// (the resamplers and the framing, every channel at once) around the channels' models
// under the attenuation limit and the deadline controller. The stage drops every delay
// from the front of its output (the resamplers' filters, the model's latency), so output
// sample k of the pipeline is the denoised host input sample k: the signal
// `restoregrad enhance` writes for the same input. The plugin's latency is then only
// buffering, a whole number of host frames.
type pipeline struct {
	release io.Closer         // releases the models
	lims    []*engine.Limited // the attenuation limit, per channel
	limited engine.Channels   // lims as one, for a host without deadlines
	rt      *engine.Realtime  // the deadline controller over lims
	stage   *adapt.Stage
	proc    *frames // what stage runs
	deflt   int     // the model's default steps

	// alg is the host frames the output needs beyond the newest input (resamplers, the
	// frame, the model's latency) plus a cushion for the worker's compute and wake-up.
	alg int
}

// frames is the processor the stage runs: the deadline controller, or (realtime false)
// every channel's limited model at the steps asked for. A frame the model fails on is
// the input passed through, and the model starts afresh.
type frames struct {
	rt       *engine.Realtime
	limited  engine.Channels
	realtime bool
}

func (f *frames) SampleRate() int { return f.rt.SampleRate() }
func (f *frames) FrameSize() int  { return f.rt.FrameSize() }
func (f *frames) Latency() int    { return f.rt.Latency() }

func (f *frames) ProcessChannels(out, in [][]float32) error {
	var err error
	if f.realtime {
		err = f.rt.ProcessChannels(out, in)
	} else {
		err = f.limited.ProcessChannels(out, in)
	}
	if err != nil {
		for c := range out {
			copy(out[c], in[c])
		}
		f.limited.Reset()
	}
	return err
}

// pollInterval is how long the idle worker sleeps before looking at the input ring again.
const pollInterval = time.Millisecond

func newPipeline(models []engine.FrameProcessor, release io.Closer, hostRate int, atten float64, onEvent func(engine.RealtimeEvent)) (*pipeline, error) {
	m0 := models[0]
	n, lat, mrate := m0.FrameSize(), m0.Latency(), m0.SampleRate()
	if n <= 0 || lat < 0 || mrate <= 0 {
		return nil, fmt.Errorf("model reports rate %d, frame %d, latency %d", mrate, n, lat)
	}
	p := &pipeline{release: release, deflt: m0.Steps()}
	var limited []engine.FrameProcessor
	for _, m := range models {
		l, err := engine.NewLimited(m, atten)
		if err != nil {
			return nil, err
		}
		p.lims = append(p.lims, l)
		limited = append(limited, l)
	}
	var err error
	if p.limited, err = engine.NewChannels(limited); err != nil {
		return nil, err
	}
	if p.rt, err = engine.NewRealtimeChannels(limited, engine.RealtimeConfig{OnEvent: onEvent}); err != nil {
		return nil, err
	}
	p.proc = &frames{rt: p.rt, limited: p.limited}
	if p.stage, err = adapt.New(p.proc, adapt.Config{Channels: len(models), Rate: hostRate, MaxWrite: workerChunk, Align: true}); err != nil {
		return nil, err
	}

	// Host output sample i needs model output up to i·m/h + (dd+2)·m/h (the down filter),
	// which needs model input up to lat + n further on (the frame and the model), which
	// needs host input up to (du+2)·h/m further still (the up filter).
	h, m := hostRate, mrate
	up, down := p.stage.Delays()
	du, dd := int(up), int(down)
	modelSide := float64(lat+n+du+2) * float64(h) / float64(m)
	p.alg = dd + 2 + int(math.Ceil(modelSide))
	if h == m {
		p.alg = lat + n
	}
	// Cushion: one frame's compute at real-time speed, the poll interval and 3 ms of
	// scheduling jitter.
	p.alg += int(math.Ceil(float64(n)*float64(h)/float64(m))) + int(math.Ceil((pollInterval.Seconds()+0.003)*float64(h)))
	return p, nil
}

// reset starts a new stream: model state, resampler state, the front drops.
func (p *pipeline) reset() {
	p.rt.Reset()
	p.stage.Reset()
}

// warm runs the model twice on silence so the first real frame does not pay for ONNX
// Runtime's first-run set-up, then resets it.
func (p *pipeline) warm() {
	n := p.rt.FrameSize()
	in, out := make([][]float32, len(p.lims)), make([][]float32, len(p.lims))
	for c := range in {
		in[c], out[c] = make([]float32, n), make([]float32, n)
	}
	for range 2 {
		p.limited.ProcessChannels(out, in)
	}
	p.reset()
}

func (p *pipeline) close() { p.release.Close() }

// setLimit changes every channel's attenuation limit.
func (p *pipeline) setLimit(db float64) {
	for _, l := range p.lims {
		l.SetLimit(db)
	}
}

// setSteps asks for n steps (0: the model's default), clamped to what the model offers.
// Under the deadline controller it is the target; the controller may run fewer.
func (p *pipeline) setSteps(n int, realtime bool) {
	if n <= 0 {
		n = p.deflt
	}
	n = min(max(n, 1), p.limited.MaxSteps())
	p.rt.SetSteps(n)
	if !realtime {
		p.limited.SetSteps(n)
	}
}

// feed takes host-rate input, one slice per channel, and hands the host-rate output of
// every whole frame to emit. realtime selects the deadline controller; otherwise every
// frame runs the model at the steps asked for. backlog is how much input waits behind
// this chunk. It returns the first error of a frame (that frame's output is its input).
func (p *pipeline) feed(in [][]float32, realtime bool, backlog time.Duration, emit func([][]float32)) error {
	p.proc.realtime = realtime
	p.stage.Write(in)
	var first error
	n, mrate := p.stage.FrameSize(), p.stage.ModelRate()
	for p.stage.Ready() {
		if realtime {
			waiting := float64(p.stage.Buffered()-n) / float64(mrate)
			p.rt.SetBacklog(backlog + time.Duration(waiting*float64(time.Second)))
		}
		out, err := p.stage.Next()
		if err != nil && first == nil {
			first = err
		}
		emit(out)
	}
	return first
}
