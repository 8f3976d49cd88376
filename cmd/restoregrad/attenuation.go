package main

import (
	"flag"
	"strconv"

	"github.com/restoregrad/restoregrad/engine"
)

// attenuationLimit is the --attenuation-limit flag. Its zero value is the model's full
// strength, so option structs that never saw the flag keep the model's output as it is.
type attenuationLimit struct {
	db  float64
	set bool
}

const attenuationUsage = "attenuation limit in `dB`: how far noise may be pushed down, output = x̂ + 10^(−DB/20)·(y − x̂) (0: no denoising; 100 or more: the model's full strength, the default)"

func registerAttenuation(fs *flag.FlagSet, a *attenuationLimit) {
	fs.Var(a, "attenuation-limit", attenuationUsage)
}

func (a *attenuationLimit) String() string {
	if a == nil || !a.set {
		return strconv.FormatFloat(engine.FullStrength, 'g', -1, 64)
	}
	return strconv.FormatFloat(a.db, 'g', -1, 64)
}

func (a *attenuationLimit) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	if _, err := engine.AttenuationGain(v); err != nil {
		return err
	}
	a.db, a.set = v, true
	return nil
}

// dB is the limit in dB (engine.FullStrength when not set).
func (a attenuationLimit) dB() float64 {
	if !a.set {
		return engine.FullStrength
	}
	return a.db
}

// limited applies the limit to a frame processor; without one it returns p itself.
func (a attenuationLimit) limited(p engine.FrameProcessor) (engine.FrameProcessor, error) {
	if !a.set || a.db >= engine.FullStrength {
		return p, nil
	}
	return engine.NewLimited(p, a.db)
}

// enhancer applies the limit to a whole-signal enhancer.
func (a attenuationLimit) enhancer(e engine.Enhancer) (engine.Enhancer, error) {
	return engine.LimitEnhancer(e, a.dB())
}
