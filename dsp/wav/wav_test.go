package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// memFile is an in-memory io.ReadWriteSeeker.
type memFile struct {
	b   []byte
	off int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if need := int(m.off) + len(p); need > len(m.b) {
		m.b = append(m.b, make([]byte, need-len(m.b))...)
	}
	copy(m.b[m.off:], p)
	m.off += int64(len(p))
	return len(p), nil
}

func (m *memFile) Read(p []byte) (int, error) {
	if m.off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[m.off:])
	m.off += int64(n)
	return n, nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += m.off
	case io.SeekEnd:
		off += int64(len(m.b))
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	m.off = off
	return off, nil
}

// signal returns ch channels of n deterministic samples in [-1, 1], including
// both extremes.
func signal(ch, n int, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := make([][]float32, ch)
	for c := range s {
		s[c] = make([]float32, n)
		for i := range s[c] {
			s[c][i] = float32(0.99 * (rng.Float64()*2 - 1))
		}
		if n > 2 {
			s[c][0], s[c][1] = 1, -1
		}
	}
	return s
}

func encode(t *testing.T, f Format, s [][]float32) []byte {
	t.Helper()
	var m memFile
	w, err := NewWriter(&m, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return m.b
}

func decodeAll(t *testing.T, r io.Reader) ([][]float32, Format) {
	t.Helper()
	rd, err := NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	f := rd.Format()
	out := make([][]float32, f.Channels)
	buf := make([][]float32, f.Channels)
	for c := range buf {
		buf[c] = make([]float32, 37) // odd block size on purpose
	}
	for {
		n, err := rd.Read(buf)
		for c := range out {
			out[c] = append(out[c], buf[c][:n]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if fr := rd.Frames(); fr >= 0 && fr != int64(len(out[0])) {
		t.Fatalf("Frames() = %d, read %d", fr, len(out[0]))
	}
	return out, f
}

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		f   Format
		tol float64 // maximum absolute error
	}{
		{Format{8000, 1, 8, false}, 1.0 / 256},
		{Format{16000, 1, 16, false}, 1.0 / 65536},
		{Format{44100, 2, 16, false}, 1.0 / 65536},
		{Format{48000, 2, 24, false}, 1.0 / (1 << 24)},
		{Format{96000, 6, 24, false}, 1.0 / (1 << 24)},
		{Format{22050, 3, 32, false}, 1e-7},
		{Format{48000, 1, 32, true}, 0},
		{Format{48000, 2, 32, true}, 0},
		{Format{11025, 5, 64, true}, 0},
		{Format{7, 1, 16, false}, 1.0 / 65536},
	}
	for _, tc := range cases {
		t.Run(tc.f.String(), func(t *testing.T) {
			for _, n := range []int{0, 1, 1001, 40000} {
				in := signal(tc.f.Channels, n, uint64(n))
				b := encode(t, tc.f, in)
				if len(b)%2 != 0 {
					t.Errorf("n=%d: file length %d is odd", n, len(b))
				}
				out, f := decodeAll(t, bytes.NewReader(b))
				if f != tc.f {
					t.Fatalf("format %v, want %v", f, tc.f)
				}
				for c := range in {
					if len(out[c]) != n {
						t.Fatalf("n=%d: channel %d has %d frames", n, c, len(out[c]))
					}
					for i := range in[c] {
						want := in[c][i]
						if want == 1 && !tc.f.Float {
							// +1 clips to the largest code, one step below 1.
							want = float32(1 - 1/math.Exp2(float64(tc.f.BitsPerSample-1)))
						}
						if d := math.Abs(float64(out[c][i] - want)); d > tc.tol {
							t.Fatalf("n=%d: sample [%d][%d] = %v, want %v (err %g > %g)", n, c, i, out[c][i], in[c][i], d, tc.tol)
						}
					}
				}
				// Decoding and re-encoding must reproduce the file exactly.
				if b2 := encode(t, tc.f, out); !bytes.Equal(b, b2) {
					t.Errorf("n=%d: re-encoded file differs", n)
				}
			}
		})
	}
}

func TestHeaderLayout(t *testing.T) {
	le := binary.LittleEndian
	for _, tc := range []struct {
		f       Format
		fmtSize uint32
		tag     uint16
	}{
		{Format{16000, 1, 16, false}, 16, tagPCM},
		{Format{16000, 2, 16, false}, 16, tagPCM},
		{Format{16000, 3, 16, false}, 40, tagExtensible},
		{Format{16000, 1, 24, false}, 40, tagExtensible},
		{Format{16000, 1, 32, true}, 40, tagExtensible},
		{Format{16000, 1, 64, true}, 40, tagExtensible},
		{Format{16000, 1, 8, false}, 16, tagPCM},
	} {
		b := encode(t, tc.f, signal(tc.f.Channels, 3, 1))
		if got := le.Uint32(b[16:]); got != tc.fmtSize {
			t.Errorf("%v: fmt size %d, want %d", tc.f, got, tc.fmtSize)
		}
		if got := le.Uint16(b[20:]); got != tc.tag {
			t.Errorf("%v: tag %#x, want %#x", tc.f, got, tc.tag)
		}
		if got := le.Uint32(b[4:]); int(got) != len(b)-8 {
			t.Errorf("%v: RIFF size %d, want %d", tc.f, got, len(b)-8)
		}
		data := bytes.Index(b, []byte("data"))
		if got, want := le.Uint32(b[data+4:]), 3*tc.f.blockAlign(); int(got) != want {
			t.Errorf("%v: data size %d, want %d", tc.f, got, want)
		}
		if tc.f.Float {
			fact := bytes.Index(b, []byte("fact"))
			if fact < 0 || le.Uint32(b[fact+8:]) != 3 {
				t.Errorf("%v: missing or wrong fact chunk", tc.f)
			}
		}
	}
}

func TestClippingAndRounding(t *testing.T) {
	in := [][]float32{{2, -2, 0.5 / 32768, 1.5 / 32768, -0.5 / 32768, float32(math.NaN()), 1, -1}}
	want := []int16{32767, -32768, 1, 2, -1, 0, 32767, -32768}
	b := encode(t, Format{16000, 1, 16, false}, in)
	data := b[44:]
	for i, w := range want {
		if got := int16(binary.LittleEndian.Uint16(data[2*i:])); got != w {
			t.Errorf("sample %d (%v): got %d, want %d", i, in[0][i], got, w)
		}
	}
	// 8-bit is unsigned with 128 as zero.
	b = encode(t, Format{8000, 1, 8, false}, [][]float32{{0, 1, -1}})
	if got := b[44:47]; !bytes.Equal(got, []byte{128, 255, 0}) {
		t.Errorf("8-bit samples %v, want [128 255 0]", got)
	}
}

// chunk builds a RIFF chunk, adding the pad byte for odd sizes.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func fmtBody(tag, ch uint16, rate uint32, align, bits uint16) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, tag)
	b = le.AppendUint16(b, ch)
	b = le.AppendUint32(b, rate)
	b = le.AppendUint32(b, rate*uint32(align))
	b = le.AppendUint16(b, align)
	return le.AppendUint16(b, bits)
}

func extBody(ch uint16, rate uint32, bits, valid, sub uint16) []byte {
	le := binary.LittleEndian
	b := fmtBody(tagExtensible, ch, rate, ch*bits/8, bits)
	b = le.AppendUint16(b, 22)
	b = le.AppendUint16(b, valid)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, sub)
	return append(b, guidTail...)
}

func riff(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

func pcm16(v ...int16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func TestHandBuiltHeaders(t *testing.T) {
	le := binary.LittleEndian
	data := pcm16(16384, -16384, 8192, -32768)
	want := []float32{0.5, -0.5, 0.25, -1}
	f24 := []byte{0x00, 0x00, 0x40, 0x00, 0x00, 0xC0} // 0.5, -0.5 in 24-bit
	fl := le.AppendUint32(le.AppendUint32(nil, math.Float32bits(0.75)), math.Float32bits(-2))
	cases := []struct {
		name string
		file []byte
		f    Format
		want [][]float32
	}{
		{"plain", riff(chunk("fmt ", fmtBody(1, 1, 16000, 2, 16)), chunk("data", data)),
			Format{16000, 1, 16, false}, [][]float32{want}},
		{"LIST and fact before fmt", riff(chunk("LIST", []byte("INFOISFT\x05\x00\x00\x00test\x00\x00")), chunk("fact", le.AppendUint32(nil, 4)), chunk("fmt ", fmtBody(1, 1, 16000, 2, 16)), chunk("data", data)),
			Format{16000, 1, 16, false}, [][]float32{want}},
		{"odd chunk between", riff(chunk("fmt ", fmtBody(1, 1, 16000, 2, 16)), chunk("junk", []byte{1, 2, 3}), chunk("data", data)),
			Format{16000, 1, 16, false}, [][]float32{want}},
		{"fmt with cbSize", riff(chunk("fmt ", append(fmtBody(1, 2, 8000, 4, 16), 0, 0)), chunk("data", data)),
			Format{8000, 2, 16, false}, [][]float32{{0.5, 0.25}, {-0.5, -1}}},
		{"trailing chunk after data", riff(chunk("fmt ", fmtBody(1, 1, 16000, 2, 16)), chunk("data", data), chunk("LIST", []byte("INFO"))),
			Format{16000, 1, 16, false}, [][]float32{want}},
		{"extensible PCM 24 in 24", riff(chunk("fmt ", extBody(1, 48000, 24, 24, tagPCM)), chunk("data", f24)),
			Format{48000, 1, 24, false}, [][]float32{{0.5, -0.5}}},
		{"extensible PCM 20 valid in 24", riff(chunk("fmt ", extBody(2, 48000, 24, 20, tagPCM)), chunk("data", f24)),
			Format{48000, 2, 24, false}, [][]float32{{0.5}, {-0.5}}},
		{"extensible float", riff(chunk("fmt ", extBody(1, 44100, 32, 32, tagFloat)), chunk("fact", le.AppendUint32(nil, 2)), chunk("data", fl)),
			Format{44100, 1, 32, true}, [][]float32{{0.75, -2}}},
		{"plain float", riff(chunk("fmt ", fmtBody(3, 1, 44100, 4, 32)), chunk("data", fl)),
			Format{44100, 1, 32, true}, [][]float32{{0.75, -2}}},
		{"streamed size 0xFFFFFFFF", append(riff(chunk("fmt ", fmtBody(1, 1, 16000, 2, 16)))[:36:36], append([]byte("data\xff\xff\xff\xff"), data...)...),
			Format{16000, 1, 16, false}, [][]float32{want}},
		{"streamed size 0 with partial frame", append(riff(chunk("fmt ", fmtBody(1, 1, 16000, 2, 16)))[:36:36], append([]byte("data\x00\x00\x00\x00"), append(data, 7)...)...),
			Format{16000, 1, 16, false}, [][]float32{want}},
		{"data size not a multiple of block align", riff(chunk("fmt ", fmtBody(1, 1, 16000, 2, 16)), chunk("data", append(data, 9))),
			Format{16000, 1, 16, false}, [][]float32{want}},
		{"8-bit", riff(chunk("fmt ", fmtBody(1, 1, 8000, 1, 8)), chunk("data", []byte{128, 0, 192})),
			Format{8000, 1, 8, false}, [][]float32{{0, -1, 0.5}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, seekable := range []bool{false, true} {
				var r io.Reader = bytes.NewReader(tc.file)
				if !seekable {
					r = io.MultiReader(r) // hides Seek
				}
				got, f := decodeAll(t, r)
				if f != tc.f {
					t.Fatalf("format %v, want %v", f, tc.f)
				}
				for c := range tc.want {
					if !slices.Equal(got[c], tc.want[c]) {
						t.Fatalf("channel %d = %v, want %v", c, got[c], tc.want[c])
					}
				}
			}
		})
	}
}

func TestBrokenHeaders(t *testing.T) {
	le := binary.LittleEndian
	good := fmtBody(1, 1, 16000, 2, 16)
	data := chunk("data", pcm16(1, 2, 3, 4))
	badGUID := extBody(1, 16000, 16, 16, tagPCM)
	badGUID[len(badGUID)-1] ^= 1
	shortExt := extBody(1, 16000, 16, 16, tagPCM)[:30]
	cases := []struct {
		name string
		file []byte
		want string // substring of the error
	}{
		{"empty", nil, "truncated RIFF header"},
		{"short", []byte("RIFF\x00"), "truncated RIFF header"},
		{"not RIFF", []byte("OggS\x00\x00\x00\x00WAVEfmt "), "not a RIFF file"},
		{"RIFF not WAVE", []byte("RIFF\x04\x00\x00\x00AVI "), "not WAVE"},
		{"RF64", []byte("RF64\xff\xff\xff\xffWAVE"), "not supported"},
		{"no chunks", riff(), "no data chunk"},
		{"no data", riff(chunk("fmt ", good)), "no data chunk"},
		{"data before fmt", riff(data, chunk("fmt ", good)), "before fmt"},
		{"duplicate fmt", riff(chunk("fmt ", good), chunk("fmt ", good), data), "duplicate"},
		{"truncated chunk header", riff(chunk("fmt ", good))[:40], "truncated chunk header"},
		{"truncated fmt", riff(chunk("fmt ", good))[:30], "truncated fmt"},
		{"fmt too small", riff(chunk("fmt ", good[:14]), data), "fmt chunk size 14"},
		{"fmt absurdly large", append(riff()[:12:12], "fmt \xff\xff\xff\x7f"...), "fmt chunk size"},
		{"skipped chunk past EOF", append(riff(chunk("fmt ", good))[:36:36], "LIST\xff\xff\x00\x00abc"...), "truncated \"LIST\" chunk"},
		{"zero channels", riff(chunk("fmt ", fmtBody(1, 0, 16000, 0, 16)), data), "channel count 0"},
		{"too many channels", riff(chunk("fmt ", fmtBody(1, 5000, 16000, 10000, 16)), data), "channel count 5000"},
		{"zero rate", riff(chunk("fmt ", fmtBody(1, 1, 0, 2, 16)), data), "sample rate 0"},
		{"absurd rate", riff(chunk("fmt ", fmtBody(1, 1, 0xFFFFFFF0, 2, 16)), data), "sample rate"},
		{"bits 12", riff(chunk("fmt ", fmtBody(1, 1, 16000, 2, 12)), data), "PCM bit depth 12"},
		{"bits 0", riff(chunk("fmt ", fmtBody(1, 1, 16000, 0, 0)), data), "PCM bit depth 0"},
		{"bits 64 PCM", riff(chunk("fmt ", fmtBody(1, 1, 16000, 8, 64)), data), "PCM bit depth 64"},
		{"float 16", riff(chunk("fmt ", fmtBody(3, 1, 16000, 2, 16)), data), "float bit depth 16"},
		{"block align mismatch", riff(chunk("fmt ", fmtBody(1, 2, 16000, 2, 16)), data), "block align 2"},
		{"compressed tag", riff(chunk("fmt ", fmtBody(0x55, 1, 16000, 2, 16)), data), "format tag 0x0055"},
		{"extensible too short", riff(chunk("fmt ", shortExt), data), "too short"},
		{"extensible bad GUID", riff(chunk("fmt ", badGUID), data), "GUID"},
		{"extensible valid bits > container", riff(chunk("fmt ", extBody(1, 16000, 16, 24, tagPCM)), data), "valid bits"},
		{"extensible ADPCM", riff(chunk("fmt ", extBody(1, 16000, 16, 16, 2)), data), "format tag 0x0002"},
		{"data larger than file", append(riff(chunk("fmt ", good))[:36:36], "data\x00\x10\x00\x00\x01\x02"...), "data chunk"},
	}
	_ = le
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, seekable := range []bool{false, true} {
				var r io.Reader = bytes.NewReader(tc.file)
				if !seekable {
					r = io.MultiReader(r)
				}
				err := readAll(r)
				if err == nil {
					t.Fatalf("seekable=%v: no error", seekable)
				}
				if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "wav: ") {
					t.Fatalf("seekable=%v: error %q, want one line starting \"wav: \" containing %q", seekable, msg, tc.want)
				}
			}
		})
	}
}

// readAll decodes the whole stream and returns the first error other than io.EOF.
func readAll(r io.Reader) error {
	rd, err := NewReader(r)
	if err != nil {
		return err
	}
	f := rd.Format()
	if f.Channels > 64 {
		f.Channels = 64 // a Reader must still refuse short dst without panicking
	}
	buf := make([][]float32, rd.Format().Channels)
	for c := range buf {
		buf[c] = make([]float32, 1000)
	}
	for {
		if _, err := rd.Read(buf); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func TestTruncatedDataStream(t *testing.T) {
	b := encode(t, Format{16000, 2, 16, false}, signal(2, 1000, 3))
	b = b[:len(b)-100]
	rd, err := NewReader(io.MultiReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	buf := [][]float32{make([]float32, 4096), make([]float32, 4096)}
	n, err := rd.Read(buf)
	if n != 975 || err != nil {
		t.Fatalf("first Read = %d, %v; want 975 frames before the error", n, err)
	}
	if _, err = rd.Read(buf); err == nil || err == io.EOF || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("second Read error = %v, want truncation error", err)
	}
	if _, err2 := rd.Read(buf); err2 != err {
		t.Fatalf("error is not sticky: %v then %v", err, err2)
	}
}

func TestReadShortDst(t *testing.T) {
	b := encode(t, Format{16000, 2, 16, false}, signal(2, 10, 3))
	rd, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Read([][]float32{make([]float32, 10)}); err == nil {
		t.Fatal("Read with one slice for two channels: no error")
	}
	if n, err := rd.Read([][]float32{nil, nil}); n != 0 || err != nil {
		t.Fatalf("Read with empty slices = %d, %v", n, err)
	}
}

func TestWriterErrors(t *testing.T) {
	var m memFile
	for _, f := range []Format{{16000, 0, 16, false}, {0, 1, 16, false}, {16000, 1, 12, false}, {16000, 1, 16, true}} {
		if _, err := NewWriter(&m, f); err == nil {
			t.Errorf("NewWriter(%v): no error", f)
		}
	}
	w, err := NewWriter(&m, Format{16000, 2, 16, false})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([][]float32{{1}}); err == nil {
		t.Error("Write with one channel for two: no error")
	}
	if err := w.Write([][]float32{{1, 2}, {1}}); err == nil {
		t.Error("Write with ragged channels: no error")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([][]float32{{1}, {1}}); err == nil {
		t.Error("Write after Close: no error")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestUnclosedWriterIsReadable(t *testing.T) {
	var m memFile
	w, err := NewWriter(&m, Format{16000, 1, 16, false})
	if err != nil {
		t.Fatal(err)
	}
	in := signal(1, 70000, 9) // more than one internal buffer
	if err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	// Not closed: the sizes are still zero, so the reader reads to EOF.
	out, _ := decodeAll(t, bytes.NewReader(m.b))
	if len(out[0]) == 0 || len(out[0]) > len(in[0]) {
		t.Fatalf("read %d frames from unclosed writer", len(out[0]))
	}
}

func TestWriteFileReadFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "out.wav")
	f := Format{48000, 2, 24, false}
	in := signal(2, 12345, 5)
	if err := WriteFile(name, in, f); err != nil {
		t.Fatal(err)
	}
	out, got, err := ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if got != f || len(out) != 2 || len(out[1]) != 12345 {
		t.Fatalf("ReadFile: %v, %d channels", got, len(out))
	}
	for i := range in[1] {
		if math.Abs(float64(in[1][i]-out[1][i])) > 1.0/(1<<23) {
			t.Fatalf("sample %d: %v != %v", i, out[1][i], in[1][i])
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only out.wav", len(entries))
	}

	// A failed write leaves the old file alone and no temp file behind.
	if err := WriteFile(name, [][]float32{{1}}, f); err == nil {
		t.Fatal("WriteFile with wrong channel count: no error")
	} else if !strings.Contains(err.Error(), name) {
		t.Errorf("error %q does not name the file", err)
	}
	if _, _, err := ReadFile(name); err != nil {
		t.Fatalf("old file damaged: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("failed write left %d entries", len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.wav"), in, f); err == nil {
		t.Fatal("WriteFile into a missing directory: no error")
	}
}

func TestCreateAtomic(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "long.wav")
	f := Format{16000, 1, 16, false}
	w, commit, abort, err := CreateAtomic(name, f)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := w.Write(signal(1, 1600, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("file visible before commit: %v", err)
	}
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	abort() // no-op after commit
	out, _, err := ReadFile(name)
	if err != nil || len(out[0]) != 16000 {
		t.Fatalf("after commit: %d frames, %v", len(out[0]), err)
	}

	w, _, abort, err = CreateAtomic(filepath.Join(dir, "aborted.wav"), f)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(signal(1, 100, 2))
	abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("abort left %d entries, want 1", len(entries))
	}
}

func TestReadFileErrorsNameFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "bad.wav")
	if err := os.WriteFile(name, []byte("RIFF\x10\x00\x00\x00WAVEjunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{name, filepath.Join(dir, "absent.wav")} {
		_, _, err := ReadFile(n)
		if err == nil || !strings.Contains(err.Error(), n) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ReadFile(%s) error = %v", n, err)
		}
	}
	// Data chunk longer than the file: detected up front through Seek.
	f := Format{16000, 1, 16, false}
	b := encode(t, f, signal(1, 100, 1))
	if err := os.WriteFile(name, b[:len(b)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadFile(name); err == nil || !strings.Contains(err.Error(), "claims") {
		t.Errorf("ReadFile of truncated file: %v", err)
	}
}

func BenchmarkRead16(b *testing.B) {
	var m memFile
	f := Format{48000, 2, 16, false}
	w, _ := NewWriter(&m, f)
	w.Write(signal(2, 48000, 1))
	w.Close()
	buf := [][]float32{make([]float32, 4096), make([]float32, 4096)}
	b.SetBytes(int64(len(m.b)))
	for b.Loop() {
		rd, _ := NewReader(bytes.NewReader(m.b))
		for {
			if _, err := rd.Read(buf); err != nil {
				break
			}
		}
	}
}
