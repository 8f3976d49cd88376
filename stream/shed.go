package stream

// shedder changes the output's speed slightly without dropping or repeating audio: after
// a stall of the sound server (which pauses playback and hands over the input late, in a
// burst) more is queued than the cushion, and running the output at up to maxShed faster
// for a few seconds drains it; when the output clock is faster than the input's, running
// it a little slower (at most maxStretch) keeps the cushion. At speed 1 it is an exact
// one-sample delay.
type shedder struct {
	pos  float64 // read position in [last, src...] for the next call, 0 ≤ pos < 1
	last float32 // the previous call's final sample
}

// maxShed is the largest speed-up (4%: a pitch change of under a semitone).
const maxShed = 0.04

// process appends src resampled by linear interpolation at speed (> 0: about len(src)/speed
// samples) to dst.
func (sh *shedder) process(dst, src []float32, speed float64) []float32 {
	at := func(i int) float32 {
		if i == 0 {
			return sh.last
		}
		return src[i-1]
	}
	n := len(src) // the last index of [last, src...]
	p := sh.pos
	for p < float64(n) {
		i := int(p)
		f := float32(p - float64(i))
		if f == 0 {
			dst = append(dst, at(i))
		} else {
			dst = append(dst, at(i)+f*(at(i+1)-at(i)))
		}
		p += speed
	}
	if n > 0 {
		sh.last = src[n-1]
		sh.pos = p - float64(n)
	}
	return dst
}
