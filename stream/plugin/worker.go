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
	raw      []float32
	outBuf   []float32
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

// warmUp runs the model once on silence so the first real frame does not pay for ONNX
// Runtime's first-run set-up, then resets it.
func (w *worker) warmUp() {
	q := w.pipe
	for range 2 {
		q.lim.Process(q.frameOut, q.frameIn)
	}
	q.reset()
}

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
		w.inFrames += int64(m / p.ch)
		realtime := p.mode.Load() == modeRealtime
		backlog := time.Duration(float64(p.in.Len()/p.ch) / float64(p.rate) * float64(time.Second))
		var err error
		w.outBuf, err = w.pipe.feed(w.outBuf[:0], w.raw[:m], realtime, backlog)
		if err != nil {
			p.fail(err)
		}
		w.write(w.outBuf)
	}
}

// write queues output frames for Run and wakes a waiting offline Run.
func (w *worker) write(frames []float32) {
	p := w.p
	n := len(frames) / p.ch
	if free := p.out.Free() / p.ch; free < n { // the host stopped taking output: drop what does not fit
		n = free
	}
	p.out.Write(frames[:n*p.ch])
	w.outDone += int64(len(frames) / p.ch)
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
		w.pipe.lim.SetLimit(max(db, 0))
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
	w.warmUp()
	pipe.setSteps(w.steps, p.mode.Load() == modeRealtime)
	if gap := w.inFrames - w.outDone; gap > 0 {
		w.write(make([]float32, int(gap)*p.ch))
	}
	p.modelFrom.Store(w.inFrames)
	p.alg.Store(int64(min(pipe.alg, maxLatency/2)))
}
