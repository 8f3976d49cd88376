package eval

import (
	"context"
	"path/filepath"
	"strconv"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models/sampler"
)

// SystemInfo describes a system in tables and files.
type SystemInfo struct {
	Name  string
	Steps int  // reverse diffusion steps; 0 when not a diffusion model
	Timed bool // its compute time is a real-time factor worth reporting
	Kind  string
}

// Kinds of system.
const (
	KindInput = "input" // the noisy input itself
	KindModel = "model" // one of our diffusion models
	KindPeer  = "peer"  // another enhancer run in the same process
	KindDir   = "dir"   // outputs made elsewhere, read from a folder
)

// Label is the name with the step count, unique within a run: "restoregrad-offline@6".
func (s SystemInfo) Label() string {
	if s.Steps > 0 {
		return s.Name + "@" + strconv.Itoa(s.Steps)
	}
	return s.Name
}

// A System turns a noisy signal into an enhanced one. Enhance may be called from several
// goroutines at once. The output may have any length and rate (returned as outRate);
// the runner resamples it and aligns it with the clean reference.
type System interface {
	Info() SystemInfo
	Enhance(ctx context.Context, p Pair, noisy []float32, rate int) (out []float32, outRate int, err error)
}

type noisySystem struct{}

// Noisy is the unprocessed input, scored as a system: the row every other is compared to.
func Noisy() System { return noisySystem{} }

func (noisySystem) Info() SystemInfo { return SystemInfo{Name: "noisy", Kind: KindInput} }
func (noisySystem) Enhance(_ context.Context, _ Pair, noisy []float32, rate int) ([]float32, int, error) {
	return noisy, rate, nil
}

// ModelSystem runs a whole-signal enhancer (a *models.Model) through the offline
// chunking engine, at the model's rate, with counter-based noise from Seed.
type ModelSystem struct {
	Name     string
	Enh      engine.Enhancer
	Steps    int
	Noise    sampler.Noise // the diffusion noise (models.Runner.Noise)
	InputRMS float64       // the manifest's input_rms: scale the input to this RMS first (0: off)
	Chunk    engine.ChunkConfig
}

// Info implements System.
func (m *ModelSystem) Info() SystemInfo {
	return SystemInfo{Name: m.Name, Steps: m.Steps, Timed: true, Kind: KindModel}
}

// Enhance implements System.
func (m *ModelSystem) Enhance(ctx context.Context, _ Pair, noisy []float32, rate int) ([]float32, int, error) {
	mr := m.Enh.SampleRate()
	y := toRate(noisy, rate, mr)
	gain := engine.InputGain(engine.RMS(y), m.InputRMS)
	out, err := engine.EnhanceSignal(ctx, m.Enh, y, m.Chunk, m.Steps, m.Noise, gain)
	if err != nil {
		return nil, 0, err
	}
	return out, mr, nil
}

// FuncSystem adapts a function (a peer such as GTCRN) that enhances a whole signal at
// a fixed rate.
type FuncSystem struct {
	Name string
	Rate int
	Fn   func(y []float32) ([]float32, error)
}

// Info implements System.
func (f *FuncSystem) Info() SystemInfo { return SystemInfo{Name: f.Name, Timed: true, Kind: KindPeer} }

// Enhance implements System.
func (f *FuncSystem) Enhance(_ context.Context, _ Pair, noisy []float32, rate int) ([]float32, int, error) {
	out, err := f.Fn(toRate(noisy, rate, f.Rate))
	if err != nil {
		return nil, 0, err
	}
	return out, f.Rate, nil
}

// DirSystem reads ready-made outputs: the file of the pair's name in Dir.
type DirSystem struct {
	Name, Dir string
}

// Info implements System.
func (d *DirSystem) Info() SystemInfo { return SystemInfo{Name: d.Name, Kind: KindDir} }

// Enhance implements System.
func (d *DirSystem) Enhance(_ context.Context, p Pair, _ []float32, _ int) ([]float32, int, error) {
	path := filepath.Join(d.Dir, p.Name)
	x, rate, err := readMono(path)
	if err != nil {
		return nil, 0, err
	}
	return x, rate, nil
}
