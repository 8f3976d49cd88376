package eval

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/dnsmos"
	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/peers"
)

// Plan is one evaluation as the eval command asks for it: the pairs of CleanDir and
// NoisyDir, the systems to run on them (the noisy input itself first, then each model at
// each step count, each peer, each of those again through each device rate, each folder of
// ready-made outputs), the judges, and where the results go. Run carries it out.
type Plan struct {
	CleanDir, NoisyDir string
	Limit              int            // score only the first Limit pairs, by name (0: all)
	Models             []string       // bundle names or folders
	Steps              []int          // step counts to run each model at (none: its default)
	Peers              []string       // NAME=PATH: a peer's streaming graph, see PeerHelp
	ViaRates           []int          // device rates every model and peer also runs through (ViaRate)
	Enhanced           []string       // NAME=DIR: ready-made outputs named like the noisy files
	Model              models.Options // the runtime and the seed; MaxSteps is raised to the largest of Steps
	// DNSMOSDir is the DNSMOS model folder: "" for dnsmos.DefaultDir when it is there
	// (missing, the run goes on without), "off" for none.
	DNSMOSDir string
	Jobs      int // files scored in parallel
	MaxLagMS  int // alignment search range in ms (negative: no alignment, only trimming)
	// CSV, JSON and ReportDir are where the per-file scores, the per-system means and the
	// HTML report go ("": not written). They are checked before the scoring, which can
	// take hours.
	CSV, JSON, ReportDir string
	Open                 Opener    // nil: models.Open and Runner.Offline
	Out, Log             io.Writer // the table and its summary line; warnings and notes
}

// Opener opens the models a Plan or BenchPlan runs. The commands pass theirs, which tells
// the user about untrained weights and about a CUDA request that runs on the CPU.
type Opener interface {
	Open(spec string, opt models.Options) (*models.Runner, error)
	Offline(r *models.Runner) (*models.Model, error)
}

// plainOpener is the Opener of a plan that names none.
type plainOpener struct{}

func (plainOpener) Open(spec string, opt models.Options) (*models.Runner, error) {
	return models.Open(spec, opt)
}
func (plainOpener) Offline(r *models.Runner) (*models.Model, error) { return r.Offline() }

func opener(o Opener) Opener {
	if o == nil {
		return plainOpener{}
	}
	return o
}

// Run scores every system of p on every pair and writes the results. When ctx ends first
// it writes nothing and says what was interrupted.
func (p Plan) Run(ctx context.Context) error {
	for _, out := range []struct{ flag, path string }{{"--csv", p.CSV}, {"--json", p.JSON}} {
		if err := checkOutputFile(out.path); err != nil {
			return fmt.Errorf("%s: %w", out.flag, err)
		}
	}
	if p.ReportDir != "" {
		if err := os.MkdirAll(p.ReportDir, 0o755); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	dnsmosDir := p.DNSMOSDir
	dnsmosGiven := dnsmosDir != "" && dnsmosDir != "off"
	pairs, missing, err := PairDirs(p.CleanDir, p.NoisyDir, p.Limit)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		fmt.Fprintf(p.Log, "warning: %d noisy files have no clean counterpart and are skipped (first: %s)\n", len(missing), missing[0])
	}
	mopt := p.Model
	if len(p.Steps) > 0 {
		mopt.MaxSteps = slices.Max(p.Steps)
	}
	var opt ort.Options
	if len(p.Models) > 0 || len(p.Peers) > 0 || dnsmosDir != "off" {
		if opt, err = mopt.Runtime(); err != nil {
			if len(p.Models) > 0 || len(p.Peers) > 0 || dnsmosGiven {
				return err
			}
			fmt.Fprintf(p.Log, "DNSMOS: unavailable (%v)\n", err)
			dnsmosDir = "off"
		}
	}

	systems := []System{Noisy()}
	open := opener(p.Open)
	for _, name := range p.Models {
		r, err := open.Open(name, mopt)
		if err != nil {
			return fmt.Errorf("model %s: %w", name, err)
		}
		defer r.Close()
		sys, err := modelSystems(open, r, p.Steps)
		if err != nil {
			return fmt.Errorf("model %s: %w", name, err)
		}
		systems = append(systems, sys...)
	}
	for _, spec := range p.Peers {
		name, g, err := openPeer(spec, opt)
		if err != nil {
			return err
		}
		defer g.Close()
		systems = append(systems, &FuncSystem{Name: name, Rate: g.SampleRate(), Fn: g.Enhance})
	}
	var devicePaths []System
	for _, rate := range p.ViaRates {
		for _, s := range systems[1:] {
			devicePaths = append(devicePaths, &ViaRate{System: s, Rate: rate})
		}
	}
	systems = append(systems, devicePaths...)
	for _, r := range p.Enhanced {
		name, dir, err := splitNameValue("enhanced", r)
		if err != nil {
			return err
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("enhanced %s: %s is not a folder", name, dir)
		}
		systems = append(systems, &DirSystem{Name: name, Dir: dir})
	}

	var scorer *dnsmos.Scorer
	if dnsmosDir != "off" {
		if dnsmosDir == "" {
			dnsmosDir = dnsmos.DefaultDir()
		}
		s, err := dnsmos.Open(dnsmosDir, opt)
		if err != nil && dnsmosGiven {
			return fmt.Errorf("--dnsmos %s: %w", dnsmosDir, err)
		} else if err != nil {
			fmt.Fprintf(p.Log, "DNSMOS: unavailable (%v)\n", err)
		} else {
			defer s.Close()
			scorer = s
		}
	}

	maxLag := p.MaxLagMS * ScoreRate / 1000
	if p.MaxLagMS < 0 {
		maxLag = -1
	} else if maxLag == 0 {
		maxLag = 1 // "0 ms" means no shift, not the package default
	}
	res, err := Run(ctx, Config{
		Pairs: pairs, Systems: systems, DNSMOS: scorer, Jobs: p.Jobs, MaxLag: maxLag, ReportDir: p.ReportDir,
		Warn: func(msg string) { fmt.Fprintln(p.Log, "warning: "+msg) },
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted (Ctrl-C) while scoring %d systems on %d file pairs of %s: nothing written", len(systems), len(pairs), p.NoisyDir)
		}
		return err
	}
	if err := res.WriteTable(p.Out); err != nil {
		return err
	}
	fmt.Fprintf(p.Out, "%d files, %d systems, %d jobs, wall time %.1f s\n", len(pairs), len(systems), max(1, min(p.Jobs, len(pairs))), res.Wall.Seconds())
	if p.CSV != "" {
		if err := writeFileWith(p.CSV, res.WriteCSV); err != nil {
			return err
		}
	}
	if p.JSON != "" {
		if err := writeFileWith(p.JSON, res.WriteJSON); err != nil {
			return err
		}
	}
	if p.ReportDir != "" {
		path, err := res.WriteReport()
		if err != nil {
			return err
		}
		fmt.Fprintf(p.Log, "report: %s\n", path)
	}
	return nil
}

// modelSystems are r's model at each step count: a streaming model frame by frame, as the
// live engine runs it (one processor per step count, since a processor holds one stream),
// an offline one through the chunked engine.
func modelSystems(open Opener, r *models.Runner, steps []int) ([]System, error) {
	list, err := r.StepList(steps)
	if err != nil {
		return nil, err
	}
	name := r.Manifest().Name
	var out []System
	if r.NativeFrames() {
		for _, s := range list {
			p, err := r.Frames()
			if err != nil {
				return nil, err
			}
			if err := p.SetSteps(s); err != nil {
				return nil, err
			}
			out = append(out, &StreamSystem{Name: name, Proc: p})
		}
		return out, nil
	}
	m, err := open.Offline(r)
	if err != nil {
		return nil, err
	}
	for _, s := range list {
		out = append(out, &ModelSystem{Name: name, Enh: m, Steps: s, Noise: r.Noise(0), InputRMS: r.InputRMS()})
	}
	return out, nil
}

// PeerHelp is the help of the --peer flag of eval and bench: what NAME and PATH are and
// the streaming formats a PATH may have, from peers.Formats.
var PeerHelp = func() string {
	var b strings.Builder
	b.WriteString("NAME=PATH (repeatable): the streaming ONNX graph at PATH, shown as NAME. Its format is told\n" +
		"from the graph's inputs and outputs, whatever NAME says: one STFT frame (mix) and caches in,\n" +
		"the enhanced frame (enh) and the caches out. Known formats:")
	for _, f := range peers.Formats() {
		fmt.Fprintf(&b, "\n  %s: %s", f.Name, f.About)
	}
	b.WriteString("\ne.g. gtcrn=../shared/peers/gtcrn/gtcrn_simple.onnx, ulunas=../shared/peers/ulunas/ulunas_stream_simple.onnx")
	return b.String()
}()

// openPeer opens a peer enhancer given as NAME=PATH (see PeerHelp) and returns its name.
func openPeer(spec string, opt ort.Options) (string, *peers.Model, error) {
	name, path, err := splitNameValue("peer", spec)
	if err != nil {
		return "", nil, err
	}
	m, err := peers.Open(path, opt)
	if err != nil {
		return "", nil, fmt.Errorf("peer %s: %w", name, err)
	}
	return name, m, nil
}

// splitNameValue parses the NAME=VALUE of a flag.
func splitNameValue(flagName, s string) (string, string, error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" || value == "" {
		return "", "", fmt.Errorf("-%s %q: want NAME=PATH", flagName, s)
	}
	return name, value, nil
}

// checkOutputFile checks that a file can be created at name ("" is no file): not a folder,
// in a folder that exists and takes new files.
func checkOutputFile(name string) error {
	if name == "" {
		return nil
	}
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a folder; give a file name", name)
	}
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, ".restoregrad-check-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", name, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// writeFileWith creates name and fills it with write.
func writeFileWith(name string, write func(w io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	return f.Close()
}
