package models

// ToGraph transposes frame-major rows [T][2][F] (the sampler's and the noise's layout)
// into the graphs' [2][T][F] layout; dst and src have the same length, a multiple of 2·bins.
func ToGraph(dst, src []float32, bins int) {
	frames := len(src) / (2 * bins)
	for j := 0; j < frames; j++ {
		for c := 0; c < 2; c++ {
			copy(dst[(c*frames+j)*bins:(c*frames+j+1)*bins], src[(j*2+c)*bins:(j*2+c+1)*bins])
		}
	}
}

// FromGraph is the inverse of ToGraph: [2][T][F] into frame-major [T][2][F].
func FromGraph(dst, src []float32, bins int) {
	frames := len(src) / (2 * bins)
	for j := 0; j < frames; j++ {
		for c := 0; c < 2; c++ {
			copy(dst[(j*2+c)*bins:(j*2+c+1)*bins], src[(c*frames+j)*bins:(c*frames+j+1)*bins])
		}
	}
}

// frameMajor runs an STFT-domain model's denoiser on frame-major state, the layout the
// sampler and the noise draws use, by transposing at the graph boundary. It serves one
// Sample call: y is the call's (fixed) conditioning, transposed once.
type frameMajor struct {
	m          *Model
	y, xt, eps []float32 // graph layout
}

func newFrameMajor(m *Model, y []float32) *frameMajor {
	f := &frameMajor{m: m, y: make([]float32, len(y)), xt: make([]float32, len(y)), eps: make([]float32, len(y))}
	ToGraph(f.y, y, m.bins)
	return f
}

func (f *frameMajor) Eps(dst, xt, _ []float32, t float32) error {
	ToGraph(f.xt, xt, f.m.bins)
	if err := f.m.Eps(f.eps, f.xt, f.y, t); err != nil {
		return err
	}
	FromGraph(dst, f.eps, f.m.bins)
	return nil
}
