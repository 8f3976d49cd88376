package engine

import (
	"strings"
	"testing"
)

// A passthrough copies its input, late by the latency it reports, at the rate its name
// gives; a name with an unknown option is refused with the form it takes.
func TestPassthrough(t *testing.T) {
	p, err := NewPassthrough("passthrough:16000,latency=80", 2)
	if err != nil {
		t.Fatal(err)
	}
	if p.SampleRate() != 16000 || p.FrameSize() != 160 || p.Latency() != 80 || p.Steps() != 2 {
		t.Fatalf("rate %d, frame %d, latency %d, steps %d", p.SampleRate(), p.FrameSize(), p.Latency(), p.Steps())
	}
	var in, out []float32
	for i := range 3 * 160 {
		in = append(in, float32(i+1))
	}
	for f := 0; f < len(in); f += 160 {
		o := make([]float32, 160)
		if err := p.Process(o, in[f:f+160]); err != nil {
			t.Fatal(err)
		}
		out = append(out, o...)
	}
	for i, v := range out {
		want := float32(0)
		if i >= 80 {
			want = in[i-80]
		}
		if v != want {
			t.Fatalf("out[%d] = %v, want %v", i, v, want)
		}
	}
	if err := p.SetSteps(passthroughMaxSteps + 1); err == nil {
		t.Error("SetSteps beyond the range: no error")
	}
	if !IsPassthrough("passthrough") || !IsPassthrough("passthrough:48000") || IsPassthrough("passthroughs") {
		t.Error("IsPassthrough")
	}
	if _, err := NewPassthrough("passthrough:16000,speed=2", 0); err == nil || !strings.Contains(err.Error(), "want passthrough[:RATE]") {
		t.Errorf("unknown option: %v", err)
	}
}
