package session

// Tests of the session without a sound server: fake devices (fakeStream) drive the model
// the way stream.Stream's worker does.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/stream"
)

// halver is a frame processor that halves its input: 16 kHz, 10 ms frames, no latency.
type halver struct{ resets atomic.Int64 }

func (*halver) SampleRate() int { return 16000 }
func (*halver) FrameSize() int  { return 160 }
func (*halver) Latency() int    { return 0 }
func (*halver) Process(out, in []float32) error {
	for i, v := range in {
		out[i] = v / 2
	}
	return nil
}
func (*halver) Steps() int           { return 1 }
func (*halver) MaxSteps() int        { return 1 }
func (*halver) SetSteps(n int) error { return nil }
func (h *halver) Reset()             { h.resets.Add(1) }

// fakeStream runs frames frames of a ramp through the processor, counting one callback
// and one input xrun per frame, calls done if set, then ends with fail, or waits for ctx
// when fail is nil.
type fakeStream struct {
	name   string
	frames int
	fail   error
	done   func()
	input  []float32 // what it fed, in order
	calls  atomic.Int64
	closed atomic.Int64
}

func (f *fakeStream) Run(ctx context.Context, p stream.Processor, opt stream.RunOptions) error {
	n := p.FrameSize()
	in, out := make([]float32, n), make([]float32, n)
	for range f.frames {
		for i := range in {
			in[i] = float32(len(f.input)%1000) / 1000
			f.input = append(f.input, in[i])
		}
		if opt.OnInput != nil {
			opt.OnInput(in)
		}
		if err := p.Process(out, in); err != nil {
			return err
		}
		if opt.OnOutput != nil {
			opt.OnOutput(out)
		}
		f.calls.Add(1)
	}
	if f.done != nil {
		f.done()
	}
	if f.fail != nil {
		return f.fail
	}
	<-ctx.Done()
	return nil
}

func (f *fakeStream) Stats() stream.Stats {
	c := f.calls.Load()
	return stream.Stats{Backend: "fake", Rate: 16000, Block: 160, Callbacks: c, InputXruns: c,
		InputPeak: 0.5, MeanLatency: 42 * time.Millisecond}
}
func (f *fakeStream) Rate() int { return 16000 }
func (f *fakeStream) Devices() (in, out stream.Device) {
	return stream.Device{Name: f.name + " mic"}, stream.Device{Name: f.name + " speaker"}
}
func (f *fakeStream) PulseNames() (source, sink string) { return "", "" }
func (f *fakeStream) Close() error                      { f.closed.Add(1); return nil }

// opener hands out the streams in turn (an error value stands for a failed open) and
// remembers what was asked.
type opener struct {
	mu      sync.Mutex
	next    []any
	opened  []*fakeStream
	configs []stream.Config
}

func (o *opener) open(cfg stream.Config) (Stream, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.configs = append(o.configs, cfg)
	if len(o.next) == 0 {
		return nil, errors.New("fake: no more streams")
	}
	v := o.next[0]
	o.next = o.next[1:]
	if err, ok := v.(error); ok {
		return nil, err
	}
	f := v.(*fakeStream)
	o.opened = append(o.opened, f)
	return f, nil
}

// syncBuffer is a bytes.Buffer safe for the session's two writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func readSummary(t *testing.T, name string) Summary {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, b)
	}
	return s
}

// A device lost while running is reopened after the back-off; the totals span both
// streams, and the run stops cleanly when ctx ends.
func TestReconnectAfterLostDevice(t *testing.T) {
	lost := fmt.Errorf("source rg_mic: %w", stream.ErrDeviceLost)
	first := &fakeStream{name: "first", frames: 30, fail: lost}
	second := &fakeStream{name: "second", frames: 20}
	o := &opener{next: []any{first, second}}
	prepared := 0
	stats := filepath.Join(t.TempDir(), "stats.json")
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- Run(ctx, &halver{}, Config{Model: "half", Reconnect: true, JSONStats: stats, Quiet: true,
			Stream: stream.Config{Input: "rg_mic", Output: "rg_out"},
			Open:   o.open, Prepare: func(context.Context) error { prepared++; return nil }}, &out)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for second.calls.Load() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("the second stream never ran:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if waited := time.Since(start); waited < firstBackoff {
		t.Errorf("reopened after %v, before the %v back-off", waited, firstBackoff)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	text := out.String()
	t.Log(text)
	if !strings.Contains(text, "source rg_mic: audio device lost; retrying in 500ms (--reconnect)") {
		t.Errorf("no retry line:\n%s", text)
	}
	if !strings.Contains(text, `"second mic" → half → "second speaker"`) {
		t.Errorf("no start line for the second stream:\n%s", text)
	}
	if !strings.Contains(text, "live: stopped (signal)") || !strings.Contains(text, "xruns: input 50, output 0") ||
		!strings.Contains(text, "reconnects 1") {
		t.Errorf("summary does not total both streams:\n%s", text)
	}
	if first.closed.Load() != 1 || second.closed.Load() != 1 {
		t.Errorf("closed %d and %d times, want once each", first.closed.Load(), second.closed.Load())
	}
	if prepared != 2 || len(o.configs) != 2 || o.configs[1].Input != "rg_mic" || o.configs[1].Output != "rg_out" {
		t.Errorf("prepared %d times, opened with %+v", prepared, o.configs)
	}
	s := readSummary(t, stats)
	if s.Reconnects != 1 || s.Stream.Callbacks != 50 || s.Stream.InputXruns != 50 || s.Stream.Backend != "fake" ||
		s.Engine.Frames != 50 || s.StoppedBy != "signal" || s.Error != "" || s.Model != "half" || s.ModelRate != 16000 ||
		s.Input != `"second mic"` || s.LatencyMs != 42 {
		t.Errorf("summary: %+v", s)
	}
}

// Without Reconnect the first device error ends the run, and the JSON says why.
func TestLostDeviceWithoutReconnect(t *testing.T) {
	lost := fmt.Errorf("sink rg_out: %w", stream.ErrDeviceLost)
	o := &opener{next: []any{&fakeStream{name: "only", frames: 5, fail: lost}, &fakeStream{name: "never"}}}
	stats := filepath.Join(t.TempDir(), "stats.json")
	var out syncBuffer
	err := Run(context.Background(), &halver{}, Config{Model: "half", JSONStats: stats, Open: o.open}, &out)
	if !errors.Is(err, stream.ErrDeviceLost) {
		t.Fatalf("Run = %v, want ErrDeviceLost", err)
	}
	if len(o.opened) != 1 || o.opened[0].closed.Load() != 1 {
		t.Errorf("opened %d streams; want one, closed", len(o.opened))
	}
	s := readSummary(t, stats)
	if s.StoppedBy != "error" || s.Error != err.Error() || s.Stream.Callbacks != 5 {
		t.Errorf("summary: %+v", s)
	}
	if !strings.Contains(out.String(), "live: stopped (error)") {
		t.Errorf("no summary:\n%s", out.String())
	}
}

// A device that matches nothing, or would record our own output, is a mistake on the
// command line: even with Reconnect the run ends at once.
func TestMistakeEndsRunDespiteReconnect(t *testing.T) {
	for _, base := range []error{stream.ErrNoDevice, stream.ErrFeedback} {
		o := &opener{next: []any{fmt.Errorf("input %q: %w", "typo", base), &fakeStream{name: "never"}}}
		var out syncBuffer
		err := Run(context.Background(), &halver{}, Config{Reconnect: true, Open: o.open}, &out)
		if !errors.Is(err, base) {
			t.Errorf("Run = %v, want %v", err, base)
		}
		if len(o.configs) != 1 || strings.Contains(out.String(), "retrying") {
			t.Errorf("%v: opened %d times, want once, without a retry:\n%s", base, len(o.configs), out.String())
		}
		if strings.Contains(out.String(), "stopped") {
			t.Errorf("a summary with nothing run:\n%s", out.String())
		}
	}
}

// A device that fails to open is retried with a back-off that doubles up to the maximum.
func TestOpenRetriedWithBackoff(t *testing.T) {
	gone := errors.New("connection refused")
	o := &opener{next: []any{gone, gone, gone, &fakeStream{name: "back", frames: 3}}}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, &halver{}, Config{Reconnect: true, Open: o.open, Quiet: true}, &out) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o.mu.Lock()
		n := len(o.opened)
		o.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never reopened:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	text := out.String()
	for _, want := range []string{"retrying in 500ms", "retrying in 1s", "retrying in 2s", "reconnects 3"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
}

// The recorder writes exactly what went into the model and what came out, at the device
// rate, and the summary names its files.
func TestRecordWritesRawAndDenoised(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeStream{name: "rec", frames: 25, done: cancel}
	o := &opener{next: []any{f}}
	stats := filepath.Join(t.TempDir(), "stats.json")
	var out syncBuffer
	if err := Run(ctx, &halver{}, Config{Record: dir, JSONStats: stats, Quiet: true, Open: o.open}, &out); err != nil {
		t.Fatal(err)
	}
	s := readSummary(t, stats)
	if s.StoppedBy != "signal" || len(s.RecordFiles) != 2 || !strings.Contains(out.String(), "wrote "+s.RecordFiles[1]) ||
		!strings.HasSuffix(s.RecordFiles[0], "-raw.wav") || !strings.HasSuffix(s.RecordFiles[1], "-denoised.wav") ||
		!strings.Contains(out.String(), "recording to "+s.RecordFiles[0]) {
		t.Fatalf("summary %+v\n%s", s, out.String())
	}
	raw, fr, err := wav.ReadFile(s.RecordFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	den, fd, err := wav.ReadFile(s.RecordFiles[1])
	if err != nil {
		t.Fatal(err)
	}
	if fr.SampleRate != 16000 || fd.SampleRate != 16000 || len(raw[0]) != len(f.input) || len(den[0]) != len(f.input) {
		t.Fatalf("raw %v %d samples, denoised %v %d samples; fed %d", fr, len(raw[0]), fd, len(den[0]), len(f.input))
	}
	for i, v := range f.input {
		if raw[0][i] != v || den[0][i] != v/2 {
			t.Fatalf("sample %d: raw %v denoised %v, want %v and %v", i, raw[0][i], den[0][i], v, v/2)
		}
	}
	for _, name := range s.RecordFiles {
		if got := headerFrames(t, readBytes(t, name)); got != len(f.input) {
			t.Errorf("%s: header says %d frames, want %d", name, got, len(f.input))
		}
	}
}

func readBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// headerFrames is the frame count a WAV file's data chunk header states (float32 mono),
// checked against the RIFF size and the bytes present: what readers that trust the header
// (sox, ffmpeg, libsndfile) see.
func headerFrames(t *testing.T, b []byte) int {
	t.Helper()
	le := binary.LittleEndian
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("not a WAV file (%d bytes)", len(b))
	}
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(le.Uint32(b[off+4:]))
		if id == "data" {
			if riff := int(le.Uint32(b[4:])); riff != off+size {
				t.Errorf("RIFF size %d, want %d (data chunk at %d of %d bytes)", riff, off+size, off, size)
			}
			if off+8+size > len(b) {
				t.Errorf("data chunk of %d bytes, only %d in the file", size, len(b)-off-8)
			}
			return size / 4
		}
		off += 8 + size + size&1
	}
	t.Fatal("no data chunk")
	return 0
}

// Each run records a new take: a second run into the same folder leaves the first intact.
func TestRecordNewTakeEachRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "takes")
	var files []string
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		f := &fakeStream{name: "rec", frames: 10, done: cancel}
		stats := filepath.Join(t.TempDir(), "stats.json")
		if err := Run(ctx, &halver{}, Config{Record: dir, JSONStats: stats, Quiet: true, Open: (&opener{next: []any{f}}).open}, &syncBuffer{}); err != nil {
			t.Fatal(err)
		}
		cancel()
		files = append(files, readSummary(t, stats).RecordFiles...)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 6 || len(files) != 6 {
		t.Fatalf("%d files in the folder, %d named: %v", len(entries), len(files), files)
	}
	seen := map[string]bool{}
	for _, name := range files {
		if seen[name] {
			t.Errorf("%s recorded twice", name)
		}
		seen[name] = true
		if n := headerFrames(t, readBytes(t, name)); n != 1600 {
			t.Errorf("%s: %d frames, want 1600", name, n)
		}
	}
}

// While a take is being recorded, its files on disk have headers that cover all but the
// last headerEvery of audio: a run killed then (SIGKILL) leaves readable files.
func TestRecordHeaderUpToDateWhileRunning(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const seconds = 5
	var mid []int
	f := &fakeStream{name: "rec", frames: seconds * 100, done: func() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			mid = append(mid, headerFrames(t, readBytes(t, filepath.Join(dir, e.Name()))))
		}
		cancel()
	}}
	if err := Run(ctx, &halver{}, Config{Record: dir, Quiet: true, Open: (&opener{next: []any{f}}).open}, &syncBuffer{}); err != nil {
		t.Fatal(err)
	}
	min := (seconds*time.Second - headerEvery).Seconds() * 16000
	if len(mid) != 2 || float64(mid[0]) < min || float64(mid[1]) < min {
		t.Errorf("headers during the run: %v frames, want 2 files of at least %.0f", mid, min)
	}
}

// fullFile is a file on a disk with room for limit bytes.
type fullFile struct {
	name  string
	limit int
	data  []byte
}

func (f *fullFile) Write(b []byte) (int, error) {
	n := min(len(b), f.limit-len(f.data))
	f.data = append(f.data, b[:n]...)
	if n < len(b) {
		return n, &os.PathError{Op: "write", Path: f.name, Err: syscall.ENOSPC}
	}
	return n, nil
}

func (f *fullFile) WriteAt(b []byte, off int64) (int, error) {
	if int(off)+len(b) > len(f.data) {
		return 0, &os.PathError{Op: "write", Path: f.name, Err: syscall.ENOSPC}
	}
	return copy(f.data[off:], b), nil
}

func (f *fullFile) Close() error { return nil }

// A full disk stops the recording, not the run: a message at once, valid headers over what
// the files hold, no "wrote" in the summary, and the error from Run at the end.
func TestRecordFullDisk(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var files []*fullFile
	create := func(name string) (recordFile, error) {
		f := &fullFile{name: name, limit: 100_001} // 1.5 s and an odd byte
		files = append(files, f)
		return f, nil
	}
	f := &fakeStream{name: "rec", frames: 300, done: func() { time.Sleep(300 * time.Millisecond); cancel() }}
	stats := filepath.Join(t.TempDir(), "stats.json")
	var out syncBuffer
	err := Run(ctx, &halver{}, Config{Record: dir, JSONStats: stats, Quiet: true, Open: (&opener{next: []any{f}}).open, createRecord: create}, &out)
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "recording stopped after") {
		t.Errorf("Run: %v, want the recording's error", err)
	}
	text := out.String()
	s := readSummary(t, stats)
	if strings.Contains(text, "wrote") || !strings.Contains(text, "live: recording stopped after") ||
		s.Engine.Frames != 300 || s.RecordError == "" || len(s.RecordFiles) != 2 || s.StoppedBy != "signal" {
		t.Errorf("summary %+v\n%s", s, text)
	}
	for _, ff := range files {
		n := headerFrames(t, ff.data)
		copyName := filepath.Join(t.TempDir(), "copy.wav")
		if err := os.WriteFile(copyName, ff.data, 0o644); err != nil {
			t.Fatal(err)
		}
		x, _, err := wav.ReadFile(copyName)
		if err != nil {
			t.Fatalf("%s: %v", ff.name, err)
		}
		if want := (len(ff.data) - 58) / 4; n != want || len(x[0]) != n {
			t.Errorf("%s: header %d frames, decoded %d, file holds %d", ff.name, n, len(x[0]), want)
		}
	}
	t.Log(text)
}

// A record directory that cannot be made ends the run with an error naming it, and the
// devices are closed.
func TestRecordDirectoryError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fakeStream{name: "x"}
	o := &opener{next: []any{f}}
	err := Run(context.Background(), &halver{}, Config{Record: filepath.Join(file, "rec"), Reconnect: true, Open: o.open}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "record") || !strings.Contains(err.Error(), file) {
		t.Errorf("Run = %v, want a record error naming %s", err, file)
	}
	if f.closed.Load() != 1 {
		t.Errorf("stream closed %d times, want 1", f.closed.Load())
	}
}

// On a terminal the status line is redrawn in place with the current counts; JSON
// snapshots appear while the run goes on.
func TestStatusLineAndSnapshots(t *testing.T) {
	f := &fakeStream{name: "tty", frames: 7}
	o := &opener{next: []any{f}}
	stats := filepath.Join(t.TempDir(), "stats.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, &halver{}, Config{Model: "half", Terminal: true, JSONStats: stats, Open: o.open}, &out)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(stats); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no JSON snapshot while running")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s := readSummary(t, stats) // a snapshot: the run has not stopped
	if s.StoppedBy != "" || s.Stream.Callbacks != 7 || s.Engine.Frames != 7 {
		t.Errorf("snapshot: %+v", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	text := out.String()
	line := regexp.MustCompile(`\r\x1b\[Kin \[#{9} \]   -6 dB  out \[ *\]  -96 dB  load p99 [0-9.]+  latency  42 ms  xruns in 7 out 0  dropped 0  1 steps`)
	if !line.MatchString(text) {
		t.Errorf("no status line in place:\n%q", text)
	}
	if !strings.Contains(text, "\r\x1b[Klive: stopped (signal)") {
		t.Errorf("the summary does not clear the status line:\n%q", text)
	}
}

// Quiet leaves out the status line but keeps the start line and the summary.
func TestQuiet(t *testing.T) {
	o := &opener{next: []any{&fakeStream{name: "q", frames: 2}}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var out syncBuffer
	if err := Run(ctx, &halver{}, Config{Model: "half", Terminal: true, Quiet: true, Open: o.open}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.Contains(text, "load p99") || !strings.Contains(text, "live: stopped (duration)") ||
		!strings.Contains(text, "(model half at 16000 Hz, 1 steps)") {
		t.Errorf("quiet output:\n%q", text)
	}
}

// slowHalver is a halver whose output lags by half a second, as an offline model run live
// in blocks with 500 ms of context (restoregrad-offline) does.
type slowHalver struct{ halver }

func (*slowHalver) Latency() int { return 8000 }

// The start line names the model's latency when it has one (issue 25: live --model
// restoregrad-offline added half a second, reported nowhere).
func TestStartLineNamesModelLatency(t *testing.T) {
	o := &opener{next: []any{&fakeStream{name: "q", frames: 2}}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var out syncBuffer
	if err := Run(ctx, &slowHalver{}, Config{Model: "slow", Quiet: true, Open: o.open}, &out); err != nil {
		t.Fatal(err)
	}
	if text := out.String(); !strings.Contains(text, "(model slow at 16000 Hz, 1 steps, 500 ms model latency)") {
		t.Errorf("start line without the model's latency:\n%q", text)
	}
}

// The model is reset after each stream, so that a reopened stream starts fresh.
func TestModelResetBetweenStreams(t *testing.T) {
	resets := func(streams ...*fakeStream) int64 {
		h := &halver{}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		streams[len(streams)-1].done = cancel // the last stream ends the run
		o := &opener{}
		for _, f := range streams {
			o.next = append(o.next, f)
		}
		if err := Run(ctx, h, Config{Reconnect: true, Open: o.open}, &syncBuffer{}); err != nil {
			t.Fatal(err)
		}
		if len(o.next) > 0 {
			t.Fatalf("%d streams never opened", len(o.next))
		}
		return h.resets.Load()
	}
	lost := fmt.Errorf("x: %w", stream.ErrDeviceLost)
	one := resets(&fakeStream{name: "a", frames: 1})
	two := resets(&fakeStream{name: "a", frames: 1, fail: lost}, &fakeStream{name: "b", frames: 1})
	if one < 1 || two != one+1 {
		t.Errorf("model reset %d times for one stream, %d for two", one, two)
	}
}

// The JSON stats use snake_case keys only, durations in ms, and name the backend.
func TestSummaryJSONKeys(t *testing.T) {
	var s Summary
	s.Error = "x"
	s.Stream = stream.Stats{DeviceLatency: 50 * time.Millisecond, EstimatedLatency: 70 * time.Millisecond}
	s.Engine = engine.RealtimeStats{BypassTime: 2 * time.Second, ComputeTime: time.Second}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	snake := regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, v := range obj {
			if !snake.MatchString(k) {
				t.Errorf("key %s%s is not snake_case", prefix, k)
			}
			if f, ok := v.(float64); ok && f >= 1e6 {
				t.Errorf("key %s%s = %v: a duration in ns?", prefix, k, f)
			}
			walk(prefix+k+".", v)
		}
	}
	walk("", m)
	st := m["stream"].(map[string]any)
	if st["device_latency_ms"] != 50.0 || st["estimated_latency_ms"] != 70.0 {
		t.Errorf("stream latencies not in ms: %v", st)
	}
	if e := m["engine"].(map[string]any); e["bypass_ms"] != 2000.0 {
		t.Errorf("engine bypass not in ms: %v", e)
	}
}
