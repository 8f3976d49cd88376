package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// headerEvery is how much audio goes by between updates of a take's WAV headers: a run
// killed (SIGKILL, power loss) leaves files whose headers cover all but the last seconds.
const headerEvery = 2 * time.Second

// recordBuf bounds the bytes buffered per file between writes.
const recordBuf = 64 << 10

// A take's files are 32-bit float mono WAV: RIFF, a WAVE_FORMAT_IEEE_FLOAT fmt chunk
// (18 bytes, cbSize 0), a fact chunk (frame count) and the data chunk. The offsets of the
// sizes the recorder keeps up to date:
const (
	riffSizeAt  = 4
	factFrames  = 12 + 8 + 18 + 8
	dataSizeAt  = factFrames + 4 + 4
	takeHdrSize = dataSizeAt + 4
)

// takeHeader is a take file's header with zero sizes (updated as the take grows).
func takeHeader(rate int) []byte {
	le := binary.LittleEndian
	b := make([]byte, 0, takeHdrSize)
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, 0)
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 18)
	b = le.AppendUint16(b, 3) // WAVE_FORMAT_IEEE_FLOAT
	b = le.AppendUint16(b, 1) // channels
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*4))
	b = le.AppendUint16(b, 4)  // block align
	b = le.AppendUint16(b, 32) // bits per sample
	b = le.AppendUint16(b, 0)  // cbSize
	b = append(b, "fact"...)
	b = le.AppendUint32(b, 4)
	b = le.AppendUint32(b, 0)
	b = append(b, "data"...)
	b = le.AppendUint32(b, 0)
	return b
}

// recordFile is what a take is written to: an *os.File, or a test's fake.
type recordFile interface {
	io.Writer
	io.WriterAt
	io.Closer
}

func createFile(name string) (recordFile, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

// take is one WAV file of a recording.
type take struct {
	name   string
	f      recordFile
	buf    []byte
	frames int64 // frames on disk
}

// flush writes the buffered samples; on a short write the whole samples that got through
// count.
func (t *take) flush() error {
	if len(t.buf) == 0 {
		return nil
	}
	n, err := t.f.Write(t.buf)
	t.frames += int64(n / 4)
	t.buf = t.buf[:0]
	return t.err(err)
}

// err names the file in err, unless err (an *fs.PathError) already does.
func (t *take) err(err error) error {
	if _, ok := errors.AsType[*fs.PathError](err); ok || err == nil {
		return err
	}
	return fmt.Errorf("write %s: %w", t.name, err)
}

// patch brings the header's sizes up to the frames on disk. It writes only inside the
// header, which a full disk already holds.
func (t *take) patch() error {
	le := binary.LittleEndian
	data := min(t.frames*4, math.MaxUint32-takeHdrSize)
	for _, p := range []struct {
		at int64
		v  uint32
	}{{riffSizeAt, uint32(takeHdrSize - 8 + data)}, {factFrames, uint32(data / 4)}, {dataSizeAt, uint32(data)}} {
		if _, err := t.f.WriteAt(le.AppendUint32(nil, p.v), p.at); err != nil {
			return t.err(err)
		}
	}
	return nil
}

// recorder writes the raw input and the processed output of one live run as a new pair of
// float WAV files (a take): DIR/take-YYYYMMDD-HHMMSS-raw.wav and -denoised.wav, never
// overwriting an earlier take. Its writes run on the stream worker (buffered, never in the
// audio callback); every headerEvery of audio the headers are updated, so that the files
// are readable whenever the run ends. After a write error (a full disk) it records nothing
// more, leaves both files with valid headers over what they hold, and Failed says why.
type recorder struct {
	rate      int
	names     []string
	raw, den  *take
	sinceHdr  int // raw frames since the last header update
	err       error
	failed    atomic.Bool // err is set (for other goroutines)
	stoppedAt float64     // seconds of audio recorded when it failed
	closed    bool
}

// newRecorder creates dir and the files of a new take in it; create opens each new file
// (nil: a new file on disk, never one that exists).
func newRecorder(dir string, rate int, now time.Time, create func(string) (recordFile, error)) (*recorder, error) {
	if create == nil {
		create = createFile
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	stamp := "take-" + now.Format("20060102-150405")
	for i := 1; ; i++ {
		base := stamp
		if i > 1 {
			base = fmt.Sprintf("%s-%d", stamp, i)
		}
		r := &recorder{rate: rate}
		err := r.open(filepath.Join(dir, base+"-raw.wav"), filepath.Join(dir, base+"-denoised.wav"), create)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, fs.ErrExist) || i == 100 {
			return nil, fmt.Errorf("record: %w", err)
		}
	}
}

// open creates both files of the take, or neither.
func (r *recorder) open(rawName, denName string, create func(string) (recordFile, error)) error {
	hdr := takeHeader(r.rate)
	for _, name := range []string{rawName, denName} {
		f, err := create(name)
		if err == nil {
			if _, err = f.Write(hdr); err != nil {
				f.Close()
				os.Remove(name)
			}
		}
		if err != nil {
			for _, t := range []*take{r.raw, r.den} {
				if t != nil {
					t.f.Close()
					os.Remove(t.name)
				}
			}
			return err
		}
		t := &take{name: name, f: f, buf: make([]byte, 0, recordBuf)}
		if r.raw == nil {
			r.raw = t
		} else {
			r.den = t
		}
		r.names = append(r.names, name)
	}
	return nil
}

func (r *recorder) write(t *take, x []float32) {
	if r.err != nil || r.closed {
		return
	}
	for len(x) > 0 {
		k := min(len(x), (cap(t.buf)-len(t.buf))/4)
		for _, v := range x[:k] {
			t.buf = binary.LittleEndian.AppendUint32(t.buf, math.Float32bits(v))
		}
		x = x[k:]
		if len(t.buf) == cap(t.buf) {
			if err := t.flush(); err != nil {
				r.fail(err)
				return
			}
		}
	}
}

func (r *recorder) writeRaw(x []float32) {
	r.write(r.raw, x)
	if r.err != nil {
		return
	}
	r.sinceHdr += len(x)
	if r.sinceHdr >= int(headerEvery.Seconds()*float64(r.rate)) {
		r.sinceHdr = 0
		if err := r.sync(); err != nil {
			r.fail(err)
		}
	}
}

// sync writes what each take has buffered and makes its header cover it, stopping at the
// first error.
func (r *recorder) sync() error {
	for _, t := range []*take{r.raw, r.den} {
		err := t.flush()
		if err == nil {
			err = t.patch()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *recorder) writeDenoised(x []float32) { r.write(r.den, x) }

// fail stops the recording after err: what is buffered goes out where there is room, and
// the headers are made to cover what each file holds (best effort: err is the error to
// report).
func (r *recorder) fail(err error) {
	r.err = err
	for _, t := range []*take{r.raw, r.den} {
		t.flush()
		t.patch()
	}
	r.stoppedAt = float64(min(r.raw.frames, r.den.frames)) / float64(r.rate)
	r.failed.Store(true)
}

// Failed says why the recording stopped early (nil while it goes on); safe from any
// goroutine.
func (r *recorder) Failed() error {
	if !r.failed.Load() {
		return nil
	}
	return r.err
}

// failure is the message for a recording that stopped early.
func (r *recorder) failure() string {
	return fmt.Sprintf("recording stopped after %.1f s: %v", r.stoppedAt, r.err)
}

// close writes what is buffered, updates the headers and closes the files. It returns the
// error that stopped the recording, if one did.
func (r *recorder) close() error {
	if r.closed {
		return r.err
	}
	if r.err == nil {
		if err := r.sync(); err != nil {
			r.fail(err)
		}
	}
	r.closed = true
	for _, t := range []*take{r.raw, r.den} {
		if err := t.f.Close(); err != nil && r.err == nil {
			r.err = t.err(err)
			r.stoppedAt = float64(min(r.raw.frames, r.den.frames)) / float64(r.rate)
			r.failed.Store(true)
		}
	}
	if r.err != nil {
		return errors.New(r.failure())
	}
	return nil
}
