// Package bundle reads and checks model bundles: a folder holding manifest.json, the ONNX
// graphs it names with their SHA-256 sums, and a model card (see models/BUNDLE.md).
package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
)

// SchemaVersion is the newest manifest schema this code reads. Schema 1 bundles (waveform
// domain) are read as well; schema 2 adds the STFT domain.
const SchemaVersion = 2

// Domains of the diffusion state.
const (
	DomainWave = "wave" // waveform samples (schema 1, and schema 2 without "domain")
	DomainSTFT = "stft" // compressed complex STFT bins, [2][F] values per frame
)

// STFT is the time-frequency front end of an STFT-domain bundle (models/BUNDLE.md,
// "Schema 2"): a sqrt-Hann STFT at 50% overlap whose bins are compressed as
// scale·|Y|^compress·Y/|Y|.
type STFT struct {
	NFFT     int     `json:"n_fft"`
	Hop      int     `json:"hop"`
	Window   string  `json:"window"`
	Compress float64 `json:"compress"`
	Scale    float64 `json:"scale"`
}

// Bins is the number of frequency bins per frame, n_fft/2 + 1.
func (s STFT) Bins() int { return s.NFFT/2 + 1 }

// WindowSqrtHann is the only window the STFT front end has.
const WindowSqrtHann = "sqrt_hann"

// Kinds of bundle.
const (
	KindOffline   = "offline"   // whole-signal graphs
	KindStreaming = "streaming" // frame-step graphs with explicit caches
)

// TensorSpec names a graph input or output and its shape; -1 marks the dynamic time axis.
type TensorSpec struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
}

// Network is one ONNX graph of a bundle.
type Network struct {
	File    string       `json:"file"`
	SHA256  string       `json:"sha256"`
	Inputs  []TensorSpec `json:"inputs"`
	Outputs []TensorSpec `json:"outputs"`
}

// InputNames lists the input tensor names in order.
func (n Network) InputNames() []string { return names(n.Inputs) }

// OutputNames lists the output tensor names in order.
func (n Network) OutputNames() []string { return names(n.Outputs) }

func names(ts []TensorSpec) []string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.Name
	}
	return s
}

// Manifest is manifest.json.
type Manifest struct {
	Schema             int                  `json:"schema"`
	Name               string               `json:"name"`
	Version            string               `json:"version"`
	Kind               string               `json:"kind"`
	Config             string               `json:"config"`
	Objective          string               `json:"objective"`
	Trained            bool                 `json:"trained"`
	Description        string               `json:"description"`
	SampleRate         int                  `json:"sample_rate"`
	LengthMultiple     int                  `json:"length_multiple"`
	Context            int                  `json:"context"`
	TrainingBetas      []float64            `json:"training_betas"`
	InferenceSchedules map[string][]float64 `json:"inference_schedules"`
	DefaultSteps       int                  `json:"default_steps"`
	FinalBlend         float64              `json:"final_blend"`
	InputRMS           float64              `json:"input_rms"`
	Networks           map[string]Network   `json:"networks"`
	Card               string               `json:"card"`
	// Streaming holds the frame-step contract of streaming bundles; nil for offline ones.
	Streaming json.RawMessage `json:"streaming,omitempty"`
	// Domain is DomainSTFT for time-frequency bundles (schema 2); "" or DomainWave otherwise.
	Domain string `json:"domain,omitempty"`
	// STFT holds the front end of an STFT-domain bundle; nil otherwise.
	STFT *STFT `json:"stft,omitempty"`
	// Chunk is the span, in samples, the offline chunker cuts by default (0: the engine's
	// default). Recurrent networks trained on short crops degrade on much longer windows,
	// so the exporter sets it near the training crop.
	Chunk int `json:"chunk,omitempty"`
}

// IsSTFT reports whether the diffusion state lives in the STFT domain.
func (m *Manifest) IsSTFT() bool { return m.Domain == DomainSTFT }

// WholeSignalSpecs returns the tensors the whole-signal graphs must have, in order:
// denoiser inputs x_t, y, t and output eps; prior input y and output sigma. Waveform
// bundles use [1, 1, -1]; STFT bundles [1, 2, -1, F] (channel 0 real, 1 imaginary).
func (m *Manifest) WholeSignalSpecs() map[string]Network {
	sig := []int64{1, 1, -1}
	if m.IsSTFT() && m.STFT != nil {
		sig = []int64{1, 2, -1, int64(m.STFT.Bins())}
	}
	spec := func(name string) TensorSpec { return TensorSpec{Name: name, Shape: slices.Clone(sig)} }
	t := TensorSpec{Name: "t", Shape: []int64{1}}
	return map[string]Network{
		Denoiser: {Inputs: []TensorSpec{spec("x_t"), spec("y"), t}, Outputs: []TensorSpec{spec("eps")}},
		Prior:    {Inputs: []TensorSpec{spec("y")}, Outputs: []TensorSpec{spec("sigma")}},
	}
}

// SpecsEqual reports whether two tensor lists have the same names and shapes in order.
func SpecsEqual(a, b []TensorSpec) bool {
	return slices.EqualFunc(a, b, func(x, y TensorSpec) bool {
		return x.Name == y.Name && slices.Equal(x.Shape, y.Shape)
	})
}

// Networks every bundle has.
const (
	Denoiser = "denoiser"
	Prior    = "prior"
)

// StepCounts lists the step counts that have an inference schedule, ascending.
func (m *Manifest) StepCounts() []int {
	var steps []int
	for k := range m.InferenceSchedules {
		if n, err := strconv.Atoi(k); err == nil {
			steps = append(steps, n)
		}
	}
	sort.Ints(steps)
	return steps
}

// Schedule returns the inference betas for a step count: the manifest's schedule for it,
// the full training schedule for T steps, or else one derived from the manifest's longest
// schedule (see DeriveSchedule), so that a live engine can step down one step at a time.
// The longest, not the default: a one-step default has no noise levels to interpolate.
func (m *Manifest) Schedule(steps int) ([]float64, error) {
	if s, ok := m.InferenceSchedules[strconv.Itoa(steps)]; ok {
		return s, nil
	}
	if steps == len(m.TrainingBetas) {
		return m.TrainingBetas, nil
	}
	var base []float64
	for _, s := range m.InferenceSchedules {
		if len(s) > len(base) {
			base = s
		}
	}
	if base == nil || steps < 1 || steps > len(m.TrainingBetas) {
		return nil, fmt.Errorf("model %s has no %d-step schedule (available: %v, %d (the full schedule), and 1..%d derived)",
			m.Name, steps, m.StepCounts(), len(m.TrainingBetas), len(m.TrainingBetas))
	}
	return DeriveSchedule(base, steps), nil
}

// ResolveSteps is the step count a request for n steps runs at: n, or the bundle's default
// for 0. It fails when the bundle has no schedule for that count.
func (m *Manifest) ResolveSteps(n int) (int, error) {
	if n == 0 {
		n = m.DefaultSteps
	}
	if _, err := m.Schedule(n); err != nil {
		return 0, err
	}
	return n, nil
}

// DeriveSchedule makes an n-step schedule from base by interpolating base's cumulative
// log ᾱ linearly at n evenly spaced points of its step axis. It keeps base's first and
// last noise levels, so the sampler starts and ends where base does.
func DeriveSchedule(base []float64, n int) []float64 {
	cum := make([]float64, len(base))
	c := 0.0
	for i, b := range base {
		c += math.Log(1 - b)
		cum[i] = c
	}
	at := func(x float64) float64 {
		i := int(x)
		if i >= len(cum)-1 {
			return cum[len(cum)-1]
		}
		f := x - float64(i)
		return (1-f)*cum[i] + f*cum[i+1]
	}
	out := make([]float64, n)
	prev := 0.0
	for s := 0; s < n; s++ {
		x := float64(len(cum) - 1)
		if n > 1 {
			x = float64(s) * float64(len(cum)-1) / float64(n-1)
		}
		if n == 1 {
			x = float64(len(cum) - 1)
		}
		v := at(x)
		if s == 0 && n > 1 {
			v = cum[0]
		}
		out[s] = 1 - math.Exp(v-prev)
		prev = v
	}
	return out
}

// Validate checks the fields the engine relies on.
func (m *Manifest) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if m.Schema < 1 || m.Schema > SchemaVersion {
		bad("schema %d, this program reads 1 to %d", m.Schema, SchemaVersion)
	}
	errs = append(errs, m.checkDomain()...)
	if m.Name == "" {
		bad("name is empty")
	}
	if m.Kind != KindOffline && m.Kind != KindStreaming {
		bad("kind %q (want %q or %q)", m.Kind, KindOffline, KindStreaming)
	}
	if m.SampleRate < 1000 || m.SampleRate > 192000 {
		bad("sample_rate %d out of range", m.SampleRate)
	}
	if m.LengthMultiple < 1 {
		bad("length_multiple %d < 1", m.LengthMultiple)
	}
	if m.Context < 0 {
		bad("context %d < 0", m.Context)
	}
	if m.Chunk < 0 {
		bad("chunk %d < 0", m.Chunk)
	}
	if err := checkBetas("training_betas", m.TrainingBetas); err != nil {
		errs = append(errs, err)
	}
	if len(m.InferenceSchedules) == 0 {
		bad("inference_schedules is empty")
	}
	for k, s := range m.InferenceSchedules {
		n, err := strconv.Atoi(k)
		if err != nil || n != len(s) {
			bad("inference_schedules[%q] has %d betas; the key must be the step count", k, len(s))
		}
		if err := checkBetas("inference_schedules["+k+"]", s); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := m.Schedule(m.DefaultSteps); err != nil {
		bad("default_steps: %v", err)
	}
	if m.FinalBlend < 0 || m.FinalBlend >= 1 {
		bad("final_blend %v outside [0, 1)", m.FinalBlend)
	}
	if m.InputRMS < 0 {
		bad("input_rms %v < 0", m.InputRMS)
	}
	for _, want := range []string{Denoiser, Prior} {
		n, ok := m.Networks[want]
		if !ok {
			bad("networks.%s missing", want)
			continue
		}
		if n.File == "" || path.IsAbs(n.File) || path.Clean(n.File) != n.File || n.File[0] == '.' {
			bad("networks.%s.file %q must be a plain relative name", want, n.File)
		}
		if len(n.SHA256) != 64 {
			bad("networks.%s.sha256 must be 64 hex digits", want)
		}
		if w := m.WholeSignalSpecs()[want]; !SpecsEqual(n.Inputs, w.Inputs) || !SpecsEqual(n.Outputs, w.Outputs) {
			bad("networks.%s: inputs %v, outputs %v; want %v and %v", want, n.Inputs, n.Outputs, w.Inputs, w.Outputs)
		}
	}
	return errors.Join(errs...)
}

// checkDomain checks the domain and, for STFT bundles, the front end.
func (m *Manifest) checkDomain() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch m.Domain {
	case "", DomainWave:
		if m.STFT != nil {
			bad("stft given for a %s-domain bundle", m.domainName())
		}
		return errs
	case DomainSTFT:
		if m.Schema < 2 {
			bad("domain %q needs schema 2 (manifest says %d)", m.Domain, m.Schema)
		}
	default:
		bad("domain %q (want %q or %q)", m.Domain, DomainWave, DomainSTFT)
		return errs
	}
	s := m.STFT
	if s == nil {
		bad("domain %q without an stft object", m.Domain)
		return errs
	}
	if s.NFFT < 2 || s.NFFT%2 != 0 || s.NFFT > 1<<16 {
		bad("stft.n_fft %d must be even, 2..65536", s.NFFT)
	}
	if s.Hop*2 != s.NFFT {
		bad("stft.hop %d must be n_fft/2 = %d (sqrt-Hann synthesis without normalisation)", s.Hop, s.NFFT/2)
	}
	if s.Window != WindowSqrtHann {
		bad("stft.window %q (want %q)", s.Window, WindowSqrtHann)
	}
	if !(s.Compress > 0 && s.Compress <= 1) {
		bad("stft.compress %v outside (0, 1]", s.Compress)
	}
	if !(s.Scale > 0) || math.IsInf(s.Scale, 0) {
		bad("stft.scale %v must be positive", s.Scale)
	}
	if m.LengthMultiple != s.Hop {
		bad("length_multiple %d must equal stft.hop %d", m.LengthMultiple, s.Hop)
	}
	return errs
}

func (m *Manifest) domainName() string {
	if m.Domain == "" {
		return DomainWave
	}
	return m.Domain
}

func checkBetas(name string, betas []float64) error {
	if len(betas) == 0 {
		return fmt.Errorf("%s is empty", name)
	}
	for i, b := range betas {
		if !(b > 0 && b < 1) {
			return fmt.Errorf("%s[%d] = %v outside (0, 1)", name, i, b)
		}
	}
	return nil
}

// Bundle is a loaded, checked bundle.
type Bundle struct {
	Manifest Manifest
	// Source says where the bundle came from (a folder, or "embedded:NAME").
	Source string
	fsys   fs.FS
}

// Load reads and checks the bundle in a folder on disk.
func Load(dir string) (*Bundle, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("model %s: not a folder (a bundle is a folder with manifest.json)", dir)
	}
	return LoadFS(os.DirFS(dir), ".", dir)
}

// LoadFS reads and checks a bundle stored at dir inside fsys; source names it in errors.
func LoadFS(fsys fs.FS, dir, source string) (*Bundle, error) {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", source, err)
	}
	raw, err := fs.ReadFile(sub, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", source, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("model %s: manifest.json: %w", source, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("model %s: manifest.json: %w", source, err)
	}
	return &Bundle{Manifest: m, Source: source, fsys: sub}, nil
}

// Network returns the ONNX bytes of a named network after checking their SHA-256.
func (b *Bundle) Network(name string) ([]byte, Network, error) {
	n, ok := b.Manifest.Networks[name]
	if !ok {
		return nil, Network{}, fmt.Errorf("model %s: no network %q", b.Source, name)
	}
	data, err := fs.ReadFile(b.fsys, n.File)
	if err != nil {
		return nil, n, fmt.Errorf("model %s: %w", b.Source, err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != n.SHA256 {
		return nil, n, fmt.Errorf("model %s: %s: SHA-256 %s does not match the manifest's %s (file changed or corrupt)",
			b.Source, n.File, got[:12], shortSum(n.SHA256))
	}
	return data, n, nil
}

func shortSum(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// Card returns the model card text, or "" when the bundle has none.
func (b *Bundle) Card() string {
	if b.Manifest.Card == "" {
		return ""
	}
	data, err := fs.ReadFile(b.fsys, b.Manifest.Card)
	if err != nil {
		return ""
	}
	return string(data)
}

// ReadFile reads another file of the bundle (e.g. golden/ parity tensors).
func (b *Bundle) ReadFile(name string) ([]byte, error) {
	data, err := fs.ReadFile(b.fsys, name)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", b.Source, err)
	}
	return data, nil
}

// Write creates a bundle folder: it stores each network's bytes under its File name, fills
// in the SHA-256 sums, and writes manifest.json. Tests and tools use it to build bundles.
func Write(dir string, m Manifest, networks map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	for name, data := range networks {
		n, ok := m.Networks[name]
		if !ok {
			return fmt.Errorf("write bundle %s: manifest has no network %q", dir, name)
		}
		sum := sha256.Sum256(data)
		n.SHA256 = hex.EncodeToString(sum[:])
		m.Networks[name] = n
		if err := os.WriteFile(path.Join(dir, n.File), data, 0o644); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	if err := os.WriteFile(path.Join(dir, "manifest.json"), append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}
