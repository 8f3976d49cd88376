package plugin

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/restoregrad/restoregrad/engine"
)

// worker runs the pipeline on its own goroutine.
type worker struct {
	p        *Instance
	pipe     *pipeline
	resetReq chan chan struct{}
	model    int
	steps    int
	atten    float64
	raw      [][]float32 // per channel
	emit     func([][]float32)
	inFrames int64 // host frames taken from the input ring since the last reset
	outDone  int64 // host frames written to the output ring since the last reset
	events   atomic.Int64
	statsMu  sync.Mutex
	rtStats  engine.RealtimeStats
}

func (w *worker) event(engine.RealtimeEvent) { w.events.Add(1) }

func (w *worker) stats() engine.RealtimeStats {
	w.statsMu.Lock()
	defer w.statsMu.Unlock()
	return w.pipe.rt.Stats()
}

// workerChunk is the most frames per channel the worker takes from the input ring at once.
const workerChunk = 1024

func (w *worker) loop(quit, done chan struct{}) {
	defer close(done)
	p := w.p
	for {
		select {
		case <-quit:
			return
		case ack := <-w.resetReq:
			p.in.Discard(p.in.Len())
			w.pipe.reset()
			w.inFrames, w.outDone = 0, 0
			p.modelFrom.Store(0)
			close(ack)
			continue
		default:
		}
		w.controls()
		m := p.in.Read(w.raw)
		if m == 0 {
			time.Sleep(pollInterval)
			continue
		}
		w.inFrames += int64(m)
		realtime := p.mode.Load() == modeRealtime
		backlog := time.Duration(float64(p.in.Len()) / float64(p.rate) * float64(time.Second))
		for c := range w.raw {
			w.raw[c] = w.raw[c][:m]
		}
		if err := w.pipe.feed(w.raw, realtime, backlog, w.emit); err != nil {
			p.fail(err)
		}
		for c := range w.raw {
			w.raw[c] = w.raw[c][:cap(w.raw[c])]
		}
	}
}

// write queues output frames (one slice per channel) for Run and wakes a waiting
// offline Run. What does not fit is dropped: the host stopped taking output.
func (w *worker) write(frames [][]float32) {
	p := w.p
	p.out.Write(frames)
	w.outDone += int64(len(frames[0]))
	select {
	case p.outReady <- struct{}{}:
	default:
	}
}

// controls applies the host's control values. Before the stream's first input they apply
// from its first sample (no ramp, no step change inside the stream).
func (w *worker) controls() {
	p := w.p
	if w.inFrames == 0 && p.in.Len() > 0 {
		defer w.pipe.reset()
	}
	if db := float64(math.Float32frombits(p.atten.Load())); db != w.atten && !math.IsNaN(db) {
		w.atten = db
		w.pipe.setLimit(max(db, 0))
	}
	if m := int(p.model.Load()); m != w.model {
		w.switchModel(m)
	}
	if s := int(p.steps.Load()); s != w.steps {
		w.steps = s
		w.pipe.setSteps(s, p.mode.Load() == modeRealtime)
	}
}

// switchModel loads another model. The frames the old pipeline still held are written as
// silence, so the output stays aligned; the host's latency follows the new pipeline.
func (w *worker) switchModel(index int) {
	p := w.p
	w.model = index
	pipe, err := p.load(index, max(w.atten, 0), w.event)
	if err != nil {
		p.fail(fmt.Errorf("model %d: %w", index, err))
		return
	}
	old := w.pipe
	w.statsMu.Lock()
	w.pipe = pipe
	w.statsMu.Unlock()
	old.close()
	pipe.warm()
	pipe.setSteps(w.steps, p.mode.Load() == modeRealtime)
	if gap := w.inFrames - w.outDone; gap > 0 {
		silence := make([][]float32, p.ch)
		for c := range silence {
			silence[c] = make([]float32, gap)
		}
		w.write(silence)
	}
	p.modelFrom.Store(w.inFrames)
	p.alg.Store(int64(min(pipe.alg, maxLatency/2)))
}
