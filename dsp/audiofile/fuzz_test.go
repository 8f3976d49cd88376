package audiofile

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzRead runs the reader entry over b as the commands do (NewReader, then Read in small
// blocks) and checks the contract: an error is one line with a codec's prefix, never a
// panic or a hang; a stream that opens has a sane format, and every sample decoded is in
// [-1, 1].
func fuzzRead(t *testing.T, b []byte) {
	done := make(chan error, 1)
	go func() { done <- readAll(b) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no answer after 10 s on %d bytes", len(b))
	}
}

// readAll is fuzzRead's work; it returns what breaks the contract.
func readAll(b []byte) error {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return checkMsg(err)
	}
	f := r.Format()
	if f.Channels < 1 || f.Channels > 1024 || f.SampleRate < 1 || f.BitsPerSample < 1 {
		return fmt.Errorf("NewReader accepted %v", f)
	}
	buf := make([][]float32, f.Channels)
	for c := range buf {
		buf[c] = make([]float32, 700)
	}
	var total int
	for total < 1<<20 { // a FLAC frame of a few bytes can hold 65535 frames: bound the work
		n, err := r.Read(buf)
		if n < 0 || n > 700 {
			return fmt.Errorf("Read returned n = %d", n)
		}
		for c := range buf {
			for _, v := range buf[c][:n] {
				if !(v >= -1 && v <= 1) {
					return fmt.Errorf("decoded sample %v", v)
				}
			}
		}
		total += n
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if err := checkMsg(err); err != nil {
				return err
			}
			if n2, err2 := r.Read(buf); n2 != 0 || err2 == nil || err2.Error() != err.Error() {
				return fmt.Errorf("after error %q: Read = %d, %v", err, n2, err2)
			}
			return nil
		}
	}
	return nil
}

func checkMsg(err error) error {
	msg := err.Error()
	ok := false
	for _, p := range []string{"wav: ", "flac: ", "mp3: ", "audiofile: "} {
		ok = ok || strings.HasPrefix(msg, p)
	}
	if !ok || strings.Contains(msg, "\n") || strings.Contains(msg, "\x1b") {
		return fmt.Errorf("error %q is not one clean line with a codec's prefix", msg)
	}
	return nil
}

func FuzzFLAC(f *testing.F) {
	dir := f.TempDir()
	for _, c := range []struct{ rate, ch, bits, frames int }{{16000, 1, 16, 300}, {44100, 2, 24, 5000}, {8000, 3, 8, 20}, {11025, 1, 12, 100}} {
		name := filepath.Join(dir, "seed.flac")
		if err := WriteFile(name, tone(c.ch, c.frames, c.rate, c.bits), Format{Codec: FLAC, SampleRate: c.rate, Channels: c.ch, BitsPerSample: c.bits}); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(name)
		f.Add(b)
	}
	f.Add([]byte("fLaC\x80\x00\x00\x22"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b) })
}

func FuzzMP3(f *testing.F) {
	for _, name := range []string{"tone-mono.mp3", "tone-stereo-id3.mp3"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	f.Add([]byte("ID3\x04\x00\x00\x7f\x7f\x7f\x7f"))
	f.Add([]byte("\xff\xfb\x90\x00"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b) })
}

// The seeds themselves decode as they should.
func TestFuzzSeeds(t *testing.T) {
	for _, c := range []struct {
		name string
		ch   int
	}{{"tone-mono.mp3", 1}, {"tone-stereo-id3.mp3", 2}} {
		x, f, err := ReadFile(filepath.Join("testdata", c.name))
		if err != nil {
			t.Fatal(err)
		}
		var peak float64
		for _, v := range x[0] {
			peak = math.Max(peak, math.Abs(float64(v)))
		}
		if f.Codec != MP3 || f.Channels != c.ch || f.SampleRate != 16000 || peak < 0.3 {
			t.Errorf("%s: %v, peak %.2f", c.name, f, peak)
		}
	}
}
