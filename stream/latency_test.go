package stream

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// meteredDevice is a backend that reports measured latencies (as PulseAudio does) and
// holds output beyond its target (a pusher), without a sound server.
type meteredDevice struct {
	in, out, sink time.Duration
	held          int
}

func (d *meteredDevice) start() error { return nil }
func (d *meteredDevice) close()       {}
func (d *meteredDevice) latency() (in, out time.Duration) {
	return 3 * time.Millisecond, 30 * time.Millisecond
}
func (d *meteredDevice) measuredLatency() (in, out, sink time.Duration, ok bool) {
	return d.in, d.out, d.sink, d.in > 0
}
func (d *meteredDevice) push()       {}
func (d *meteredDevice) queued() int { return d.held }

// The latency's parts (issue 24 item 15) are each what the stream holds at that place,
// and they add up to EstimatedLatency, to DeviceLatency + Buffered + Algorithmic, and in
// JSON to total_ms: before the server's first measurement (the devices' reported
// latencies, plus what we sent beyond the server's target) and after it (the server's
// buffer measured, which holds what we sent).
func TestLatencyPartsAddUp(t *testing.T) {
	s := &Stream{cfg: Config{Block: 10 * time.Millisecond, Cushion: 5 * time.Millisecond, MaxBacklog: 200 * time.Millisecond}}
	if err := s.setup(48000); err != nil {
		t.Fatal(err)
	}
	dev := &meteredDevice{held: 480}
	s.dev = dev
	s.inRing.WriteZeros(96)   // 2 ms
	s.outRing.WriteZeros(240) // 5 ms
	s.modelRate.Store(16000)
	s.pendingAtModel.Store(128)                            // 8 ms
	s.setAlgorithmic(65.0/16000, 256.0/16000, 195.0/48000) // restoregrad-rt at 48 kHz
	ms := time.Millisecond
	for _, c := range []struct {
		name                   string
		in, out, sink          time.Duration
		capture, queue, output time.Duration
	}{
		{"before the server's measurement", 0, 0, 0, 3 * ms, 10 * ms, 30 * ms},
		{"measured", 4 * ms, 50 * ms, 12 * ms, 4 * ms, 38 * ms, 12 * ms},
	} {
		dev.in, dev.out, dev.sink = c.in, c.out, c.sink
		st := s.Stats()
		p := st.Latency
		want := LatencyParts{Capture: c.capture, InputRing: 2 * ms, Gathering: 8 * ms, ResampleIn: 4062500, Model: 16 * ms,
			ResampleOut: 4062500, OutputRing: 5 * ms, ServerQueue: c.queue, Playback: c.output}
		if p != want {
			t.Errorf("%s: parts\n%+v, want\n%+v", c.name, p, want)
		}
		if p.Sum() != st.EstimatedLatency || st.DeviceLatency+st.Buffered+st.Algorithmic != st.EstimatedLatency {
			t.Errorf("%s: parts sum to %v; estimate %v = devices %v + buffered %v + algorithmic %v", c.name, p.Sum(), st.EstimatedLatency, st.DeviceLatency, st.Buffered, st.Algorithmic)
		}
		var j struct {
			Parts map[string]float64 `json:"latency_parts"`
			Est   float64            `json:"estimated_latency_ms"`
		}
		b, _ := json.Marshal(st)
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for k, v := range j.Parts {
			if k != "total_ms" {
				sum += v
			}
		}
		if len(j.Parts) != 10 || math.Abs(sum-j.Est) > 1e-6 || math.Abs(j.Parts["total_ms"]-j.Est) > 1e-6 {
			t.Errorf("%s: JSON parts %v sum to %.4f ms, total %.4f, estimate %.4f", c.name, j.Parts, sum, j.Parts["total_ms"], j.Est)
		}
	}
}

// Through a running stream (simulated devices, restoregrad-rt's frame and look-ahead at
// 48 kHz) the fixed parts are the resamplers' filter delays and the model's look-ahead,
// and the mean over the run adds up to the mean latency.
func TestLatencyPartsOfARun(t *testing.T) {
	st := runClocksWithProc(t, lookahead16{}, 3*time.Second)
	l := st.Latency
	if l.Model != 16*time.Millisecond {
		t.Errorf("model part %v, want 16ms (256 samples at 16 kHz)", l.Model)
	}
	if l.ResampleIn < 3*time.Millisecond || l.ResampleIn > 5*time.Millisecond || l.ResampleOut < 3*time.Millisecond || l.ResampleOut > 5*time.Millisecond {
		t.Errorf("resamplers %v and %v, want about 4 ms each (dsp/resample's 48↔16 kHz filter)", l.ResampleIn, l.ResampleOut)
	}
	if st.Algorithmic != l.ResampleIn+l.Model+l.ResampleOut {
		t.Errorf("algorithmic %v is not the resamplers and the model %v", st.Algorithmic, l.ResampleIn+l.Model+l.ResampleOut)
	}
	if st.MeanLatencyParts.Sum() != st.MeanLatency {
		t.Errorf("mean parts sum to %v, mean latency %v", st.MeanLatencyParts.Sum(), st.MeanLatency)
	}
}

// lookahead16 is hop16 with restoregrad-rt's 256 samples of look-ahead.
type lookahead16 struct{ hop16 }

func (lookahead16) Latency() int { return 256 }
