// Package adapt carries multichannel audio between a device's rate and a frame processor's
// own: it resamples the input to the processor's rate, gathers it into whole frames, runs
// the processor on every channel's frame at once, and resamples the output back. Live's
// worker and the LADSPA plugin's worker both run their model through it.
package adapt

import (
	"fmt"
	"time"

	"github.com/restoregrad/restoregrad/dsp/resample"
)

// Processor is what a Stage runs: every channel's frame of FrameSize samples at
// SampleRate per call, out lagging in by Latency samples. engine.Realtime is one.
type Processor interface {
	SampleRate() int
	FrameSize() int
	Latency() int
	ProcessChannels(out, in [][]float32) error
}

// Mono is a one-channel processor with a plain Process (engine.FrameProcessor, say).
type Mono interface {
	SampleRate() int
	FrameSize() int
	Latency() int
	Process(out, in []float32) error
}

// OneChannel makes a Mono processor a Processor of one channel.
func OneChannel(p Mono) Processor { return oneChannel{p} }

type oneChannel struct{ Mono }

func (p oneChannel) ProcessChannels(out, in [][]float32) error { return p.Process(out[0], in[0]) }

// Config describes a Stage.
type Config struct {
	Channels int
	Rate     int // the device's sample rate
	// MaxWrite is the most device samples per channel a Write is given; it sizes the
	// buffers (a larger Write still works, and grows them once).
	MaxWrite int
	// Align drops every stage's delay (the resamplers' filters, the processor's latency)
	// from the front of the output, so that output sample k is the processed input sample
	// k: what an offline run writes. Without it the output lags the input by Delay, which
	// a live stream accounts for instead.
	Align bool
}

// Stage is one processor between a device rate and the processor's rate. Write, Next and
// Reset belong to one goroutine; after New they allocate nothing (beyond growing for a
// Write above MaxWrite).
type Stage struct {
	p        Processor
	ch, n    int
	rate     int
	mrate    int
	align    bool
	up, down []*resample.Resampler // per channel; nil when the rates are equal

	acc     [][]float32 // model-rate input per channel, acc[c][off:] not yet processed
	off     int
	frameIn [][]float32 // views of acc: the frame being processed
	res     [][]float32 // model-rate output of one frame
	outs    [][]float32 // device-rate output of one frame (what Next returns)

	// Samples still to drop at each stage (Align).
	skipUp, skipLat, skipDown int
}

// New builds a Stage around p.
func New(p Processor, cfg Config) (*Stage, error) {
	s := &Stage{p: p, ch: cfg.Channels, n: p.FrameSize(), rate: cfg.Rate, mrate: p.SampleRate(), align: cfg.Align}
	if s.ch < 1 || s.rate <= 0 {
		return nil, fmt.Errorf("adapt: %d channels at %d Hz", s.ch, s.rate)
	}
	if s.n <= 0 || s.mrate <= 0 || p.Latency() < 0 {
		return nil, fmt.Errorf("adapt: processor reports rate %d, frame %d, latency %d", s.mrate, s.n, p.Latency())
	}
	accCap, outCap := max(cfg.MaxWrite, 1)+2*s.n+64, s.n+64
	for range s.ch {
		if s.rate != s.mrate {
			up, err := resample.New(s.rate, s.mrate)
			if err != nil {
				return nil, fmt.Errorf("adapt: %w", err)
			}
			down, err := resample.New(s.mrate, s.rate)
			if err != nil {
				return nil, fmt.Errorf("adapt: %w", err)
			}
			s.up, s.down = append(s.up, up), append(s.down, down)
			accCap, outCap = up.MaxOutput(max(cfg.MaxWrite, 1))+2*s.n+64, down.MaxOutput(s.n)+64
		}
	}
	for range s.ch {
		s.acc = append(s.acc, make([]float32, 0, accCap))
		s.res = append(s.res, make([]float32, s.n))
		s.outs = append(s.outs, make([]float32, 0, outCap))
	}
	s.frameIn = make([][]float32, s.ch)
	s.Reset()
	return s, nil
}

// ModelRate is the processor's sample rate.
func (s *Stage) ModelRate() int { return s.mrate }

// FrameSize is the processor's frame, in samples at its rate.
func (s *Stage) FrameSize() int { return s.n }

// Delays are the resamplers' filter delays, up in samples at the model rate and down in
// samples at the device rate (0 when the rates are equal).
func (s *Stage) Delays() (up, down float64) {
	if s.up == nil {
		return 0, 0
	}
	return s.up[0].Delay(), s.down[0].Delay()
}

// Delay is how far the output lags the input without Align: the resamplers' delays and
// the processor's latency. Gathering a frame is not part of it: a frame goes through as
// soon as it is whole (the part of a frame still gathering is Buffered).
func (s *Stage) Delay() time.Duration {
	up, down := s.Delays()
	sec := (up+float64(s.p.Latency()))/float64(s.mrate) + down/float64(s.rate)
	return time.Duration(sec * float64(time.Second))
}

// Buffered is how many samples per channel, at the model rate, wait for Next.
func (s *Stage) Buffered() int { return len(s.acc[0]) - s.off }

// Reset starts a new stream: the resamplers' state, the gathered input and the front
// drops (the processor is the caller's to reset).
func (s *Stage) Reset() {
	for c := range s.acc {
		s.acc[c] = s.acc[c][:0]
	}
	s.off = 0
	s.skipUp, s.skipLat, s.skipDown = 0, 0, 0
	for c := range s.up {
		s.up[c].Reset()
		s.down[c].Reset()
	}
	if s.align {
		up, down := s.Delays()
		s.skipUp, s.skipLat, s.skipDown = int(up), s.p.Latency(), int(down)
	}
}

// Write takes the next device-rate input, the same number of samples in every channel.
func (s *Stage) Write(in [][]float32) {
	if s.off > 0 { // what Next took goes: keep only what waits
		for c := range s.acc {
			s.acc[c] = s.acc[c][:copy(s.acc[c], s.acc[c][s.off:])]
		}
		s.off = 0
	}
	skip := s.skipUp
	for c := range s.acc {
		k := len(s.acc[c])
		if s.up == nil {
			s.acc[c] = append(s.acc[c], in[c]...)
		} else {
			s.acc[c] = s.up[c].Process(s.acc[c], in[c])
		}
		s.acc[c], skip = dropFront(s.acc[c], k, s.skipUp)
	}
	s.skipUp = skip
}

// Ready reports whether a whole frame waits for Next.
func (s *Stage) Ready() bool { return s.Buffered() >= s.n }

// Next processes the oldest whole frame (Ready must be true) and returns its output at the
// device rate, one slice per channel, valid until the next call. With Align the first
// outputs are shorter, or empty, while the delays are dropped. An error from the processor
// is returned after the frame's output, whatever the processor left in it, is resampled.
func (s *Stage) Next() ([][]float32, error) {
	for c := range s.frameIn {
		s.frameIn[c] = s.acc[c][s.off : s.off+s.n]
	}
	s.off += s.n
	err := s.p.ProcessChannels(s.res, s.frameIn)
	lat := s.skipLat
	skip := s.skipDown
	for c, res := range s.res {
		k := min(s.skipLat, len(res))
		res, lat = res[k:], s.skipLat-k
		if s.down == nil {
			s.outs[c] = append(s.outs[c][:0], res...)
			continue
		}
		s.outs[c] = s.down[c].Process(s.outs[c][:0], res)
		s.outs[c], skip = dropFront(s.outs[c], 0, s.skipDown)
	}
	s.skipLat, s.skipDown = lat, skip
	return s.outs, err
}

// dropFront removes up to skip samples of x starting at index from, the first output of a
// stage that belongs before the start of the stream, and returns how many are still to
// drop after this.
func dropFront(x []float32, from, skip int) ([]float32, int) {
	k := min(skip, len(x)-from)
	if k <= 0 {
		return x, skip
	}
	return append(x[:from], x[from+k:]...), skip - k
}
