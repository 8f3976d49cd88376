package stream

import (
	"encoding/json"
	"time"
)

// LatencyParts splits the end-to-end latency, microphone to speaker, by where the audio
// waits, in the order it passes. They add up to Stats.EstimatedLatency.
type LatencyParts struct {
	// Capture is the input device's latency (for a PulseAudio monitor source, its sink's
	// too) and what waits for us in the server's record buffer (PulseAudio: measured).
	Capture time.Duration
	// InputRing is input waiting in our ring for the worker.
	InputRing time.Duration
	// Gathering is model-rate input gathered towards the next whole frame: from 0 to a
	// frame, about half a frame on average.
	Gathering time.Duration
	// ResampleIn and ResampleOut are the resamplers' filter delays (device rate → model
	// rate and back).
	ResampleIn, ResampleOut time.Duration
	// Model is the processor's latency: its look-ahead (an STFT model's window − hop).
	Model time.Duration
	// OutputRing is output waiting in our ring for the audio side.
	OutputRing time.Duration
	// ServerQueue is our output waiting in the sound server's playback buffer: the cushion,
	// the margins added after underflows or on a busy machine, and the server's target.
	ServerQueue time.Duration
	// Playback is the output device's own latency (PulseAudio: the sink's).
	Playback time.Duration
}

// Sum is the end-to-end latency the parts make.
func (p LatencyParts) Sum() time.Duration {
	return p.Capture + p.InputRing + p.Gathering + p.ResampleIn + p.Model + p.ResampleOut + p.OutputRing + p.ServerQueue + p.Playback
}

// list names the parts in order, for MarshalJSON and for the mean over a run.
func (p *LatencyParts) list() [9]*time.Duration {
	return [9]*time.Duration{&p.Capture, &p.InputRing, &p.Gathering, &p.ResampleIn, &p.Model, &p.ResampleOut, &p.OutputRing, &p.ServerQueue, &p.Playback}
}

// MarshalJSON writes each part in milliseconds, under keys ending in _ms.
func (p LatencyParts) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Capture     float64 `json:"capture_ms"`
		InputRing   float64 `json:"input_ring_ms"`
		Gathering   float64 `json:"gathering_ms"`
		ResampleIn  float64 `json:"resample_in_ms"`
		Model       float64 `json:"model_ms"`
		ResampleOut float64 `json:"resample_out_ms"`
		OutputRing  float64 `json:"output_ring_ms"`
		ServerQueue float64 `json:"server_queue_ms"`
		Playback    float64 `json:"playback_ms"`
		Total       float64 `json:"total_ms"`
	}{ms(p.Capture), ms(p.InputRing), ms(p.Gathering), ms(p.ResampleIn), ms(p.Model), ms(p.ResampleOut), ms(p.OutputRing), ms(p.ServerQueue), ms(p.Playback), ms(p.Sum())})
}

// latencyMean sums samples of the parts for their mean over a run.
type latencyMean struct {
	sum [9]time.Duration
	n   int64
}

func (m *latencyMean) add(p LatencyParts) {
	for i, d := range p.list() {
		m.sum[i] += *d
	}
	m.n++
}

func (m *latencyMean) mean() (p LatencyParts) {
	if m.n == 0 {
		return p
	}
	for i, d := range p.list() {
		*d = m.sum[i] / time.Duration(m.n)
	}
	return p
}

// seconds turns seconds into a Duration.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
