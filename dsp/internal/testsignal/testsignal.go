// Package testsignal generates the deterministic synthetic signals that the
// dsp tests score.
package testsignal

import (
	"math"
	"math/rand/v2"
)

// SpeechLike returns n samples at rate of a crude voiced signal: 20
// harmonics of a pitch gliding around 120 Hz under a 4 Hz syllabic envelope
// that swings between 1-2·depth and 1, plus a little noise drawn from seed.
func SpeechLike(n, rate int, seed uint64, depth float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float32, n)
	phase := 0.0
	for i := range out {
		t := float64(i) / float64(rate)
		f0 := 120 + 30*math.Sin(2*math.Pi*0.7*t)
		phase += 2 * math.Pi * f0 / float64(rate)
		var v float64
		for h := 1; h <= 20; h++ {
			v += math.Sin(float64(h)*phase) / float64(h)
		}
		env := (1 - depth) + depth*math.Sin(2*math.Pi*4*t)
		out[i] = float32(0.1*env*v + 0.001*r.NormFloat64())
	}
	return out
}

// WhiteNoise returns n samples of Gaussian noise with standard deviation
// scale, drawn from seed.
func WhiteNoise(n int, seed uint64, scale float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(scale * r.NormFloat64())
	}
	return out
}
