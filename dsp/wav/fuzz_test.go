package wav

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func FuzzReader(f *testing.F) {
	for _, fm := range []Format{{16000, 1, 16, false}, {8000, 2, 8, false}, {48000, 3, 24, false}, {44100, 1, 32, true}, {22050, 2, 64, true}, {16000, 1, 32, false}} {
		var m memFile
		w, _ := NewWriter(&m, fm)
		w.Write(signal(fm.Channels, 5, 1))
		w.Close()
		f.Add(m.b)
	}
	f.Add(riff(chunk("LIST", []byte("INFOabc")), chunk("fmt ", fmtBody(1, 1, 16000, 2, 16)), chunk("data", pcm16(1, 2, 3))))
	f.Add(append(riff(chunk("fmt ", fmtBody(1, 1, 16000, 2, 16)))[:36:36], "data\xff\xff\xff\xff\x01\x02\x03"...))
	f.Add(riff(chunk("fmt ", extBody(2, 48000, 24, 20, tagPCM)), chunk("data", make([]byte, 12))))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, seekable := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(b)
			if !seekable {
				r = io.MultiReader(r)
			}
			rd, err := NewReader(r)
			if err != nil {
				checkMsg(t, err)
				continue
			}
			fm := rd.Format()
			if err := fm.validate(); err != nil {
				t.Fatalf("NewReader accepted invalid format %v: %v", fm, err)
			}
			// Only a seekable input lets NewReader check the claimed size.
			if fr := rd.Frames(); seekable && fr > int64(len(b)) {
				t.Fatalf("Frames() = %d for a %d-byte input", fr, len(b))
			}
			buf := make([][]float32, fm.Channels)
			for c := range buf {
				buf[c] = make([]float32, 7)
			}
			var total int64
			for {
				n, err := rd.Read(buf)
				if n < 0 || n > 7 {
					t.Fatalf("Read returned n = %d", n)
				}
				total += int64(n)
				if err == io.EOF {
					break
				}
				if err != nil {
					checkMsg(t, err)
					break
				}
			}
			if total*int64(fm.blockAlign()) > int64(len(b)) {
				t.Fatalf("decoded %d frames of %d bytes from %d bytes", total, fm.blockAlign(), len(b))
			}
		}
	})
}

func checkMsg(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); !strings.HasPrefix(msg, "wav: ") || strings.Contains(msg, "\n") {
		t.Fatalf("error %q is not one line starting with \"wav: \"", msg)
	}
}
