package engine

import (
	"testing"
	"time"
)

// Channels under one controller: their compute times add up against one frame period
// (two channels at 0.5 each are one at 1.0: the controller steps down), they always run
// the same steps, and each channel's output is its own input delayed, wet or dry.
func TestRealtimeChannelsShareOneController(t *testing.T) {
	clock := &fakeClock{}
	a := newDelayProc(clock, 80, perStep(0.5/6))
	b := newDelayProc(clock, 80, perStep(0.5/6))
	r, err := NewRealtimeChannels([]FrameProcessor{a, b}, RealtimeConfig{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	if r.Channels() != 2 || r.SampleRate() != 16000 {
		t.Fatalf("channels %d at %d Hz, want 2 at 16000 (the rate of one channel)", r.Channels(), r.SampleRate())
	}
	n, lat := r.FrameSize(), r.Latency()
	in := [][]float32{make([]float32, n), make([]float32, n)}
	out := [][]float32{make([]float32, n), make([]float32, n)}
	for f := range 200 {
		for i := range n {
			in[0][i] = float32(f*n + i + 1)
			in[1][i] = -in[0][i]
		}
		if err := r.ProcessChannels(out, in); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			want := float32(f*n + i + 1 - lat)
			if want < 1 {
				want = 0
			}
			if out[0][i] != want || out[1][i] != -want {
				t.Fatalf("frame %d sample %d: %g, %g, want %g, %g", f, i, out[0][i], out[1][i], want, -want)
			}
		}
		if a.steps != b.steps {
			t.Fatalf("frame %d: channels at %d and %d steps", f, a.steps, b.steps)
		}
	}
	if st := r.Stats(); st.StepChanges == 0 || st.Steps >= 6 {
		t.Errorf("steps %d after %d changes: the load of both channels together (1.0) did not count", st.Steps, st.StepChanges)
	}
	if err := r.Process(out[0], in[0]); err == nil {
		t.Error("Process on two channels: want an error")
	}
}

// A step count one channel refuses changes no channel (issue 25: the channels before it
// had changed, leaving the channels on different step counts).
func TestChannelsSetStepsAllOrNone(t *testing.T) {
	clock := &fakeClock{}
	free := func(int, int) time.Duration { return 0 }
	a, b, c := newDelayProc(clock, 0, free), newDelayProc(clock, 0, free), newDelayProc(clock, 0, free)
	c.max = 3
	for _, p := range []*delayProc{a, b, c} {
		p.steps = 2
	}
	cs, err := NewChannels([]FrameProcessor{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if cs.MaxSteps() != 3 {
		t.Errorf("MaxSteps %d, want 3 (what every channel takes)", cs.MaxSteps())
	}
	if err := cs.SetSteps(4); err == nil {
		t.Fatal("4 steps, which channel 2 refuses: want an error")
	}
	for i, p := range []*delayProc{a, b, c} {
		if p.steps != 2 {
			t.Errorf("channel %d at %d steps after a refused change, want 2", i, p.steps)
		}
	}
	if err := cs.SetSteps(3); err != nil {
		t.Fatal(err)
	}
	for i, p := range []*delayProc{a, b, c} {
		if p.steps != 3 {
			t.Errorf("channel %d at %d steps, want 3", i, p.steps)
		}
	}
}

func TestChannelsMustAgree(t *testing.T) {
	clock := &fakeClock{}
	free := func(int, int) time.Duration { return 0 }
	a, b := newDelayProc(clock, 0, free), newDelayProc(clock, 80, free)
	if _, err := NewChannels([]FrameProcessor{a, b}); err == nil {
		t.Error("latencies 0 and 80: want an error")
	}
	if _, err := NewChannels(nil); err == nil {
		t.Error("no channel: want an error")
	}
	b.lat = 0
	b.fail = func(int) bool { return true }
	cs, _ := NewChannels([]FrameProcessor{a, b})
	out := [][]float32{make([]float32, 160), make([]float32, 160)}
	if err := cs.ProcessChannels(out, out); err == nil {
		t.Error("a failing channel: want its error")
	}
	if a.frame != 1 {
		t.Errorf("channel 0 ran %d frames beside a failing channel 1, want 1 (the streams stay in step)", a.frame)
	}
}
