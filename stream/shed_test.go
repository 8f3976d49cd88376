package stream

import (
	"math"
	"testing"
)

func TestShedderAtSpeedOneIsADelay(t *testing.T) {
	var sh shedder
	var out []float32
	in := make([]float32, 0, 1000)
	for i := range 1000 {
		in = append(in, float32(math.Sin(float64(i)*0.01)))
	}
	for k := 0; k < len(in); k += 160 {
		out = sh.process(out, in[k:min(k+160, len(in))], 1)
	}
	if len(out) != len(in) || out[0] != 0 {
		t.Fatalf("len %d, first %v", len(out), out[0])
	}
	for i := 1; i < len(out); i++ {
		if out[i] != in[i-1] {
			t.Fatalf("out[%d] = %v, want in[%d] = %v", i, out[i], i-1, in[i-1])
		}
	}
}

func TestShedderSpeedsUpSmoothly(t *testing.T) {
	var sh shedder
	var out []float32
	n := 48000
	for k := 0; k < n; k += 480 {
		in := make([]float32, 480)
		for i := range in {
			in[i] = float32(math.Sin(2 * math.Pi * 200 * float64(k+i) / 48000))
		}
		out = sh.process(out, in, 1.04)
	}
	if want := float64(n) / 1.04; math.Abs(float64(len(out))-want) > 2 {
		t.Fatalf("%d samples out of %d at speed 1.04, want %.0f", len(out), n, want)
	}
	// A 200 Hz sine stays a sine (now 208 Hz): no jumps between calls.
	for i := 1; i < len(out); i++ {
		if d := math.Abs(float64(out[i] - out[i-1])); d > 2*math.Pi*208/48000*1.01 {
			t.Fatalf("jump of %.4f at %d", d, i)
		}
	}
}

func TestShedderSlowsDownSmoothly(t *testing.T) {
	var sh shedder
	var out []float32
	n := 63 * 768 // 16 ms frames at 48 kHz
	for k := 0; k < n; k += 768 {
		in := make([]float32, 768)
		for i := range in {
			in[i] = float32(math.Sin(2 * math.Pi * 200 * float64(k+i) / 48000))
		}
		out = sh.process(out, in, 1-maxStretch)
	}
	if want := float64(n) / (1 - maxStretch); math.Abs(float64(len(out))-want) > 2 {
		t.Fatalf("%d samples out of %d at speed %g, want %.0f", len(out), n, 1-maxStretch, want)
	}
	// A 200 Hz sine stays a sine (now 196 Hz): no jumps between calls.
	for i := 1; i < len(out); i++ {
		if d := math.Abs(float64(out[i] - out[i-1])); d > 2*math.Pi*200/48000*1.01 {
			t.Fatalf("jump of %.4f at %d", d, i)
		}
	}
}
