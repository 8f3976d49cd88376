// Package ring is a lock-free single-producer/single-consumer ring of float32 samples, the
// hand-off between a real-time audio callback and a worker goroutine.
package ring

import (
	"fmt"
	"sync/atomic"
)

// cacheLine pads the two indices apart so the producer and the consumer do not write the
// same cache line.
const cacheLine = 64

// Ring is a bounded FIFO of float32 samples for exactly one writer goroutine (or thread)
// and exactly one reader. Write and Read never block, never allocate and take no locks:
// they copy what fits and report how much that was, so they are safe to call from an audio
// callback. Any other concurrent use (two writers, two readers) is a data race.
//
// The capacity is a power of two. The indices are free-running 64-bit counters: the
// writer publishes new samples with an atomic store of w after copying them, the reader
// frees space with an atomic store of r after copying out, so each side sees only
// completed copies.
type Ring struct {
	buf  []float32
	mask uint64
	_    [cacheLine]byte
	w    atomic.Uint64 // total samples ever written; written by the producer only
	_    [cacheLine - 8]byte
	r    atomic.Uint64 // total samples ever read; written by the consumer only
	_    [cacheLine - 8]byte
}

// New returns a ring that holds at least minCapacity samples, rounded up to a power of two.
func New(minCapacity int) (*Ring, error) {
	if minCapacity < 1 || minCapacity > 1<<30 {
		return nil, fmt.Errorf("ring: capacity %d out of range [1, 2^30]", minCapacity)
	}
	n := 1
	for n < minCapacity {
		n <<= 1
	}
	return &Ring{buf: make([]float32, n), mask: uint64(n - 1)}, nil
}

// Cap is the number of samples the ring holds when full.
func (r *Ring) Cap() int { return len(r.buf) }

// Len is the number of samples ready to read. Exact for the reader; for the writer, a lower
// bound on what the reader will see.
func (r *Ring) Len() int { return int(r.w.Load() - r.r.Load()) }

// Free is the number of samples that can be written now. Exact for the writer; for the
// reader, a lower bound.
func (r *Ring) Free() int { return len(r.buf) - r.Len() }

// Write copies as much of p as fits and returns how many samples it copied. Producer only.
func (r *Ring) Write(p []float32) int {
	w := r.w.Load()
	free := uint64(len(r.buf)) - (w - r.r.Load())
	n := uint64(len(p))
	if n > free {
		n = free
	}
	if n == 0 {
		return 0
	}
	start := w & r.mask
	first := copy(r.buf[start:], p[:n])
	copy(r.buf, p[first:n])
	r.w.Store(w + n)
	return int(n)
}

// WriteZeros appends up to n zero samples and returns how many it wrote. Producer only.
func (r *Ring) WriteZeros(n int) int {
	w := r.w.Load()
	free := len(r.buf) - int(w-r.r.Load())
	if n > free {
		n = free
	}
	if n <= 0 {
		return 0
	}
	start := int(w & r.mask)
	first := min(n, len(r.buf)-start)
	clear(r.buf[start : start+first])
	clear(r.buf[:n-first])
	r.w.Store(w + uint64(n))
	return n
}

// Read copies up to len(p) samples into p and returns how many it copied. Consumer only.
func (r *Ring) Read(p []float32) int {
	rd := r.r.Load()
	avail := r.w.Load() - rd
	n := uint64(len(p))
	if n > avail {
		n = avail
	}
	if n == 0 {
		return 0
	}
	start := rd & r.mask
	first := copy(p[:n], r.buf[start:])
	copy(p[first:n], r.buf)
	r.r.Store(rd + n)
	return int(n)
}

// Discard drops up to n of the oldest samples and returns how many it dropped. Consumer only.
func (r *Ring) Discard(n int) int {
	rd := r.r.Load()
	avail := int(r.w.Load() - rd)
	if n > avail {
		n = avail
	}
	if n <= 0 {
		return 0
	}
	r.r.Store(rd + uint64(n))
	return n
}
