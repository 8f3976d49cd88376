package eval

import (
	"testing"
	"time"
)

// BenchPaced feeds one frame per hop (so it takes the audio's time) and times only the
// frames, over at most the seconds asked for.
func TestBenchPaced(t *testing.T) {
	p := &fakeFrames{prev: make([]float32, 160)}
	start := time.Now()
	rtf, ft, err := BenchPaced(p, BenchSignal(2, 16000), 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("0.5 s of 10 ms frames took %v: not paced", took)
	}
	if ft == nil || ft.Frames != 50 {
		t.Fatalf("frame times %+v, want 50 frames", ft)
	}
	if rtf <= 0 || rtf > 0.5 {
		t.Errorf("RTF %v of a frame copy, want a small positive figure (the waits between frames not counted)", rtf)
	}
	if _, _, err := BenchPaced(p, make([]float32, 100), 1); err == nil {
		t.Error("a signal shorter than a frame: want an error")
	}
}
