package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// Bench modes.
const (
	ModeOffline   = "offline"   // whole file through the chunked engine
	ModeStreaming = "streaming" // frame by frame through a Processor
)

// BenchResult is the timing of one configuration: the real-time factor (compute time
// over audio time) as the median of Runs timed runs after one untimed warm-up run.
type BenchResult struct {
	Name    string  `json:"name"`
	Mode    string  `json:"mode"`
	Steps   int     `json:"steps"`
	Threads int     `json:"threads"`
	Audio   float64 `json:"audio_seconds"`
	Runs    int     `json:"runs"`
	RTF     float64 `json:"rtf"` // median
	RTFMin  float64 `json:"rtf_min"`
	RTFMax  float64 `json:"rtf_max"`
	// LatencyMS is the algorithmic latency: for streaming, one frame of buffering plus the
	// processor's output lag; for offline, how much input the engine needs before it
	// emits the first output sample (a chunk and its margin, or the whole file when it is
	// shorter).
	LatencyMS float64 `json:"latency_ms"`
	// PeakRSSMB is the process's peak resident set size after this configuration ran
	// (getrusage; it never decreases within a process).
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// Frame holds the streaming mode's per-frame compute times over the timed runs.
	Frame *FrameTimes `json:"frame,omitempty"`
	// PacedRTF is the streaming mode's real-time factor with one frame per hop, as live
	// feeds it (the compute time over the audio time; BenchPaced), and PacedFrame its
	// per-frame times; 0 and nil when not measured. Back to back, a small model's weights
	// and activations stay in the caches from one frame to the next; a frame per hop finds
	// them evicted by whatever ran in between, and costs that much more.
	PacedRTF   float64     `json:"paced_rtf,omitempty"`
	PacedFrame *FrameTimes `json:"paced_frame,omitempty"`
}

// FrameTimes summarises per-frame compute times, in milliseconds.
type FrameTimes struct {
	Frames int     `json:"frames"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// frameTimes summarises durations (sorted in place).
func frameTimes(d []time.Duration) *FrameTimes {
	if len(d) == 0 {
		return nil
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		i := min(len(d)-1, int(math.Ceil(p*float64(len(d))))-1)
		return float64(d[max(0, i)]) / float64(time.Millisecond)
	}
	return &FrameTimes{Frames: len(d), P50: q(0.50), P99: q(0.99), Max: float64(d[len(d)-1]) / float64(time.Millisecond)}
}

// BenchSignal is a deterministic speech-like test signal (voiced bursts with pauses,
// plus pink-ish noise) of the given length, for timing when no file is given.
func BenchSignal(seconds float64, rate int) []float32 {
	n := int(seconds * float64(rate))
	x := make([]float32, n)
	r := rand.New(rand.NewPCG(1, 2))
	var lp float64
	for i := range x {
		t := float64(i) / float64(rate)
		env := math.Max(0, math.Sin(2*math.Pi*2.5*t))
		v := 0.0
		for h := 1; h <= 10; h++ {
			v += math.Sin(2*math.Pi*120*float64(h)*t) / float64(h)
		}
		lp = 0.95*lp + 0.05*r.NormFloat64()
		x[i] = float32(0.1*env*v + 0.05*lp)
	}
	return x
}

// PeakRSSMB returns the process's peak resident set size in MiB (0 where unsupported).
func PeakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

func timeRuns(runs int, audio float64, once func() error) (med, lo, hi float64, err error) {
	if runs < 1 {
		return 0, 0, 0, errors.New("bench: runs must be at least 1")
	}
	if err := once(); err != nil { // warm-up, not timed
		return 0, 0, 0, err
	}
	rtf := make([]float64, runs)
	for i := range rtf {
		t0 := time.Now()
		if err := once(); err != nil {
			return 0, 0, 0, err
		}
		rtf[i] = time.Since(t0).Seconds() / audio
	}
	slices.Sort(rtf)
	med = rtf[runs/2]
	if runs%2 == 0 {
		med = (rtf[runs/2-1] + rtf[runs/2]) / 2
	}
	return med, rtf[0], rtf[runs-1], nil
}

// BenchOffline times enh on x (at enh's rate) through engine.Offline, feeding it 10 ms
// blocks as a reader would, with default chunking.
func BenchOffline(name string, enh engine.Enhancer, steps, threads int, x []float32, runs int, noise sampler.Noise) (BenchResult, error) {
	rate := enh.SampleRate()
	if len(x) == 0 {
		return BenchResult{}, errors.New("bench: empty signal")
	}
	audio := float64(len(x)) / float64(rate)
	block := max(1, rate/100)
	firstAt := -1
	once := func() error {
		off, err := engine.NewOffline(enh, engine.ChunkConfig{}, steps, noise, 1)
		if err != nil {
			return err
		}
		written, emitted := 0, 0
		emit := func(p []float32) error {
			if emitted == 0 && len(p) > 0 {
				firstAt = written
			}
			emitted += len(p)
			return nil
		}
		for written < len(x) {
			n := min(block, len(x)-written)
			written += n
			if err := off.Write(x[written-n:written], emit); err != nil {
				return err
			}
		}
		if err := off.Flush(emit); err != nil {
			return err
		}
		if emitted != len(x) {
			return fmt.Errorf("bench: engine emitted %d samples for %d", emitted, len(x))
		}
		return nil
	}
	med, lo, hi, err := timeRuns(runs, audio, once)
	if err != nil {
		return BenchResult{}, fmt.Errorf("%s@%d: %w", name, steps, err)
	}
	return BenchResult{
		Name: name, Mode: ModeOffline, Steps: steps, Threads: threads, Audio: audio, Runs: runs,
		RTF: med, RTFMin: lo, RTFMax: hi,
		LatencyMS: 1000 * float64(firstAt) / float64(rate),
		PeakRSSMB: PeakRSSMB(),
	}, nil
}

// BenchStream times p frame by frame over x (at p's rate), Reset before each run.
func BenchStream(name string, p Processor, threads int, x []float32, runs int) (BenchResult, error) {
	fs := p.FrameSize()
	if fs <= 0 {
		return BenchResult{}, fmt.Errorf("%s: frame size %d", name, fs)
	}
	n := len(x) / fs * fs
	if n == 0 {
		return BenchResult{}, fmt.Errorf("%s: signal shorter than one %d-sample frame", name, fs)
	}
	audio := float64(n) / float64(p.SampleRate())
	out := make([]float32, fs)
	frames := make([]time.Duration, 0, runs*n/fs)
	run := 0
	once := func() error {
		timed := run > 0 // the first run warms up
		run++
		p.Reset()
		for i := 0; i < n; i += fs {
			t0 := time.Now()
			if err := p.Process(out, x[i:i+fs]); err != nil {
				return err
			}
			if timed {
				frames = append(frames, time.Since(t0))
			}
		}
		return nil
	}
	med, lo, hi, err := timeRuns(runs, audio, once)
	if err != nil {
		return BenchResult{}, fmt.Errorf("%s: %w", name, err)
	}
	return BenchResult{
		Name: name, Mode: ModeStreaming, Steps: p.Steps(), Threads: threads, Audio: audio, Runs: runs,
		RTF: med, RTFMin: lo, RTFMax: hi,
		LatencyMS: 1000 * float64(fs+p.Latency()) / float64(p.SampleRate()),
		PeakRSSMB: PeakRSSMB(),
		Frame:     frameTimes(frames),
	}, nil
}

// BenchPaced times p frame by frame over at most seconds of x (at p's rate), one frame
// per hop (sleeping until the next frame is due, as a live input delivers them), Reset
// first, after one untimed frame. It returns the compute time over the audio time and the
// per-frame times: what live reports as its RTF, to set beside BenchStream's back-to-back
// figure.
func BenchPaced(p Processor, x []float32, seconds float64) (float64, *FrameTimes, error) {
	fs := p.FrameSize()
	if fs <= 0 {
		return 0, nil, fmt.Errorf("frame size %d", fs)
	}
	n := min(len(x), int(seconds*float64(p.SampleRate()))) / fs * fs
	if n == 0 {
		return 0, nil, fmt.Errorf("signal shorter than one %d-sample frame", fs)
	}
	hop := time.Duration(float64(fs) / float64(p.SampleRate()) * float64(time.Second))
	out := make([]float32, fs)
	p.Reset()
	if err := p.Process(out, x[:fs]); err != nil {
		return 0, nil, err
	}
	p.Reset()
	frames := make([]time.Duration, 0, n/fs)
	var total time.Duration
	next := time.Now()
	for i := 0; i < n; i += fs {
		next = next.Add(hop)
		time.Sleep(time.Until(next))
		t0 := time.Now()
		if err := p.Process(out, x[i:i+fs]); err != nil {
			return 0, nil, err
		}
		d := time.Since(t0)
		total += d
		frames = append(frames, d)
	}
	return total.Seconds() / (float64(n) / float64(p.SampleRate())), frameTimes(frames), nil
}

// WriteBenchTable prints one row per configuration.
func WriteBenchTable(w io.Writer, results []BenchResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tmode\tsteps\tthreads\taudio s\truns\tRTF (median)\tmin\tmax\tx real time\tpaced RTF\tlatency ms\tpeak RSS MiB\t")
	for _, r := range results {
		steps := "-"
		if r.Steps > 0 {
			steps = strconv.Itoa(r.Steps)
		}
		paced := "-"
		if r.PacedRTF > 0 {
			paced = fmt.Sprintf("%.4f", r.PacedRTF)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f\t%d\t%.4f\t%.4f\t%.4f\t%.1f\t%s\t%.0f\t%.0f\t\n",
			r.Name, r.Mode, steps, r.Threads, r.Audio, r.Runs, r.RTF, r.RTFMin, r.RTFMax, 1/r.RTF, paced, r.LatencyMS, r.PeakRSSMB)
	}
	return tw.Flush()
}

// WriteBenchJSON writes {"results":[...]}.
func WriteBenchJSON(w io.Writer, results []BenchResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Results []BenchResult `json:"results"`
	}{results})
}
