package eval

import (
	"context"
	"testing"
)

// delayProc is an identity Processor with `lat` samples of delay.
type delayProc struct {
	hop, lat int
	line     []float32
	resets   int
}

func (d *delayProc) SampleRate() int { return 16000 }
func (d *delayProc) FrameSize() int  { return d.hop }
func (d *delayProc) Latency() int    { return d.lat }
func (d *delayProc) Steps() int      { return 2 }
func (d *delayProc) Reset()          { d.line = make([]float32, d.lat); d.resets++ }
func (d *delayProc) Process(out, in []float32) error {
	d.line = append(d.line, in...)
	copy(out, d.line[:len(out)])
	d.line = d.line[len(out):]
	return nil
}

func TestStreamSystemUndoesLatencyAndResets(t *testing.T) {
	p := &delayProc{hop: 160, lat: 37}
	s := &StreamSystem{Name: "delay", Proc: p}
	for _, n := range []int{1000, 160, 3} {
		in := make([]float32, n)
		for i := range in {
			in[i] = float32(i%97) - 48
		}
		out, rate, err := s.Enhance(context.Background(), Pair{}, in, 16000)
		if err != nil || rate != 16000 {
			t.Fatalf("n=%d: rate %d err %v", n, rate, err)
		}
		if len(out) != n {
			t.Fatalf("n=%d: %d samples out", n, len(out))
		}
		for i := range in {
			if out[i] != in[i] {
				t.Fatalf("n=%d: out[%d]=%v, want %v", n, i, out[i], in[i])
			}
		}
	}
	if p.resets != 3 {
		t.Fatalf("%d resets for 3 files", p.resets)
	}
	if got := s.Info(); got.Steps != 2 || got.Kind != KindModel {
		t.Fatalf("info %+v", got)
	}
}
