package pesq

import (
	"math"
	"sync"
)

// realFFT is a real-input FFT of a fixed power-of-two length n, computed
// as a complex radix-2 FFT of length n/2 on the even/odd sample pairs. The
// arithmetic is float64; the model's signal buffers are float32 like
// those of the reference implementation.
type realFFT struct {
	n   int
	m   int          // n/2
	w   []complex128 // exp(-2πik/n), k = 0..n/2
	rev []int32      // bit reversal permutation of length m
	// twiddles of each radix-2 stage, stage of size s at [s/2-1, s-1)
	stageW, stageWi []complex128
	z               []complex128 // work buffer, length m
	coef            []complex128 // n/2+1 bins
	seq             []float64    // n samples
}

func newRealFFT(n int) *realFFT {
	if n < 4 || n&(n-1) != 0 {
		panic("pesq: FFT length must be a power of two >= 4")
	}
	m := n / 2
	r := &realFFT{n: n, m: m, w: make([]complex128, m+1), rev: make([]int32, m),
		z: make([]complex128, m), coef: make([]complex128, m+1), seq: make([]float64, n)}
	for k := range r.w {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
		r.w[k] = complex(c, s)
	}
	r.stageW = make([]complex128, m)
	r.stageWi = make([]complex128, m)
	for size := 2; size <= m; size <<= 1 {
		for k := 0; k < size/2; k++ {
			w := r.w[k*(n/size)]
			r.stageW[size/2-1+k] = w
			r.stageWi[size/2-1+k] = complex(real(w), -imag(w))
		}
	}
	bits := 0
	for 1<<bits < m {
		bits++
	}
	for i := range r.rev {
		j := 0
		for b := 0; b < bits; b++ {
			if i&(1<<b) != 0 {
				j |= 1 << (bits - 1 - b)
			}
		}
		r.rev[i] = int32(j)
	}
	return r
}

// cfft transforms r.z in place (length m, unnormalised); inverse uses
// the conjugate twiddles.
func (r *realFFT) cfft(inverse bool) {
	a := r.z
	m := r.m
	for i, j := range r.rev {
		if i < int(j) {
			a[i], a[j] = a[j], a[i]
		}
	}
	for s := 0; s+1 < m; s += 2 {
		u, v := a[s], a[s+1]
		a[s], a[s+1] = u+v, u-v
	}
	tw := r.stageW
	if inverse {
		tw = r.stageWi
	}
	off := 1
	for size := 4; size <= m; size <<= 1 {
		half := size >> 1
		w := tw[off : off+half]
		off += half
		for s := 0; s < m; s += size {
			lo := a[s : s+half]
			hi := a[s+half : s+size]
			for k, wk := range w {
				u := lo[k]
				v := hi[k] * wk
				lo[k] = u + v
				hi[k] = u - v
			}
		}
	}
}

// spectrum computes the n/2+1 bins of r.seq into r.coef.
func (r *realFFT) spectrum() []complex128 {
	m := r.m
	for i := 0; i < m; i++ {
		r.z[i] = complex(r.seq[2*i], r.seq[2*i+1])
	}
	r.cfft(false)
	z := r.z
	for k := 0; k <= m; k++ {
		zk := z[k%m]
		zc := z[(m-k)%m]
		zc = complex(real(zc), -imag(zc))
		e := (zk + zc) * 0.5
		o := (zk - zc) * complex(0, -0.5)
		r.coef[k] = e + r.w[k]*o
	}
	return r.coef
}

// forward transforms x (zero-padded or truncated to n) and returns the
// n/2+1 bins. The returned slice is owned by r and reused by later calls.
func (r *realFFT) forward(x []float32) []complex128 {
	k := min(len(x), r.n)
	for i, v := range x[:k] {
		r.seq[i] = float64(v)
	}
	clear(r.seq[k:])
	return r.spectrum()
}

// forward64 is forward for a float64 input.
func (r *realFFT) forward64(x []float64) []complex128 {
	k := copy(r.seq, x)
	clear(r.seq[k:])
	return r.spectrum()
}

// inverse returns the normalised inverse transform of the n/2+1 bins c
// (imaginary parts of the DC and Nyquist bins are ignored). The returned
// slice is owned by r.
func (r *realFFT) inverse(c []complex128) []float64 {
	m := r.m
	c0 := complex(real(c[0]), 0)
	cm := complex(real(c[m]), 0)
	for k := 0; k < m; k++ {
		xk := c[k]
		xc := c[m-k]
		if k == 0 {
			xk, xc = c0, cm
		}
		xc = complex(real(xc), -imag(xc))
		e := xk + xc
		w := r.w[k]
		o := (xk - xc) * complex(real(w), -imag(w))
		r.z[k] = e + complex(0, 1)*o
	}
	r.cfft(true)
	s := 0.5 / float64(m)
	for i, v := range r.z {
		r.seq[2*i] = real(v) * s
		r.seq[2*i+1] = imag(v) * s
	}
	return r.seq
}

// fftCache keeps initialised transforms per length for reuse.
var fftCache struct {
	sync.Mutex
	free map[int][]*realFFT
}

// getFFT returns a transform of length n; release it with putFFT.
func getFFT(n int) *realFFT {
	fftCache.Lock()
	l := fftCache.free[n]
	if len(l) > 0 {
		r := l[len(l)-1]
		fftCache.free[n] = l[:len(l)-1]
		fftCache.Unlock()
		return r
	}
	fftCache.Unlock()
	return newRealFFT(n)
}

func putFFT(r *realFFT) {
	fftCache.Lock()
	if fftCache.free == nil {
		fftCache.free = map[int][]*realFFT{}
	}
	if len(fftCache.free[r.n]) < 4 {
		fftCache.free[r.n] = append(fftCache.free[r.n], r)
	}
	fftCache.Unlock()
}
