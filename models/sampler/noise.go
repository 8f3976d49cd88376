package sampler

import "math"

// Noise fills dst with standard normal draws for one sampling step. offset is the absolute
// index of dst[0] within the signal, so that processing a signal in chunks draws the same
// numbers as processing it whole. step is the draw's index: S for the start, n for the
// step from n to n−1.
type Noise interface {
	Fill(dst []float32, step int, offset int64)
}

// CounterNoise is a counter-based Gaussian generator: each draw is a pure function of
// (Seed, Stream, step, index), so any part of the sequence can be made in any order.
// Stream separates independent signals (e.g. the channels of one file).
type CounterNoise struct {
	Seed   uint64
	Stream uint64
}

// Fill implements Noise with the Box–Muller transform of two hashed uniforms per pair of
// indices.
func (c CounterNoise) Fill(dst []float32, step int, offset int64) {
	key := mix(mix(c.Seed^0x9e3779b97f4a7c15) ^ mix(c.Stream+0x632be59bd9b4e019) ^ mix(uint64(step)+0x8cb92ba72f3d8dd7))
	for i := range dst {
		idx := uint64(offset) + uint64(i)
		pair := idx >> 1
		h1 := mix(key ^ (pair * 2))
		h2 := mix(key ^ (pair*2 + 1))
		// 53-bit uniforms; u1 in (0, 1] so the log is finite.
		u1 := (float64(h1>>11) + 1) / (1 << 53)
		u2 := float64(h2>>11) / (1 << 53)
		r := math.Sqrt(-2 * math.Log(u1))
		if idx&1 == 0 {
			dst[i] = float32(r * math.Cos(2*math.Pi*u2))
		} else {
			dst[i] = float32(r * math.Sin(2*math.Pi*u2))
		}
	}
}

// mix is splitmix64's finaliser: a bijective 64-bit hash.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// FixedNoise replays given draws: Draws[k] is used for the k-th call's step in the order
// the sampler makes them (start first). Golden parity tests use it.
type FixedNoise struct {
	Draws [][]float32
}

// Fill copies the row for this step; row 0 is the start draw (step S), row k the draw for
// step S−k. offset selects the part of the row.
func (f *FixedNoise) Fill(dst []float32, step int, offset int64) {
	copy(dst, f.Draws[len(f.Draws)-step][offset:])
}
