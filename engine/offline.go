package engine

import (
	"errors"
	"fmt"
	"math"

	"github.com/restoregrad/restoregrad/models/sampler"
)

// Enhancer denoises a whole signal at once: *models.Model implements it. Noise for y[i]
// must be drawn at absolute index offset+i so that overlapping pieces agree.
type Enhancer interface {
	SampleRate() int
	Context() int
	Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error
}

// ChunkConfig sets how a long signal is cut. The zero value picks defaults for the
// enhancer's sample rate.
type ChunkConfig struct {
	Chunk     int // core samples per chunk (default: the Enhancer's PreferredChunk, else 8 s)
	Margin    int // extra context on each side of a chunk (default 0.5 s, at least Crossfade/2 + Context)
	Crossfade int // raised-cosine cross-fade at each seam (default 50 ms)
	// Workers is how many chunks are enhanced at once, each on a goroutine of its own
	// (0 or 1: one after the other, on the caller's goroutine). The output is the same bit
	// for bit: a chunk's result depends only on its input and position, and the chunks are
	// joined in order. The Enhancer must then be safe for concurrent use.
	Workers int
}

// chunkPreferrer is an Enhancer that names its own chunk length (a bundle's "chunk").
type chunkPreferrer interface {
	PreferredChunk() int
}

func preferredChunk(enh Enhancer) int {
	if p, ok := enh.(chunkPreferrer); ok {
		return p.PreferredChunk()
	}
	return 0
}

func (c ChunkConfig) withDefaults(rate, context, preferred int) (ChunkConfig, error) {
	if c.Chunk == 0 {
		c.Chunk = 8 * rate
		if preferred > 0 {
			c.Chunk = preferred
		}
	}
	if c.Crossfade == 0 {
		c.Crossfade = rate / 20
	}
	if c.Margin == 0 {
		c.Margin = max(rate/2, c.Crossfade/2+context)
	}
	switch {
	case c.Chunk < 1 || c.Crossfade < 0 || c.Margin < 0 || c.Workers < 0:
		return c, fmt.Errorf("chunking %+v: sizes must be positive", c)
	case c.Crossfade > c.Chunk:
		return c, fmt.Errorf("chunking %+v: cross-fade longer than a chunk", c)
	case c.Margin < (c.Crossfade+1)/2:
		return c, fmt.Errorf("chunking %+v: margin shorter than half the cross-fade", c)
	}
	return c, nil
}

// Offline enhances one long signal in bounded memory: it cuts the input into chunks with
// margins of context, enhances each, and cross-fades the overlapping outputs at the
// seams. Output is emitted as it becomes final. Memory is about (Chunk + 2·Margin)
// samples per worker.
type Offline struct {
	enh      Enhancer
	cfg      ChunkConfig
	steps    int
	noise    sampler.Noise
	gain     float32
	in       []float32 // input from absolute index inStart
	inStart  int64
	total    int64     // input samples received
	acc      []float32 // weighted output from absolute index accStart
	accStart int64
	next     int64       // index of the next chunk to enhance
	pending  []*chunkJob // chunks being enhanced, in order
	free     []*chunkJob // finished jobs, for their buffers
	flushed  bool
}

// chunkJob is one chunk on its way through the enhancer.
type chunkJob struct {
	k      int64
	lo, hi int64 // input span, absolute
	last   bool
	y, x   []float32
	err    error
	done   chan struct{} // closed when x (or err) is ready
}

// NewOffline prepares the chunker. gain scales the input before enhancement and is undone
// on the output (1 for none).
func NewOffline(enh Enhancer, cfg ChunkConfig, steps int, noise sampler.Noise, gain float32) (*Offline, error) {
	cfg, err := cfg.withDefaults(enh.SampleRate(), enh.Context(), preferredChunk(enh))
	if err != nil {
		return nil, err
	}
	if gain <= 0 || math.IsInf(float64(gain), 0) || math.IsNaN(float64(gain)) {
		return nil, fmt.Errorf("gain %v must be positive and finite", gain)
	}
	cfg.Workers = max(1, cfg.Workers)
	return &Offline{enh: enh, cfg: cfg, steps: steps, noise: noise, gain: gain}, nil
}

// Write adds input samples and calls emit with every output sample that became final.
// emit's slice is only valid during the call.
func (o *Offline) Write(y []float32, emit func([]float32) error) error {
	if o.flushed {
		return errors.New("offline: write after flush")
	}
	o.in = append(o.in, y...)
	o.total += int64(len(y))
	h, m := int64(o.cfg.Chunk), int64(o.cfg.Margin)
	// A chunk is started once input exists beyond its right margin, which also proves
	// it is not the last one.
	for o.total > (o.next+1)*h+m {
		if err := o.start(false, emit); err != nil {
			return err
		}
	}
	return nil
}

// Flush enhances what is left and emits the rest of the output.
func (o *Offline) Flush(emit func([]float32) error) error {
	if o.flushed {
		return nil
	}
	o.flushed = true
	if o.total > 0 {
		if err := o.start(true, emit); err != nil {
			return err
		}
	}
	for len(o.pending) > 0 {
		if err := o.finish(emit); err != nil {
			return err
		}
	}
	return nil
}

// start hands chunk o.next to the enhancer (last: it runs to the end of the input), first
// finishing the oldest chunk when all workers are busy.
func (o *Offline) start(last bool, emit func([]float32) error) error {
	if len(o.pending) >= o.cfg.Workers {
		if err := o.finish(emit); err != nil {
			return err
		}
	}
	h, m := int64(o.cfg.Chunk), int64(o.cfg.Margin)
	k := o.next
	j := o.job()
	j.k, j.last = k, last
	j.lo, j.hi = max(0, k*h-m), o.total
	if !last {
		j.hi = (k+1)*h + m
	}
	n := int(j.hi - j.lo)
	j.y, j.x = grow(j.y, n), grow(j.x, n)
	for i, v := range o.in[j.lo-o.inStart : j.hi-o.inStart] {
		j.y[i] = v * o.gain
	}
	o.pending = append(o.pending, j)
	o.next++
	// Drop input the next chunk no longer needs (the job has its own copy).
	if next := max(0, (k+1)*h-m); !last && next > o.inStart {
		o.in = append(o.in[:0], o.in[next-o.inStart:]...)
		o.inStart = next
	}
	if o.cfg.Workers == 1 {
		o.enhance(j)
		return o.finish(emit)
	}
	go o.enhance(j)
	return nil
}

func (o *Offline) job() *chunkJob {
	if n := len(o.free); n > 0 {
		j := o.free[n-1]
		o.free = o.free[:n-1]
		j.err, j.done = nil, make(chan struct{})
		return j
	}
	return &chunkJob{done: make(chan struct{})}
}

// enhance runs one chunk; it may run on its own goroutine and touches only j.
func (o *Offline) enhance(j *chunkJob) {
	defer close(j.done)
	if err := o.enh.Enhance(j.x, j.y, o.steps, o.noise, j.lo); err != nil {
		rate := float64(o.enh.SampleRate())
		j.err = fmt.Errorf("chunk %d (%.1f–%.1f s): %w", j.k, float64(j.lo)/rate, float64(j.hi)/rate, err)
	}
}

// finish waits for the oldest pending chunk, adds its weighted output to the overlap
// buffer and emits what became final.
func (o *Offline) finish(emit func([]float32) error) error {
	j := o.pending[0]
	<-j.done
	o.pending = o.pending[1:]
	if j.err != nil {
		// The other pending chunks finish on their own; their results are not needed.
		o.pending = nil
		return j.err
	}
	defer func() { o.free = append(o.free, j) }()
	h := int64(o.cfg.Chunk)
	half := int64(o.cfg.Crossfade / 2)
	k, lo, hi, last := j.k, j.lo, j.hi, j.last
	// The part of the output this chunk contributes to, with its weights.
	outLo := lo
	if k > 0 {
		outLo = k*h - half
	}
	outHi := hi
	if !last {
		outHi = (k+1)*h + half
	}
	if need := int(outHi - o.accStart); need > len(o.acc) {
		o.acc = append(o.acc, make([]float32, need-len(o.acc))...)
	}
	inv := 1 / o.gain
	for p := outLo; p < outHi; p++ {
		w := float32(1)
		if k > 0 && p < k*h+half {
			w = rampUp(p-(k*h-half), 2*half)
		}
		if !last && p >= (k+1)*h-half {
			w *= 1 - rampUp(p-((k+1)*h-half), 2*half)
		}
		o.acc[p-o.accStart] += w * j.x[p-lo] * inv
	}
	// Everything before the next seam's cross-fade is final.
	final := outHi
	if !last {
		final = (k+1)*h - half
	}
	if cut := int(final - o.accStart); cut > 0 {
		if err := emit(o.acc[:cut]); err != nil {
			return err
		}
		o.acc = append(o.acc[:0], o.acc[cut:]...)
		o.accStart = final
	}
	return nil
}

// rampUp is a raised-cosine weight rising from 0 to 1 over width samples. A fade-in w and
// the matching fade-out 1−w sum to one, so the seam keeps the signal's level.
func rampUp(i int64, width int64) float32 {
	if width <= 0 {
		return 1
	}
	return float32(0.5 - 0.5*math.Cos(math.Pi*(float64(i)+0.5)/float64(width)))
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
