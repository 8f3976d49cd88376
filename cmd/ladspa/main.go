// Command ladspa is the LADSPA plugin librestoregrad_ladspa.so (labels restoregrad_mono
// and restoregrad_stereo), built with `go build -buildmode=c-shared` (make plugin). It
// runs the shipped streaming models through stream/plugin, so PipeWire's filter-chain,
// EasyEffects, sox and Audacity can use the denoiser. The models are embedded in the
// library; ONNX Runtime is found next to the library, where `make setup` put it in the
// checkout the library sits in (bin/), in the system library folders, or at $ORT_LIB.
package main

/*
#cgo LDFLAGS: -ldl
#include <stdint.h>
const char *rg_self_path(void);
*/
import "C"

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/stream/plugin"
)

func main() {}

// maxSteps bounds the Steps port (plugin.MaxSteps).
const maxSteps = plugin.MaxSteps

// options are the plugin's: the model's default steps, switchable up to maxSteps, and the
// noise seed of `restoregrad enhance --seed`'s default, so the plugin's output matches
// enhance's.
var options = models.Options{MaxSteps: maxSteps, Seed: 1}

// envVerbose, when set, makes every instance print its counters to stderr at cleanup.
const envVerbose = "RESTOREGRAD_LADSPA_VERBOSE"

// selfDir is the folder of the plugin library ("" when unknown). ONNX Runtime is looked for
// there first (ort.SetPluginDir), before models loads it.
var selfDir = sync.OnceValue(func() string {
	p := C.rg_self_path()
	if p == nil {
		return ""
	}
	self, err := filepath.EvalSymlinks(C.GoString(p))
	if err != nil {
		return ""
	}
	dir := filepath.Dir(self)
	ort.SetPluginDir(dir)
	return dir
})

// openModel opens the Model control's model number index (plugin.Models) with one frame
// processor per channel, each drawing its noise from its own stream as `enhance` does for
// the channels of a file; the runner returned releases them.
func openModel(index, channels int) ([]engine.FrameProcessor, io.Closer, error) {
	bs, err := plugin.Models()
	if err != nil {
		return nil, nil, err
	}
	if index < 0 || index >= len(bs) {
		return nil, nil, fmt.Errorf("model %d: %d streaming models shipped", index, len(bs))
	}
	dir := selfDir()
	r, err := models.OpenBundle(bs[index], options)
	if err != nil {
		if _, ok := errors.AsType[*models.RuntimeError](err); ok {
			where := cmp.Or(dir, "the plugin's folder")
			err = fmt.Errorf("%w\n  put libonnxruntime.so.1 in %s, or run `make setup` in the restoregrad checkout the plugin was built in, or set %s", err, where, ort.EnvLibrary)
		}
		return nil, nil, err
	}
	ps, err := r.ChannelFrames(channels)
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	if m := r.Manifest(); !m.Trained {
		logf("warning: model %s is UNTRAINED (exported random weights)", m.Name)
	}
	procs := make([]engine.FrameProcessor, len(ps))
	for c, p := range ps {
		procs[c] = p
	}
	return procs, r, nil
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "restoregrad LADSPA: "+format+"\n", a...)
}

// instance is what the C side holds a handle to.
type instance struct {
	p       *plugin.Instance
	ch      int
	rate    int
	in, out [][]float32 // reused slice headers over the host's buffers
}

// instances are the live instances; the C side holds slot index + 1. A fixed table read
// with an atomic load, so that run() finds its instance without a lock (a cgo.Handle's
// map may lock).
var (
	instances [1024]atomic.Pointer[instance]
	slotsMu   sync.Mutex // instantiate and cleanup only
)

// lookup is the instance of handle h, or nil for a handle that names none (0, out of the
// table, or cleaned up): every export then does nothing.
func lookup(h C.uintptr_t) *instance {
	if h == 0 || h > C.uintptr_t(len(instances)) {
		return nil
	}
	return instances[h-1].Load()
}

//export rgModelCount
func rgModelCount() C.int {
	bs, err := plugin.Models()
	if err != nil {
		logf("%v", err)
	}
	return C.int(len(bs))
}

//export rgMaxSteps
func rgMaxSteps() C.float { return maxSteps }

//export rgInstantiate
func rgInstantiate(channels C.int, rate C.ulong) C.uintptr_t {
	p, err := plugin.New(plugin.Config{Rate: int(rate), Channels: int(channels), Open: openModel})
	if err != nil {
		logf("cannot start: %v", err)
		return 0
	}
	inst := &instance{p: p, ch: int(channels), rate: int(rate), in: make([][]float32, channels), out: make([][]float32, channels)}
	slotsMu.Lock()
	defer slotsMu.Unlock()
	for i := range instances {
		if instances[i].Load() == nil {
			instances[i].Store(inst)
			return C.uintptr_t(i + 1)
		}
	}
	p.Close()
	logf("cannot start: %d instances already in this process", len(instances))
	return 0
}

// rgActivate starts a new stream; with RESTOREGRAD_LADSPA_VERBOSE set, the counters of the
// stream before it are printed first.
//
//export rgActivate
func rgActivate(h C.uintptr_t) {
	inst := lookup(h)
	if inst == nil {
		return
	}
	if inst.p.Stats().Calls > 0 {
		inst.logStats()
	}
	inst.p.Activate()
}

//export rgCleanup
func rgCleanup(h C.uintptr_t) {
	inst := lookup(h)
	if inst == nil {
		return
	}
	inst.logStats()
	inst.p.Close()
	slotsMu.Lock()
	instances[h-1].Store(nil)
	slotsMu.Unlock()
}

// logStats prints the instance's counters when RESTOREGRAD_LADSPA_VERBOSE is set.
func (inst *instance) logStats() {
	if os.Getenv(envVerbose) != "" {
		s := inst.p.Stats()
		e := s.Engine
		logf("%d ch at %d Hz: mode %s, latency %d frames (%.1f ms), %d blocks of %d..%d frames, late frames %d, lost %d, stalls %d, steps %d, step changes %d, bypasses %d, model RTF %.3f, model loads %d, ahead of the clock by up to %.1f ms, mode decided after %d frames",
			inst.ch, inst.rate, s.Mode, s.Latency, 1000*float64(s.Latency)/float64(inst.rate), s.Calls, s.MinBlock, s.MaxBlock,
			s.FallbackFrame, s.LostFrames, s.Stalls, e.Steps, e.StepChanges, e.BypassEntries, e.RTF, s.ModelLoads, float64(s.MaxAhead)/1e6, s.DecidedAt)
		for _, err := range s.Errors {
			logf("error: %v", err)
		}
	}
}

// rgRun is LADSPA run: ports are the C instance's port pointers (2·channels audio, then
// attenuation limit, steps, model, latency). It does not allocate or lock. A block of 0
// frames only reports the latency; with an audio port unconnected, the connected outputs
// are silence and the stream does not advance.
//
//export rgRun
func rgRun(h C.uintptr_t, n C.ulong, ports **C.float) {
	inst := lookup(h)
	if inst == nil || ports == nil || n > 1<<30 {
		return
	}
	ps := unsafe.Slice(ports, 2*inst.ch+4)
	k := int(n)
	for c := 0; c < inst.ch; c++ {
		if ps[c] == nil || ps[inst.ch+c] == nil {
			for c := 0; c < inst.ch; c++ {
				if o := ps[inst.ch+c]; o != nil {
					clear(unsafe.Slice((*float32)(unsafe.Pointer(o)), k))
				}
			}
			return
		}
		inst.in[c] = unsafe.Slice((*float32)(unsafe.Pointer(ps[c])), k)
		inst.out[c] = unsafe.Slice((*float32)(unsafe.Pointer(ps[inst.ch+c])), k)
	}
	ctl := plugin.DefaultControls
	cp := ps[2*inst.ch:]
	if cp[0] != nil {
		ctl.Attenuation = float32(*cp[0])
	}
	if cp[1] != nil {
		ctl.Steps = float32(*cp[1])
	}
	if cp[2] != nil {
		ctl.Model = float32(*cp[2])
	}
	lat := inst.p.Run(inst.in, inst.out, k, ctl)
	if cp[3] != nil {
		*cp[3] = C.float(lat)
	}
}
