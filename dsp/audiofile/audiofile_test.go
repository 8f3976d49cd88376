package audiofile

import (
	"bytes"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/wav"
)

// need skips the test when a command it uses is not installed.
func need(t *testing.T, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s is not installed (make setup installs it): skipping", c)
		}
	}
}

// run runs a command and fails the test with its output when it fails.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// tone is a different chord on every channel, quantised to bits (as a file holds it).
func tone(channels, frames, rate, bits int) [][]float32 {
	scale := math.Ldexp(1, bits-1)
	x := make([][]float32, channels)
	for c := range x {
		x[c] = make([]float32, frames)
		for i := range x[c] {
			t := float64(i) / float64(rate)
			v := 0.3*math.Sin(2*math.Pi*float64(220*(c+1))*t) + 0.2*math.Sin(2*math.Pi*1234*t+float64(c))
			x[c][i] = float32(math.Round(v*scale) / scale)
		}
	}
	return x
}

func equal(t *testing.T, what string, got, want [][]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d channels, want %d", what, len(got), len(want))
	}
	for c := range want {
		if len(got[c]) != len(want[c]) {
			t.Fatalf("%s: channel %d has %d frames, want %d", what, c, len(got[c]), len(want[c]))
		}
		for i := range want[c] {
			if got[c][i] != want[c][i] {
				t.Fatalf("%s: channel %d frame %d = %v, want %v", what, c, i, got[c][i], want[c][i])
			}
		}
	}
}

// A FLAC that sox made from a WAV decodes to the WAV's samples, bit for bit.
func TestReadFLACMatchesWAV(t *testing.T) {
	need(t, "sox")
	dir := t.TempDir()
	for _, f := range []wav.Format{
		{SampleRate: 44100, Channels: 2, BitsPerSample: 16},
		{SampleRate: 24000, Channels: 1, BitsPerSample: 24}, // 24 kHz: mewkiz/flac logs a line per frame
		{SampleRate: 48000, Channels: 3, BitsPerSample: 24},
		{SampleRate: 8000, Channels: 1, BitsPerSample: 8},
	} {
		x := tone(f.Channels, f.SampleRate+1234, f.SampleRate, f.BitsPerSample)
		in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "in.flac")
		if err := wav.WriteFile(in, x, f); err != nil {
			t.Fatal(err)
		}
		run(t, "sox", in, out)
		y, g, err := ReadFile(out)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		want := Format{Codec: FLAC, SampleRate: f.SampleRate, Channels: f.Channels, BitsPerSample: f.BitsPerSample}
		if g != want {
			t.Errorf("format %v, want %v", g, want)
		}
		equal(t, f.String(), y, x)
	}
}

// What Create writes as FLAC reads back bit for bit here, and sox and ffmpeg read the same
// samples, for every depth and channel count written and lengths around the block size.
func TestWriteFLACRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		rate, ch, bits, frames int
	}{
		{44100, 2, 16, 2*flacBlock + 5}, {48000, 1, 24, flacBlock}, {16000, 1, 16, 1},
		{22050, 8, 8, 17}, {96000, 2, 20, 3000}, {11025, 1, 12, 5000}, {44101, 1, 16, 100}, // 44101: a rate the frame header holds only in Hz
	} {
		f := Format{Codec: FLAC, SampleRate: c.rate, Channels: c.ch, BitsPerSample: c.bits}
		x := tone(c.ch, c.frames, c.rate, c.bits)
		name := filepath.Join(dir, "out.flac")
		if err := WriteFile(name, x, f); err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		y, g, err := ReadFile(name)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		if g != f {
			t.Errorf("read back %v, wrote %v", g, f)
		}
		equal(t, f.String(), y, x)
		// Other decoders agree (where they are installed), as 32-bit samples.
		for _, tool := range [][]string{{"sox", name, "-t", "s32", "-"}, {"ffmpeg", "-v", "error", "-i", name, "-f", "s32le", "-"}} {
			if _, err := exec.LookPath(tool[0]); err != nil {
				continue
			}
			if c.bits == 12 && tool[0] == "sox" || c.bits == 20 && tool[0] == "sox" {
				continue // sox reads 12 and 20-bit FLAC into 16 and 24-bit containers alike, checked by ffmpeg
			}
			out, err := exec.Command(tool[0], tool[1:]...).Output()
			if err != nil {
				t.Fatalf("%v: %s: %v", f, tool[0], err)
			}
			if len(out) != 4*c.ch*c.frames {
				t.Fatalf("%v: %s decoded %d bytes, want %d", f, tool[0], len(out), 4*c.ch*c.frames)
			}
			for i := 0; i < c.frames; i++ {
				for ch := 0; ch < c.ch; ch++ {
					v := int32(le.Uint32(out[4*(i*c.ch+ch):]))
					if got := float32(float64(v) / (1 << 31)); got != x[ch][i] {
						t.Fatalf("%v: %s frame %d ch %d = %v, want %v", f, tool[0], i, ch, got, x[ch][i])
					}
				}
			}
		}
	}
}

// The MP3 decoder keeps the stream's rate and channels, drops the encoder delay and
// padding the LAME/Info tag announces (the original's length and alignment come back),
// and is within 16-bit rounding of ffmpeg's decoder.
func TestReadMP3(t *testing.T) {
	need(t, "ffmpeg")
	dir := t.TempDir()
	for _, c := range []struct{ rate, ch, frames int }{{44100, 2, 88200}, {24000, 1, 30001}, {16000, 1, 12345}} {
		x := tone(c.ch, c.frames, c.rate, 16)
		in, mp3, ref := filepath.Join(dir, "in.wav"), filepath.Join(dir, "in.mp3"), filepath.Join(dir, "ref.wav")
		if err := wav.WriteFile(in, x, wav.Format{SampleRate: c.rate, Channels: c.ch, BitsPerSample: 16}); err != nil {
			t.Fatal(err)
		}
		run(t, "ffmpeg", "-v", "error", "-y", "-i", in, "-b:a", "128k", mp3)
		run(t, "ffmpeg", "-v", "error", "-y", "-i", mp3, "-c:a", "pcm_s16le", ref)
		y, g, err := ReadFile(mp3)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if g.Codec != MP3 || g.SampleRate != c.rate || g.Channels != c.ch || g.BitsPerSample != 16 {
			t.Fatalf("format %v for a %d Hz %d-channel MP3", g, c.rate, c.ch)
		}
		if len(y[0]) != c.frames {
			t.Errorf("%d Hz: %d frames decoded from an MP3 of %d", c.rate, len(y[0]), c.frames)
		}
		r, _, err := wav.ReadFile(ref)
		if err != nil {
			t.Fatal(err)
		}
		lag, snr := bestLag(y[0], r[0], 3000)
		_, orig := bestLag(y[0], x[0], 0)
		t.Logf("%d Hz %d ch: against ffmpeg's decoding lag %d, %.1f dB SNR; against the original %.1f dB SNR", c.rate, c.ch, lag, snr, orig)
		if lag != 0 || snr < 60 {
			t.Errorf("%d Hz %d ch: go-mp3 differs from ffmpeg's decoding: lag %d, %.1f dB SNR", c.rate, c.ch, lag, snr)
		}
	}
}

// bestLag returns the lag of y against ref (y[i+lag] ~ ref[i]) up to max with the best
// SNR, and that SNR in dB.
func bestLag(y, ref []float32, maxLag int) (int, float64) {
	best, bestSNR := 0, math.Inf(-1)
	for lag := 0; lag <= maxLag; lag++ {
		var num, den float64
		for i := range ref {
			if i+lag >= len(y) {
				break
			}
			d := float64(y[i+lag] - ref[i])
			num += d * d
			den += float64(ref[i]) * float64(ref[i])
		}
		if snr := 10 * math.Log10(den/num); snr > bestSNR {
			best, bestSNR = lag, snr
		}
	}
	return best, bestSNR
}

// Formats it does not read, and files that are not audio, get one line that names the
// file and says how to convert it.
func TestUnsupportedFormats(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"a.ogg":    "OggS\x00\x02" + strings.Repeat("\x00", 30),
		"b.m4a":    "\x00\x00\x00\x20ftypM4A " + strings.Repeat("\x00", 30),
		"c.aac":    "\xff\xf1\x50\x80" + strings.Repeat("\x00", 30),
		"d.mp2":    "\xff\xfd\x90\x00" + strings.Repeat("\x00", 30),
		"e.txt":    "hello, world\n",
		"f.aiff":   "FORM\x00\x00\x00\x10AIFFCOMM",
		"g a.webm": "\x1a\x45\xdf\xa3" + strings.Repeat("\x00", 30),
	}
	for name, content := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(p)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, p+": ") || strings.Contains(msg, "\n") || !strings.Contains(msg, "convert it with `ffmpeg -i ") {
			t.Errorf("%s: %q is not one line naming the file with the ffmpeg advice", name, msg)
		}
	}
	// The advice quotes a name with a space for the shell.
	_, err := Open(filepath.Join(dir, "g a.webm"))
	if !strings.Contains(err.Error(), "'"+filepath.Join(dir, "g a.webm")+"'") {
		t.Errorf("name not quoted: %v", err)
	}
	p := filepath.Join(dir, "empty.wav")
	os.WriteFile(p, nil, 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "empty file") {
		t.Errorf("empty file: %v", err)
	}
}

// Damaged FLAC files end in one line that names the file: a truncated file (after the
// frames before the cut) and a flipped bit (CRC).
func TestDamagedFLAC(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "x.flac")
	x := tone(2, 3*flacBlock, 44100, 16)
	if err := WriteFile(name, x, Format{Codec: FLAC, SampleRate: 44100, Channels: 2, BitsPerSample: 16}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(name)
	for what, b := range map[string][]byte{
		"truncated":          good[:len(good)*2/3],
		"CRC":                flip(good, len(good)/2),
		"last frame cut off": good[:frameStart(t, good, 2)],
	} {
		p := filepath.Join(dir, "bad.flac")
		os.WriteFile(p, b, 0o644)
		_, _, err := ReadFile(p)
		if err == nil {
			t.Errorf("%s: no error", what)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, p+": flac: ") || strings.Contains(msg, "\n") || strings.Contains(msg, "\x1b") || strings.Contains(msg, ".go:") {
			t.Errorf("%s: %q is not one clean line naming the file", what, msg)
		} else {
			t.Logf("%s: %s", what, msg)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x10
	return c
}

// frameStart returns the offset of FLAC frame n (counting from 0) in b, by its sync code
// and frame number as this package writes them.
func frameStart(t *testing.T, b []byte, n int) int {
	t.Helper()
	for i := 4; i+4 < len(b); i++ {
		if b[i] == 0xFF && b[i+1] == 0xF8 && int(b[i+4]) == n {
			return i
		}
	}
	t.Fatalf("no frame %d", n)
	return 0
}

// NewReader's Read honours the contract: frames, then 0 and io.EOF; a sticky error.
func TestReaderEOF(t *testing.T) {
	x := tone(1, 10, 16000, 16)
	name := filepath.Join(t.TempDir(), "x.flac")
	if err := WriteFile(name, x, Format{Codec: FLAC, SampleRate: 16000, Channels: 1, BitsPerSample: 16}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(name)
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.Frames() != 10 {
		t.Errorf("Frames() = %d", r.Frames())
	}
	dst := [][]float32{make([]float32, 4)}
	total := 0
	for {
		n, err := r.Read(dst)
		total += n
		if err == io.EOF {
			break
		}
		if err != nil || n == 0 {
			t.Fatalf("Read = %d, %v", n, err)
		}
	}
	if total != 10 {
		t.Errorf("read %d frames", total)
	}
	if n, err := r.Read(dst); n != 0 || err != io.EOF {
		t.Errorf("after the end: %d, %v", n, err)
	}
}

func TestOutputFormat(t *testing.T) {
	cases := []struct {
		name string
		in   Format
		want Format
	}{
		{"o.wav", Format{WAV, 8000, 1, 8, false}, Format{WAV, 8000, 1, 8, false}},
		{"o.wav", Format{WAV, 8000, 1, 64, true}, Format{WAV, 8000, 1, 64, true}},
		{"o.WAV", Format{FLAC, 44100, 2, 20, false}, Format{WAV, 44100, 2, 24, false}},
		{"o", Format{MP3, 44100, 2, 16, false}, Format{WAV, 44100, 2, 16, false}},
		{"o.flac", Format{WAV, 48000, 2, 32, true}, Format{FLAC, 48000, 2, 24, false}},
		{"o.flac", Format{WAV, 48000, 2, 32, false}, Format{FLAC, 48000, 2, 24, false}},
		{"o.FLAC", Format{WAV, 48000, 1, 8, false}, Format{FLAC, 48000, 1, 8, false}},
		{"o.flac", Format{MP3, 44100, 1, 16, false}, Format{FLAC, 44100, 1, 16, false}},
	}
	for _, c := range cases {
		got, err := OutputFormat(c.name, c.in)
		if err != nil || got != c.want {
			t.Errorf("OutputFormat(%s, %v) = %v, %v; want %v", c.name, c.in, got, err, c.want)
		}
	}
	for _, bad := range []struct {
		name string
		in   Format
		want string
	}{
		{"o.mp3", Format{WAV, 8000, 1, 16, false}, "writing MP3 files is not supported; write .wav or .flac"},
		{"o.ogg", Format{WAV, 8000, 1, 16, false}, "writing OGG files is not supported"},
		{"o.flac", Format{WAV, 8000, 9, 16, false}, "at most 8 channels"},
	} {
		_, err := OutputFormat(bad.name, bad.in)
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.HasPrefix(err.Error(), bad.name+": ") {
			t.Errorf("OutputFormat(%s, %v): %v, want %q", bad.name, bad.in, err, bad.want)
		}
	}
}

// A failed write leaves nothing under the name, nor a temporary file.
func TestCreateAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.flac", "b.wav"} {
		p := filepath.Join(dir, name)
		f, _ := OutputFormat(p, Format{WAV, 16000, 1, 16, false})
		w, err := Create(p, f)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(tone(1, 5000, 16000, 16)); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(tone(2, 10, 16000, 16)); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: wrong channel count: %v", name, err)
		}
		w.Abort()
		w.Abort()
		if err := w.Commit(); err != nil {
			t.Errorf("Commit after Abort: %v", err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %d entries, e.g. %s", len(entries), entries[0].Name())
	}
}

func TestWritableName(t *testing.T) {
	for in, want := range map[string]string{"a.wav": "a.wav", "b.FLAC": "b.FLAC", "c.mp3": "c.wav", "d": "d.wav", "e.Mp3": "e.wav"} {
		if got := WritableName(in); got != want {
			t.Errorf("WritableName(%s) = %s, want %s", in, got, want)
		}
	}
}
