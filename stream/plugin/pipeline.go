package plugin

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/restoregrad/restoregrad/dsp/resample"
	"github.com/restoregrad/restoregrad/engine"
)

// pipeline is one loaded model between the host rate and the model rate. Every stage drops
// its own delay from the front of its output (the resamplers' filter delay, the model's
// latency), so output sample k of the pipeline is the denoised host input sample k: the
// signal `restoregrad enhance` writes for the same input. The plugin's latency is then only
// buffering, a whole number of host frames.
type pipeline struct {
	models  []engine.FrameProcessor // one per channel
	release io.Closer               // releases models
	lim     *engine.Limited         // the attenuation limit, on the (interleaved) model
	rt      *engine.Realtime        // the deadline controller over lim
	ch      int
	n, lat  int // model frame and latency, per channel
	mrate   int
	deflt   int // the model's default steps

	up, down               []*resample.Resampler // per channel; nil when the rates are equal
	skipUp, skipLat, skipD []int                 // samples still to drop at each stage
	acc                    [][]float32           // model-rate input waiting for a whole frame
	res                    [][]float32           // model-rate output of one frame
	dacc                   [][]float32           // host-rate output waiting to be interleaved
	tmp                    []float32
	frameIn, frameOut      []float32 // interleaved model frame

	// alg is the host frames the output needs beyond the newest input (resamplers, the
	// frame, the model's latency) plus a cushion for the worker's compute and wake-up.
	alg int
}

// pollInterval is how long the idle worker sleeps before looking at the input ring again.
const pollInterval = time.Millisecond

func newPipeline(models []engine.FrameProcessor, release io.Closer, hostRate int, atten float64, onEvent func(engine.RealtimeEvent)) (*pipeline, error) {
	m0 := models[0]
	p := &pipeline{models: models, release: release, ch: len(models), n: m0.FrameSize(), lat: m0.Latency(), mrate: m0.SampleRate(), deflt: m0.Steps()}
	if p.n <= 0 || p.lat < 0 || p.mrate <= 0 {
		return nil, fmt.Errorf("model reports rate %d, frame %d, latency %d", p.mrate, p.n, p.lat)
	}
	var proc engine.FrameProcessor = m0
	if p.ch > 1 {
		il, err := newInterleaved(models)
		if err != nil {
			return nil, err
		}
		proc = il
	}
	var err error
	if p.lim, err = engine.NewLimited(proc, atten); err != nil {
		return nil, err
	}
	if p.rt, err = engine.NewRealtime(p.lim, engine.RealtimeConfig{OnEvent: onEvent}); err != nil {
		return nil, err
	}
	h, m := hostRate, p.mrate
	var du, dd int
	for c := 0; c < p.ch; c++ {
		var up, down *resample.Resampler
		if h != m {
			if up, err = resample.New(h, m); err != nil {
				return nil, err
			}
			if down, err = resample.New(m, h); err != nil {
				return nil, err
			}
			du, dd = int(up.Delay()), int(down.Delay())
		}
		p.up, p.down = append(p.up, up), append(p.down, down)
		p.acc = append(p.acc, make([]float32, 0, 1<<14))
		p.res = append(p.res, make([]float32, p.n))
		p.dacc = append(p.dacc, make([]float32, 0, 1<<14))
	}
	p.skipUp, p.skipLat, p.skipD = make([]int, p.ch), make([]int, p.ch), make([]int, p.ch)
	p.tmp = make([]float32, 0, 1<<14)
	p.frameIn, p.frameOut = make([]float32, p.ch*p.n), make([]float32, p.ch*p.n)
	p.reset()

	// Host output sample i needs model output up to i·m/h + (dd+2)·m/h (the down filter),
	// which needs model input up to lat + n further on (the frame and the model), which
	// needs host input up to (du+2)·h/m further still (the up filter).
	modelSide := float64(p.lat+p.n+du+2) * float64(h) / float64(m)
	p.alg = dd + 2 + int(math.Ceil(modelSide))
	if h == m {
		p.alg = p.lat + p.n
	}
	// Cushion: one frame's compute at real-time speed, the poll interval and 3 ms of
	// scheduling jitter.
	p.alg += int(math.Ceil(float64(p.n)*float64(h)/float64(m))) + int(math.Ceil((pollInterval.Seconds()+0.003)*float64(h)))
	return p, nil
}

// reset starts a new stream: model state, resampler state, the front drops.
func (p *pipeline) reset() {
	p.rt.Reset()
	for c := 0; c < p.ch; c++ {
		p.acc[c], p.dacc[c] = p.acc[c][:0], p.dacc[c][:0]
		p.skipUp[c], p.skipLat[c], p.skipD[c] = 0, p.lat, 0
		if p.up[c] != nil {
			p.up[c].Reset()
			p.down[c].Reset()
			p.skipUp[c], p.skipD[c] = int(p.up[c].Delay()), int(p.down[c].Delay())
		}
	}
}

func (p *pipeline) close() { p.release.Close() }

// setSteps asks for n steps (0: the model's default), clamped to what the model offers.
// Under the deadline controller it is the target; the controller may run fewer.
func (p *pipeline) setSteps(n int, realtime bool) {
	if n <= 0 {
		n = p.deflt
	}
	n = min(max(n, 1), p.lim.MaxSteps())
	p.rt.SetSteps(n)
	if !realtime {
		p.lim.SetSteps(n)
	}
}

// feed takes interleaved host-rate input and appends interleaved host-rate output to dst.
// realtime selects the deadline controller; otherwise every frame runs the model at the
// steps asked for. backlog reports how much input waits behind this chunk.
func (p *pipeline) feed(dst, in []float32, realtime bool, backlog time.Duration) ([]float32, error) {
	ch := p.ch
	frames := len(in) / ch
	for c := 0; c < ch; c++ {
		p.tmp = p.tmp[:0]
		for i := 0; i < frames; i++ {
			p.tmp = append(p.tmp, in[i*ch+c])
		}
		if p.up[c] == nil {
			p.acc[c] = append(p.acc[c], p.tmp...)
			continue
		}
		k := len(p.acc[c])
		p.acc[c] = p.up[c].Process(p.acc[c], p.tmp)
		p.acc[c] = dropFront(p.acc[c], k, &p.skipUp[c])
	}
	off := 0
	var ferr error
	for len(p.acc[0])-off >= p.n {
		for c := 0; c < ch; c++ {
			for i, v := range p.acc[c][off : off+p.n] {
				p.frameIn[i*ch+c] = v
			}
		}
		off += p.n
		var err error
		if realtime {
			waiting := backlog + time.Duration(float64(len(p.acc[0])-off)/float64(p.mrate)*float64(time.Second))
			p.rt.SetBacklog(waiting)
			err = p.rt.Process(p.frameOut, p.frameIn)
		} else {
			err = p.lim.Process(p.frameOut, p.frameIn)
		}
		if err != nil {
			// The frame is lost: pass its input through, and start the model afresh.
			copy(p.frameOut, p.frameIn)
			p.lim.Reset()
		}
		for c := 0; c < ch; c++ {
			res := p.res[c][:p.n]
			for i := range res {
				res[i] = p.frameOut[i*ch+c]
			}
			if k := min(p.skipLat[c], len(res)); k > 0 {
				res = res[k:]
				p.skipLat[c] -= k
			}
			if p.down[c] == nil {
				p.dacc[c] = append(p.dacc[c], res...)
				continue
			}
			k := len(p.dacc[c])
			p.dacc[c] = p.down[c].Process(p.dacc[c], res)
			p.dacc[c] = dropFront(p.dacc[c], k, &p.skipD[c])
		}
		if err != nil && ferr == nil {
			ferr = err
		}
	}
	for c := 0; c < ch; c++ {
		p.acc[c] = p.acc[c][:copy(p.acc[c], p.acc[c][off:])]
	}
	// Interleave what every channel has.
	ready := len(p.dacc[0])
	for c := 1; c < ch; c++ {
		ready = min(ready, len(p.dacc[c]))
	}
	for i := 0; i < ready; i++ {
		for c := 0; c < ch; c++ {
			dst = append(dst, p.dacc[c][i])
		}
	}
	for c := 0; c < ch; c++ {
		p.dacc[c] = p.dacc[c][:copy(p.dacc[c], p.dacc[c][ready:])]
	}
	return dst, ferr
}

// dropFront removes up to *skip samples of s starting at index from, the first output of a
// stage that belongs before the start of the stream.
func dropFront(s []float32, from int, skip *int) []float32 {
	k := min(*skip, len(s)-from)
	if k <= 0 {
		return s
	}
	*skip -= k
	return append(s[:from], s[from+k:]...)
}
