package wavfile

import "github.com/restoregrad/restoregrad/dsp/resample"

// aligned is a streaming resampler whose output starts at the input's time zero (the
// filter's delay is dropped) and whose total length is exactly ceil(n·out/in).
type aligned struct {
	r    *resample.Resampler // nil when the rates are equal
	skip int                 // delay samples still to drop
	tmp  []float32
}

func newAligned(inRate, outRate int) (*aligned, error) {
	if inRate == outRate {
		return &aligned{}, nil
	}
	r, err := resample.New(inRate, outRate)
	if err != nil {
		return nil, err
	}
	return &aligned{r: r, skip: int(r.Delay())}, nil
}

func (a *aligned) process(dst, src []float32) []float32 {
	if a.r == nil {
		return append(dst, src...)
	}
	a.tmp = a.r.Process(a.tmp[:0], src)
	return a.drop(dst)
}

func (a *aligned) flush(dst []float32) []float32 {
	if a.r == nil {
		return dst
	}
	a.tmp = a.r.Flush(a.tmp[:0])
	return a.drop(dst)
}

func (a *aligned) drop(dst []float32) []float32 {
	k := min(a.skip, len(a.tmp))
	a.skip -= k
	return append(dst, a.tmp[k:]...)
}
