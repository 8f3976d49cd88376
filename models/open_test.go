package models_test

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/sampler"
	"github.com/restoregrad/restoregrad/models/streaming"
)

func toyBundle(t *testing.T) *bundle.Bundle {
	t.Helper()
	modeltest.RequireRuntime(t)
	b, err := bundle.Load(modeltest.ToyBundle(t, filepath.Join(t.TempDir(), "toy"), modeltest.ToyManifest()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openRunner(t *testing.T, b *bundle.Bundle, opt models.Options) *models.Runner {
	t.Helper()
	r, err := models.OpenBundle(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// The front door decides the step count once: 0 is the bundle's default, a list's 0 too,
// a count without a schedule fails at open, and MaxSteps covers Steps and the default.
func TestOpenResolvesSteps(t *testing.T) {
	b := toyBundle(t)
	def := b.Manifest.DefaultSteps
	r := openRunner(t, b, models.Options{})
	if r.Steps() != def || r.Options().MaxSteps != def {
		t.Errorf("steps %d, max %d; want the default %d for both", r.Steps(), r.Options().MaxSteps, def)
	}
	if l, err := r.StepList(nil); err != nil || !slices.Equal(l, []int{def}) {
		t.Errorf("StepList(nil) = %v, %v; want [%d]", l, err, def)
	}
	if l, err := r.StepList([]int{0, 2}); err != nil || !slices.Equal(l, []int{def, 2}) {
		t.Errorf("StepList([0 2]) = %v, %v; want [%d 2]", l, err, def)
	}
	if _, err := r.StepList([]int{999}); err == nil {
		t.Error("StepList([999]): want an error")
	}
	r = openRunner(t, b, models.Options{Steps: 3, MaxSteps: 2})
	if r.Steps() != 3 || r.Options().MaxSteps != def {
		t.Errorf("steps %d, max %d; want 3 and %d", r.Steps(), r.Options().MaxSteps, def)
	}
	r = openRunner(t, b, models.Options{MaxSteps: 1 << 20})
	if want := max(len(b.Manifest.TrainingBetas), def); r.Options().MaxSteps != want {
		t.Errorf("MaxSteps 2^20 resolves to %d, want the full schedule's %d", r.Options().MaxSteps, want)
	}
	if _, err := models.OpenBundle(b, models.Options{Steps: 999}); err == nil {
		t.Error("999 steps: want an error")
	}
	if _, err := models.Open(filepath.Join(t.TempDir(), "missing"), models.Options{}); err == nil {
		t.Error("missing bundle: want an error")
	}
}

// An offline bundle runs live in blocks over bound buffers: the same output as the block
// processor over the allocating model, and no allocation per frame.
func TestFramesOfAnOfflineBundle(t *testing.T) {
	b := toyBundle(t)
	r := openRunner(t, b, models.Options{Steps: 3, Seed: 7})
	if r.NativeFrames() {
		t.Fatal("an offline bundle reports native frames")
	}
	p, err := r.Frames()
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Offline()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := models.NewBlockProcessor(m, p.FrameSize(), p.Latency(), 3, p.MaxSteps(), sampler.CounterNoise{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	hop := p.FrameSize()
	got, want := make([]float32, hop), make([]float32, hop)
	in := make([]float32, hop)
	for f := 0; f < 8; f++ {
		for i := range in {
			n := f*hop + i
			in[i] = float32(0.3*math.Sin(float64(n)*0.013) + 0.05*math.Sin(float64(n)*1.7))
		}
		if f == 5 {
			for _, q := range []models.FrameProcessor{p, ref} {
				if err := q.SetSteps(2); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := p.Process(got, in); err != nil {
			t.Fatal(err)
		}
		if err := ref.Process(want, in); err != nil {
			t.Fatal(err)
		}
		if d, at := modeltest.MaxDiff(got, want); !(d <= 1e-6) {
			t.Fatalf("frame %d: bound block differs from the model's by %g at %d", f, d, at)
		}
	}
	if n := testing.AllocsPerRun(20, func() { p.Process(got, in) }); n != 0 {
		t.Errorf("Process allocates %v times per frame, want 0", n)
	}
}

// A streaming bundle gives both: its frame-step processor and its whole-signal graphs.
func TestStreamingBundleBothWays(t *testing.T) {
	modeltest.RequireRuntime(t)
	b, err := bundle.Load("streaming/testdata/rt-tiny")
	if err != nil {
		t.Fatal(err)
	}
	r := openRunner(t, b, models.Options{Steps: 2, Threads: 1})
	if !r.NativeFrames() {
		t.Fatal("a streaming bundle reports no native frames")
	}
	p, err := r.Frames()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*streaming.Processor); !ok || p.Steps() != 2 {
		t.Errorf("frames: %T at %d steps, want *streaming.Processor at 2", p, p.Steps())
	}
	m, err := r.Offline()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckSteps(2); err != nil || m.SampleRate() != p.SampleRate() {
		t.Errorf("whole-signal model: %v, rate %d vs %d", err, m.SampleRate(), p.SampleRate())
	}
}

// ChannelFrames gives each channel its own noise stream of the seed, the streams enhance
// draws for a file's channels: channel 0 is Frames' processor, channel 1 another stream,
// each equal to a processor opened on that stream by hand; both kinds of bundle.
func TestChannelFrames(t *testing.T) {
	modeltest.RequireRuntime(t)
	rt, err := bundle.Load("streaming/testdata/rt-tiny")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []*bundle.Bundle{toyBundle(t), rt} {
		t.Run(b.Manifest.Name, func(t *testing.T) {
			const seed = 7
			r := openRunner(t, b, models.Options{Steps: 2, Seed: seed})
			ps, err := r.ChannelFrames(2)
			if err != nil {
				t.Fatal(err)
			}
			mono, err := r.Frames()
			if err != nil {
				t.Fatal(err)
			}
			refs := make([]models.FrameProcessor, 2)
			for c := range refs {
				noise := sampler.CounterNoise{Seed: seed, Stream: uint64(c)}
				if r.NativeFrames() {
					p, err := streaming.Open(b, streaming.Options{Steps: 2, MaxSteps: r.Options().MaxSteps, Noise: noise})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { p.Close() })
					refs[c] = p
					continue
				}
				m, err := r.Offline()
				if err != nil {
					t.Fatal(err)
				}
				if refs[c], err = models.NewBlockProcessor(m, ps[c].FrameSize(), ps[c].Latency(), 2, ps[c].MaxSteps(), noise); err != nil {
					t.Fatal(err)
				}
			}
			hop := ps[0].FrameSize()
			in := make([]float32, hop)
			out := func() []float32 { return make([]float32, hop) }
			var differ float64
			for f := 0; f < 6; f++ {
				for i := range in {
					n := f*hop + i
					in[i] = float32(0.3*math.Sin(float64(n)*0.013) + 0.05*math.Sin(float64(n)*1.7))
				}
				got := [][]float32{out(), out()}
				for c, p := range ps {
					want := out()
					if err := p.Process(got[c], in); err != nil {
						t.Fatal(err)
					}
					if err := refs[c].Process(want, in); err != nil {
						t.Fatal(err)
					}
					if d, at := modeltest.MaxDiff(got[c], want); !(d <= 1e-6) {
						t.Fatalf("frame %d, channel %d: differs from noise stream %d by %g at %d", f, c, c, d, at)
					}
				}
				m := out()
				if err := mono.Process(m, in); err != nil {
					t.Fatal(err)
				}
				if d, at := modeltest.MaxDiff(got[0], m); d != 0 {
					t.Fatalf("frame %d: channel 0 differs from Frames by %g at %d", f, d, at)
				}
				d, _ := modeltest.MaxDiff(got[0], got[1])
				differ = max(differ, d)
			}
			if differ == 0 {
				t.Error("channels 0 and 1 gave the same output: not independent noise")
			}
		})
	}
}

// A bundle that scales its input by the whole signal's RMS (input_rms > 0) has no frame
// processor: a stream cannot know that RMS, and Frames used to skip the gain silently,
// giving output unlike whole-signal use (issue 25).
func TestFramesRefuseInputRMS(t *testing.T) {
	modeltest.RequireRuntime(t)
	m := modeltest.ToyManifest()
	m.InputRMS = 0.05
	b, err := bundle.Load(modeltest.ToyBundle(t, filepath.Join(t.TempDir(), "toy"), m))
	if err != nil {
		t.Fatal(err)
	}
	r := openRunner(t, b, models.Options{})
	if _, err := r.Frames(); err == nil || !strings.Contains(err.Error(), "input_rms") {
		t.Errorf("Frames: %v, want a refusal naming input_rms", err)
	}
	if _, err := r.ChannelFrames(2); err == nil {
		t.Error("ChannelFrames: want a refusal")
	}
	if _, err := r.Offline(); err != nil {
		t.Errorf("Offline: %v (whole-signal use applies the gain)", err)
	}
}
