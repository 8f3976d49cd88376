package models

import (
	"fmt"

	"github.com/restoregrad/restoregrad/models/sampler"
)

// StepEnhancer is what a BlockProcessor runs: a whole-signal enhancer (the methods of
// engine.Enhancer that it uses) that says which step counts it supports. *Model implements
// it. Noise for y[i] must be drawn at absolute index offset+i so that overlapping windows
// agree.
type StepEnhancer interface {
	SampleRate() int
	Enhance(out, y []float32, steps int, noise sampler.Noise, offset int64) error
	CheckSteps(steps int) error
}

// BlockProcessor streams an offline (non-causal) model: each frame is enhanced inside a
// window that adds margin samples of past and future context, and the frame's part of the
// result is emitted. Output lags input by the margin. Because the noise is
// drawn at absolute sample indices, neighbouring windows agree and the seams are smooth.
// It costs (FrameSize+2·Margin)/FrameSize times the whole-signal compute.
type BlockProcessor struct {
	enh      StepEnhancer
	frame    int
	margin   int
	steps    int
	maxSteps int
	noise    sampler.Noise
	window   []float32 // input history: margin past + frame + margin future
	out      []float32
	pos      int64 // absolute index of window[0]
}

// NewBlockProcessor wraps enh. frame and margin are in samples at the model's rate;
// maxSteps is the largest step count the caller may ask for (the model's default); noise
// is drawn as engine.NewOffline draws it.
func NewBlockProcessor(enh StepEnhancer, frame, margin, steps, maxSteps int, noise sampler.Noise) (*BlockProcessor, error) {
	if frame < 1 || margin < 0 {
		return nil, fmt.Errorf("block processor: frame %d, margin %d", frame, margin)
	}
	p := &BlockProcessor{enh: enh, frame: frame, margin: margin, maxSteps: maxSteps, noise: noise}
	if err := p.SetSteps(steps); err != nil {
		return nil, err
	}
	n := frame + 2*margin
	p.window = make([]float32, n)
	p.out = make([]float32, n)
	p.Reset()
	return p, nil
}

func (p *BlockProcessor) SampleRate() int { return p.enh.SampleRate() }
func (p *BlockProcessor) FrameSize() int  { return p.frame }
func (p *BlockProcessor) Latency() int    { return p.margin }
func (p *BlockProcessor) Steps() int      { return p.steps }
func (p *BlockProcessor) MaxSteps() int   { return p.maxSteps }

// SetSteps picks the step count for the next frames.
func (p *BlockProcessor) SetSteps(n int) error {
	if n < 1 || n > p.maxSteps {
		return fmt.Errorf("steps %d outside 1..%d", n, p.maxSteps)
	}
	if err := p.enh.CheckSteps(n); err != nil {
		return err
	}
	p.steps = n
	return nil
}

// Reset starts a new stream: the past is silence.
func (p *BlockProcessor) Reset() {
	clear(p.window)
	p.pos = -int64(2*p.margin + p.frame)
}

// Process shifts in one frame, enhances the whole window, and emits its centre frame,
// which ends margin samples before the newest input. It allocates nothing itself; the
// enhancer's Enhance may.
func (p *BlockProcessor) Process(out, in []float32) error {
	if len(in) != p.frame || len(out) != p.frame {
		return fmt.Errorf("block processor: frame of %d/%d samples, want %d", len(in), len(out), p.frame)
	}
	copy(p.window, p.window[p.frame:])
	copy(p.window[len(p.window)-p.frame:], in)
	p.pos += int64(p.frame)
	if err := p.enh.Enhance(p.out, p.window, p.steps, p.noise, p.pos); err != nil {
		return err
	}
	copy(out, p.out[p.margin:p.margin+p.frame])
	return nil
}
