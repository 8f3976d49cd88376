package sampler

import (
	"math"
	"slices"
	"testing"
)

func linear(n int, lo, hi float64) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return b
}

var (
	paperTrain = linear(50, 1e-4, 0.035)
	paperFast  = []float64{1e-4, 1e-3, 0.01, 0.05, 0.2, 0.35}
)

func TestProcessCoefficients(t *testing.T) {
	p, err := NewProcess(paperTrain)
	if err != nil {
		t.Fatal(err)
	}
	// The design's pitfall: with this schedule ᾱ_T ≈ 0.41.
	if ab := p.AlphaBar[49]; math.Abs(ab-0.41) > 0.01 {
		t.Errorf("ᾱ_T = %v, want ≈ 0.41", ab)
	}
	for n := range p.Betas {
		sq := math.Sqrt(p.AlphaBar[n])
		if d := p.A[n] + p.B[n] - sq; math.Abs(d) > 1e-12 {
			t.Errorf("n=%d: a+b-sqrt(ᾱ) = %v", n, d)
		}
		if want := (1 - p.AlphaBar[n]) - p.M[n]*p.M[n]*p.AlphaBar[n]; math.Abs(p.Delta[n]-math.Max(0, want)) > 1e-12 {
			t.Errorf("n=%d: δ = %v, want %v", n, p.Delta[n], want)
		}
		if p.Delta[n] < 0 || p.M[n] < 0 || p.M[n] > 1 {
			t.Errorf("n=%d: δ=%v m=%v out of range", n, p.Delta[n], p.M[n])
		}
		if n > 0 && !(p.AlphaBar[n] < p.AlphaBar[n-1] && p.M[n] > p.M[n-1]) {
			t.Errorf("n=%d: ᾱ must fall and m rise", n)
		}
	}
	if _, err := NewProcess([]float64{0.1, 0}); err == nil {
		t.Error("beta 0: want error")
	}
}

func TestAlignStepsIdentity(t *testing.T) {
	p, _ := NewProcess(paperTrain)
	for n, v := range AlignSteps(p, p) {
		if math.Abs(v-float64(n)) > 1e-9 {
			t.Fatalf("t[%d] = %v, want %d", n, v, n)
		}
	}
	f, _ := NewProcess(paperFast)
	ts := AlignSteps(p, f)
	for n := 1; n < len(ts); n++ {
		if !(ts[n] > ts[n-1]) || ts[n] < 0 || ts[n] > 49 {
			t.Fatalf("aligned steps not increasing within [0, 49]: %v", ts)
		}
	}
	// ᾱ at the aligned step, interpolated in sqrt, matches the fast schedule's.
	for n, v := range ts {
		i := int(v)
		if i >= 49 {
			continue
		}
		fr := v - float64(i)
		got := (1-fr)*math.Sqrt(p.AlphaBar[i]) + fr*math.Sqrt(p.AlphaBar[i+1])
		if math.Abs(got-math.Sqrt(f.AlphaBar[n])) > 1e-9 {
			t.Errorf("n=%d: sqrt ᾱ %v vs %v", n, got, math.Sqrt(f.AlphaBar[n]))
		}
	}
}

// oracle knows x0 and returns the exact ε that x_t contains under the inference process.
type oracle struct {
	x0    []float32
	proc  Process
	steps []float64
	seen  [][]float32 // x_t at each call
}

func (o *oracle) Eps(dst, xt, y []float32, t float32) error {
	k := -1
	for i, v := range o.steps {
		if float32(v) == t {
			k = i
		}
	}
	a, b, sd := o.proc.A[k], o.proc.B[k], math.Sqrt(o.proc.Delta[k])
	for i := range dst {
		dst[i] = float32((float64(xt[i]) - a*float64(o.x0[i]) - b*float64(y[i])) / sd)
	}
	o.seen = append(o.seen, append([]float32(nil), xt...))
	return nil
}

func TestOracleDenoiserRecoversCleanSignal(t *testing.T) {
	s, err := New(paperTrain, paperFast, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 4096
	x0, y, sigma, out := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x0 {
		x0[i] = float32(0.5 * math.Sin(float64(i)*0.05))
		y[i] = x0[i] + float32(0.3*math.Cos(float64(i)*1.7))
		sigma[i] = 0.2 + 0.8*float32(i%7)/7
	}
	o := &oracle{x0: x0, proc: s.infer, steps: s.TrainingSteps()}
	if err := s.Sample(out, y, sigma, o, CounterNoise{Seed: 1}, 0); err != nil {
		t.Fatal(err)
	}
	if len(o.seen) != 6 {
		t.Fatalf("denoiser called %d times, want 6", len(o.seen))
	}
	for i := range out {
		if d := math.Abs(float64(out[i] - x0[i])); d > 1e-4 {
			t.Fatalf("out[%d] = %v, want x0 = %v", i, out[i], x0[i])
		}
	}
}

// With x0 = 0 the start draw is the exact marginal, so one posterior step must land on the
// marginal of the next step: mean b·y, variance δ·σ². This checks the posterior mean and
// variance formulas (including σ's role) by Monte Carlo.
func TestPosteriorStepKeepsMarginals(t *testing.T) {
	betas := []float64{0.05, 0.3}
	s, err := New(paperTrain, betas, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 400000
	x0, y, sigma, out := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range y {
		y[i] = 0.7
		sigma[i] = 0.5
	}
	o := &oracle{x0: x0, proc: s.infer, steps: s.TrainingSteps()}
	if err := s.Sample(out, y, sigma, o, CounterNoise{Seed: 42}, 0); err != nil {
		t.Fatal(err)
	}
	check := func(name string, x []float32, mean, variance float64) {
		var m, v float64
		for _, xi := range x {
			m += float64(xi)
		}
		m /= float64(len(x))
		for _, xi := range x {
			v += (float64(xi) - m) * (float64(xi) - m)
		}
		v /= float64(len(x))
		if math.Abs(m-mean) > 4*math.Sqrt(variance/float64(len(x)))+1e-6 || math.Abs(v/variance-1) > 0.02 {
			t.Errorf("%s: mean %.5f var %.6f, want %.5f and %.6f", name, m, v, mean, variance)
		}
	}
	p := s.infer
	check("start", o.seen[0], p.B[1]*0.7, p.Delta[1]*0.25)
	check("after one step", o.seen[1], p.B[0]*0.7, p.Delta[0]*0.25)
}

func TestCounterNoiseChunkInvariantAndNormal(t *testing.T) {
	c := CounterNoise{Seed: 7, Stream: 1}
	whole := make([]float32, 10001)
	c.Fill(whole, 3, 0)
	for _, cut := range [][2]int{{0, 1}, {1, 2}, {3, 5000}, {5000, 10001}, {4999, 5001}} {
		part := make([]float32, cut[1]-cut[0])
		c.Fill(part, 3, int64(cut[0]))
		for i := range part {
			if part[i] != whole[cut[0]+i] {
				t.Fatalf("chunk %v differs at %d", cut, i)
			}
		}
	}
	var m, v float64
	for _, x := range whole {
		m += float64(x)
		v += float64(x) * float64(x)
	}
	m /= float64(len(whole))
	v = v/float64(len(whole)) - m*m
	if math.Abs(m) > 0.04 || math.Abs(v-1) > 0.05 {
		t.Errorf("mean %v var %v, want 0 and 1", m, v)
	}
	other := make([]float32, 100)
	c.Fill(other, 2, 0)
	CounterNoise{Seed: 7, Stream: 2}.Fill(whole[:100], 3, 0)
	same := 0
	for i := range other {
		if other[i] == whole[i] {
			same++
		}
	}
	if same > 2 {
		t.Errorf("different steps/streams gave %d equal draws", same)
	}
}

func TestFixedNoiseRows(t *testing.T) {
	f := &FixedNoise{Draws: [][]float32{{0, 0}, {1, 1}, {2, 2}}} // S = 3
	dst := make([]float32, 1)
	for step, want := range map[int]float32{3: 0, 2: 1, 1: 2} {
		f.Fill(dst, step, 1)
		if dst[0] != want {
			t.Errorf("step %d: got row value %v, want %v", step, dst[0], want)
		}
	}
}

func TestSampleErrors(t *testing.T) {
	if _, err := New(paperTrain, paperFast, 1); err == nil {
		t.Error("blend 1: want error")
	}
	s, _ := New(paperTrain, paperFast, 0)
	if err := s.Sample(make([]float32, 3), make([]float32, 4), make([]float32, 4), nil, CounterNoise{}, 0); err == nil {
		t.Error("length mismatch: want error")
	}
}

// frameLocal is a denoiser that looks at each value alone (like a causal model seen one
// frame at a time): eps = 0.3·(x_t − y) + 0.01·t.
type frameLocal struct{}

func (frameLocal) Eps(dst, xt, y []float32, t float32) error {
	for i := range dst {
		dst[i] = 0.3*(xt[i]-y[i]) + 0.01*t
	}
	return nil
}

// The kernel run frame by frame (Start, then Step per reverse step, then Finish, each frame's
// draws at counter offset j·frameLen, as models/streaming does) gives bit for bit what Sample
// gives on the whole frame-major signal: the one implementation serves both.
func TestKernelFrameByFrameEqualsSample(t *testing.T) {
	s, err := New(paperTrain, paperFast, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	const frameLen, frames = 2 * 257, 20
	n := frameLen * frames
	y, sigma := make([]float32, n), make([]float32, n)
	for i := range y {
		y[i] = float32(math.Sin(float64(i) * 0.01))
		sigma[i] = 0.1 + float32(i%13)/13
	}
	noise := CounterNoise{Seed: 11}
	want := make([]float32, n)
	if err := s.Sample(want, y, sigma, frameLocal{}, noise, 3*frameLen); err != nil {
		t.Fatal(err)
	}
	x, z, eps := make([]float32, frameLen), make([]float32, frameLen), make([]float32, frameLen)
	for j := 0; j < frames; j++ {
		yj, sj := y[j*frameLen:(j+1)*frameLen], sigma[j*frameLen:(j+1)*frameLen]
		off := int64(j+3) * frameLen
		noise.Fill(z, s.Steps(), off)
		s.Start(x, yj, sj, z)
		for k := s.Steps() - 1; k >= 0; k-- {
			frameLocal{}.Eps(eps, x, yj, s.T(k))
			noise.Fill(z, k, off)
			s.Step(k, x, yj, eps, sj, z)
		}
		s.Finish(x, yj)
		for i, v := range x {
			if v != want[j*frameLen+i] {
				t.Fatalf("frame %d value %d: %v, whole-signal Sample gave %v", j, i, v, want[j*frameLen+i])
			}
		}
	}
	if a := testing.AllocsPerRun(20, func() {
		s.Start(x, y, sigma, z)
		s.Step(1, x, y, eps, sigma, z)
		s.Step(0, x, y, eps, sigma, z)
		s.Finish(x, y)
	}); a != 0 {
		t.Errorf("kernel: %v allocations", a)
	}
}

// The table holds one sampler per step count, each the sampler New makes for that
// schedule, and refuses step counts outside 1..Max.
func TestTable(t *testing.T) {
	train := []float64{1e-4, 0.02, 0.05, 0.1, 0.2, 0.4}
	schedule := func(n int) ([]float64, error) { return train[len(train)-n:], nil }
	tab, err := NewTable(train, schedule, 0.2, 4)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Max() != 4 {
		t.Fatalf("Max = %d, want 4", tab.Max())
	}
	for n := 1; n <= 4; n++ {
		s, err := tab.Get(n)
		if err != nil || s.Steps() != n {
			t.Fatalf("Get(%d): %v, %v", n, s, err)
		}
		want, _ := New(train, train[len(train)-n:], 0.2)
		if !slices.Equal(s.TrainingSteps(), want.TrainingSteps()) {
			t.Errorf("%d steps: training steps %v, want %v", n, s.TrainingSteps(), want.TrainingSteps())
		}
	}
	for _, n := range []int{0, -1, 5} {
		if _, err := tab.Get(n); err == nil {
			t.Errorf("Get(%d): want an error", n)
		}
	}
	if _, err := NewTable(train, schedule, 0.2, 0); err == nil {
		t.Error("a table of 0 steps: want an error")
	}
	if _, err := NewTable(train, schedule, 1.5, 2); err == nil {
		t.Error("blend 1.5: want an error")
	}
}
