// Package resample converts audio between sample rates with a band-limited,
// streaming polyphase filter.
//
// A Resampler converts by any rational ratio out/in (reduced by their gcd)
// with a Kaiser-windowed sinc kernel: passband to 90% of the lower Nyquist
// frequency, stopband from the lower Nyquist frequency, about 100 dB of
// attenuation. It keeps its state between calls, so feeding a signal in
// blocks of any size gives the same output as feeding it at once.
package resample

import (
	"fmt"
	"math"

	"github.com/restoregrad/restoregrad/dsp/internal/kaiser"
)

// Design constants of the kernel.
const (
	maxRate      = 1 << 24 // highest sample rate accepted
	attenuation  = 100.0   // stopband attenuation in dB
	passFraction = 0.90    // passband edge as a fraction of the lower Nyquist frequency
	// maxTable bounds the coefficients of an exact polyphase table; ratios that
	// would need more use an oversampled table with linear interpolation.
	maxTable = 1 << 20
	// interpPhases is the oversampling of the interpolated table.
	interpPhases = 1024
	// maxCoeffs bounds any table (64 MiB); more extreme ratios are refused.
	maxCoeffs = 1 << 24
)

// A Resampler converts a stream of samples from one rate to another.
//
// Output sample j of the stream corresponds to input time (j-Delay())·in/out,
// in input samples. The zero value is not usable; call New.
type Resampler struct {
	inRate, outRate int
	up, down        int       // out/in = up/down in lowest terms
	taps            int       // kernel taps per output sample (even)
	half            int       // taps / 2
	phases          int       // rows of table minus one when interpolating, else rows
	interp          bool      // table is oversampled and rows are interpolated
	table           []float32 // row-major, taps per row
	delay           int       // Delay() in output samples

	// Streaming state.
	buf   []float32 // input history; buf[pos] is the sample at the next output's integer time
	pos   int       // index in buf of floor(time of next output)
	phase int       // (time of next output - floor) * up, in [0, up)
	nIn   int64     // input samples seen since Reset
	nOut  int64     // output samples produced since Reset
}

// New returns a Resampler from inRate to outRate samples per second.
func New(inRate, outRate int) (*Resampler, error) {
	if inRate <= 0 || outRate <= 0 || inRate > maxRate || outRate > maxRate {
		return nil, fmt.Errorf("resample: unsupported rates %d -> %d Hz", inRate, outRate)
	}
	g := gcd(inRate, outRate)
	r := &Resampler{inRate: inRate, outRate: outRate, up: outRate / g, down: inRate / g}
	if r.up == r.down {
		r.Reset()
		return r, nil
	}
	// Cutoff and transition in cycles per input sample.
	nyq := 0.5 * min(1, float64(r.up)/float64(r.down))
	fc := nyq * (1 + passFraction) / 2
	width := nyq * (1 - passFraction)
	// Kaiser's estimate of the kernel length, in input samples.
	length := (attenuation - 7.95) / (2.285 * 2 * math.Pi * width)
	r.half = int(math.Ceil(length / 2))
	r.taps = 2 * r.half
	rows := r.up
	if int64(r.up)*int64(r.taps) > maxTable {
		rows = interpPhases + 1
	}
	if int64(rows)*int64(r.taps) > maxCoeffs {
		return nil, fmt.Errorf("resample: ratio %d -> %d Hz needs too long a filter", inRate, outRate)
	}
	beta := 0.1102 * (attenuation - 8.7)

	if rows != r.up {
		r.interp = true
		r.phases = interpPhases
	} else {
		r.phases = r.up
	}
	r.table = make([]float32, rows*r.taps)
	i0beta := kaiser.BesselI0(beta)
	row := make([]float64, r.taps)
	for p := range rows {
		// Row p holds the kernel at offsets frac + half-1-i, i = 0..taps-1,
		// where frac = p/phases is the fractional input time of the output.
		frac := float64(p) / float64(r.phases)
		sum := 0.0
		for i := range row {
			t := frac + float64(r.half-1-i)
			row[i] = kernel(t, fc, float64(r.half), beta, i0beta)
			sum += row[i]
		}
		for i, v := range row {
			r.table[p*r.taps+i] = float32(v / sum) // unity gain at DC in every phase
		}
	}
	// The kernel reaches half input samples into the future; round that
	// latency up to whole output samples so that Resample can trim it.
	r.delay = int((int64(r.half)*int64(r.up) + int64(r.down) - 1) / int64(r.down))
	r.Reset()
	return r, nil
}

// kernel is the Kaiser-windowed sinc with cutoff fc (cycles per sample) at
// time t, for a window of half-width half.
func kernel(t, fc, half, beta, i0beta float64) float64 {
	if math.Abs(t) >= half {
		return 0
	}
	x := 2 * fc * t
	s := 2 * fc
	if x != 0 {
		s = math.Sin(math.Pi*x) / (math.Pi * t)
	}
	u := t / half
	return s * kaiser.BesselI0(beta*math.Sqrt(1-u*u)) / i0beta
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Reset returns r to its initial state, as if no input had been seen.
func (r *Resampler) Reset() {
	r.nIn, r.nOut = 0, 0
	if r.up == r.down {
		return
	}
	// The first output sits at input time -delay*down/up; the history before
	// input sample 0 is zeros.
	back := int64(r.delay) * int64(r.down)
	first := -ceilDiv(back, int64(r.up)) // floor(-back/up)
	r.phase = int(-back - first*int64(r.up))
	lead := int(-first) + r.half - 1 // zeros before sample 0 that the first output reads
	r.pos = lead - int(-first)
	if cap(r.buf) < lead {
		r.buf = make([]float32, lead, lead+r.taps)
	}
	r.buf = r.buf[:lead]
	clear(r.buf)
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// Delay returns the latency of the stream in output samples: output sample j
// corresponds to input time (j-Delay())·in/out. It is a whole number.
func (r *Resampler) Delay() float64 { return float64(r.delay) }

// Rates returns the input and output rates given to New.
func (r *Resampler) Rates() (in, out int) { return r.inRate, r.outRate }

// MaxOutput returns the number of samples the next Process call with n input
// samples will append, so a real-time caller can preallocate. It never
// exceeds ceil(n·out/in) + Delay() + 1.
func (r *Resampler) MaxOutput(n int) int {
	if n < 0 {
		n = 0
	}
	if r.up == r.down {
		return n
	}
	// Outputs k = 0, 1, ... sit at buf index pos + floor((phase + k·down)/up)
	// and are complete while that index is below len(buf) + n - half.
	room := int64(len(r.buf)) + int64(n) - int64(r.half) - int64(r.pos) // need floor(...) < room
	if room <= 0 {
		return 0
	}
	return int((room*int64(r.up)-int64(r.phase)-1)/int64(r.down) + 1)
}

// Process resamples src, appends the output samples that are now complete to
// dst and returns the extended slice. It allocates only when dst or its own
// history buffer lacks capacity, so in a steady state of equal block sizes and
// a dst with MaxOutput(len(src)) spare capacity it does not allocate.
func (r *Resampler) Process(dst, src []float32) []float32 {
	r.nIn += int64(len(src))
	if r.up == r.down {
		r.nOut += int64(len(src))
		return append(dst, src...)
	}
	r.buf = append(r.buf, src...)
	return r.run(dst)
}

// run appends every output whose kernel lies within buf and drops the
// history no later output needs.
func (r *Resampler) run(dst []float32) []float32 {
	start := len(dst)
	last := len(r.buf) - r.half // an output at pos needs buf[pos-half+1 : pos+half+1]
	for r.pos < last {
		x := r.buf[r.pos-r.half+1 : r.pos+r.half+1]
		var y float32
		if r.interp {
			p := int64(r.phase) * interpPhases
			row := int(p / int64(r.up))
			frac := float32(p%int64(r.up)) / float32(r.up)
			a := dot(r.table[row*r.taps:(row+1)*r.taps], x)
			b := dot(r.table[(row+1)*r.taps:(row+2)*r.taps], x)
			y = a + frac*(b-a)
		} else {
			y = dot(r.table[r.phase*r.taps:(r.phase+1)*r.taps], x)
		}
		dst = append(dst, y)
		r.phase += r.down
		r.pos += r.phase / r.up
		r.phase %= r.up
	}
	r.nOut += int64(len(dst) - start)
	if drop := r.pos - r.half + 1; drop > 0 {
		n := copy(r.buf, r.buf[drop:])
		r.buf = r.buf[:n]
		r.pos -= drop
	}
	return dst
}

// dot returns the inner product of h and x, which have equal lengths.
func dot(h, x []float32) float32 {
	x = x[:len(h)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(h); i += 4 {
		s0 += h[i] * x[i]
		s1 += h[i+1] * x[i+1]
		s2 += h[i+2] * x[i+2]
		s3 += h[i+3] * x[i+3]
	}
	for ; i < len(h); i++ {
		s0 += h[i] * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Flush appends the rest of the stream to dst: the outputs still held back by
// the filter's look-ahead, up to the output sample at or after the end of the
// input, as if the input were followed by silence. After Flush, r is Reset.
//
// In total, a stream of n input samples then yields Delay() + ceil(n·out/in)
// output samples.
func (r *Resampler) Flush(dst []float32) []float32 {
	defer r.Reset()
	if r.up == r.down {
		return dst
	}
	want := int64(r.delay) + ceilDiv(r.nIn*int64(r.up), int64(r.down))
	if r.nOut >= want {
		return dst
	}
	// The last wanted output reads input up to absolute index
	// floor((want-1-delay)·down/up) + half; pad with zeros to there.
	p := (want - 1 - int64(r.delay)) * int64(r.down)
	lastIn := floorDiv(p, int64(r.up)) + int64(r.half)
	zeros := lastIn + 1 - r.nIn
	const block = 1 << 14
	for zeros > 0 {
		k := int(min(zeros, block))
		for range k {
			r.buf = append(r.buf, 0)
		}
		zeros -= int64(k)
		dst = r.run(dst)
	}
	if over := r.nOut - want; over > 0 {
		dst = dst[:len(dst)-int(over)]
	}
	return dst
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Resample converts a whole signal x from inRate to outRate and compensates
// the filter delay: output sample i corresponds to input time i·in/out, and
// the output has ceil(len(x)·out/in) samples. It returns nil for invalid rates.
func Resample(x []float32, inRate, outRate int) []float32 {
	r, err := New(inRate, outRate)
	if err != nil {
		return nil
	}
	n := int(ceilDiv(int64(len(x))*int64(r.up), int64(r.down)))
	out := make([]float32, 0, n+r.delay+1)
	out = r.Process(out, x)
	out = r.Flush(out)
	return out[r.delay:]
}
