package session

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/restoregrad/restoregrad/dsp/wav"
)

// recorder writes the raw input and the processed output as float WAV files. Its writes
// run on the stream worker (buffered, never in the audio callback).
type recorder struct {
	rate     int
	names    []string
	files    []*os.File
	raw, den *wav.Writer
	err      error
	single   [1][]float32
}

func newRecorder(dir string, rate int) (*recorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	r := &recorder{rate: rate}
	f := wav.Format{SampleRate: rate, Channels: 1, BitsPerSample: 32, Float: true}
	for _, base := range []string{"raw.wav", "denoised.wav"} {
		name := filepath.Join(dir, base)
		file, err := os.Create(name)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("record: %w", err)
		}
		ww, err := wav.NewWriter(file, f)
		if err != nil {
			file.Close()
			r.close()
			return nil, fmt.Errorf("record %s: %w", name, err)
		}
		r.names = append(r.names, name)
		r.files = append(r.files, file)
		if r.raw == nil {
			r.raw = ww
		} else {
			r.den = ww
		}
	}
	return r, nil
}

func (r *recorder) write(w *wav.Writer, x []float32) {
	if r.err != nil || w == nil {
		return
	}
	r.single[0] = x
	r.err = w.Write(r.single[:])
}

func (r *recorder) writeRaw(x []float32)      { r.write(r.raw, x) }
func (r *recorder) writeDenoised(x []float32) { r.write(r.den, x) }

func (r *recorder) close() error {
	err := r.err
	for i, w := range []*wav.Writer{r.raw, r.den} {
		if w != nil {
			if e := w.Close(); e != nil && err == nil {
				err = e
			}
		}
		if i < len(r.files) {
			if e := r.files[i].Close(); e != nil && err == nil {
				err = e
			}
		}
	}
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}
