// Package eval scores speech enhancement systems on paired clean/noisy files: it runs
// every system (our models at each step count, peers, ready-made outputs, the noisy input
// itself) over the noisy files, aligns each output with its clean reference, and reports
// PESQ, STOI, SI-SDR, segmental SNR, the composite measures, DNSMOS and the real-time
// factor per file and as means with 95% confidence intervals.
package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/restoregrad/restoregrad/dsp/metrics"
	"github.com/restoregrad/restoregrad/dsp/pesq"
	"github.com/restoregrad/restoregrad/dsp/resample"
	"github.com/restoregrad/restoregrad/dsp/stoi"
	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/models/dnsmos"
)

// ScoreRate is the rate every intrusive metric is computed at: signals at other rates
// are resampled to it (PESQ-WB is defined at 16 kHz only).
const ScoreRate = 16000

// Metric indices into Values.
const (
	PESQWB = iota
	PESQNB
	STOI
	ESTOI
	SISDR
	SNR
	SSNR
	CSIG
	CBAK
	COVL
	DNSMOSSIG
	DNSMOSBAK
	DNSMOSOVRL
	DNSMOSP808
	RTF
	NumMetrics
)

// MetricInfo names one metric.
type MetricInfo struct {
	Key    string // CSV/JSON name
	Label  string // table heading
	Digits int    // decimals in the table
}

// Metrics describes every metric, indexed like Values.
var Metrics = [NumMetrics]MetricInfo{
	PESQWB:     {"pesq_wb", "PESQ-WB", 3},
	PESQNB:     {"pesq_nb", "PESQ-NB", 3},
	STOI:       {"stoi", "STOI", 4},
	ESTOI:      {"estoi", "ESTOI", 4},
	SISDR:      {"si_sdr", "SI-SDR", 2},
	SNR:        {"snr", "SNR", 2},
	SSNR:       {"ssnr", "segSNR", 2},
	CSIG:       {"csig", "CSIG", 3},
	CBAK:       {"cbak", "CBAK", 3},
	COVL:       {"covl", "COVL", 3},
	DNSMOSSIG:  {"dnsmos_sig", "SIG", 3},
	DNSMOSBAK:  {"dnsmos_bak", "BAK", 3},
	DNSMOSOVRL: {"dnsmos_ovrl", "OVRL", 3},
	DNSMOSP808: {"dnsmos_p808", "P808", 3},
	RTF:        {"rtf", "RTF", 4},
}

// Values holds one file's scores; NaN marks a metric that was not computed or failed.
type Values [NumMetrics]float64

func nanValues() Values {
	var v Values
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// Pair is one clean/noisy file pair, named by the noisy file's base name.
type Pair struct {
	Name         string
	Clean, Noisy string // paths
}

// PairDirs pairs the .wav files of noisyDir with the files of the same name in cleanDir,
// sorted by name; limit > 0 keeps the first limit pairs. Noisy files without a clean
// counterpart are returned in missing.
func PairDirs(cleanDir, noisyDir string, limit int) (pairs []Pair, missing []string, err error) {
	entries, err := os.ReadDir(noisyDir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".wav") {
			continue
		}
		clean := filepath.Join(cleanDir, e.Name())
		if _, err := os.Stat(clean); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				missing = append(missing, e.Name())
				continue
			}
			return nil, nil, err
		}
		pairs = append(pairs, Pair{Name: e.Name(), Clean: clean, Noisy: filepath.Join(noisyDir, e.Name())})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].Name < pairs[j].Name })
	if limit > 0 && len(pairs) > limit {
		pairs = pairs[:limit]
	}
	if len(pairs) == 0 {
		return nil, missing, fmt.Errorf("%s: no .wav file has a counterpart of the same name in %s", noisyDir, cleanDir)
	}
	return pairs, missing, nil
}

// Config sets up a run.
type Config struct {
	Pairs   []Pair
	Systems []System       // in table order; put Noisy() first
	DNSMOS  *dnsmos.Scorer // nil: no DNSMOS columns
	Jobs    int            // files scored in parallel (default 1)
	// MaxLag bounds the alignment search, in samples at ScoreRate: 0 means 0.1 s,
	// negative disables alignment (outputs are only trimmed to the reference's length).
	MaxLag int
	// ReportDir, when set, receives every output as WAV and spectrogram PNG (see
	// WriteReport).
	ReportDir string
	// Warn receives one line per non-fatal problem (a metric that failed on a file).
	Warn func(string)
	// Progress is called after each pair with the pairs done and the total.
	Progress func(done, total int)
}

// FileResult is one system's scores on one pair.
type FileResult struct {
	File    string
	Lag     int     // samples at ScoreRate the output was shifted by to align it
	Seconds float64 // audio duration of the noisy input
	Compute float64 // seconds spent in the system (NaN when not timed)
	Values  Values
}

// Result is a finished run.
type Result struct {
	Systems []SystemInfo
	Pairs   []Pair
	Files   [][]FileResult // [system][pair]
	Wall    time.Duration
	DNSMOS  bool // DNSMOS was scored
	report  *reportIndex
}

// Run enhances and scores every pair with every system. An error that stops a file
// (unreadable input, a system failing) stops the run and names the file.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Systems) == 0 {
		return nil, errors.New("eval: no systems")
	}
	if len(cfg.Pairs) == 0 {
		return nil, errors.New("eval: no file pairs")
	}
	start := time.Now()
	res := &Result{Pairs: cfg.Pairs, DNSMOS: cfg.DNSMOS != nil}
	for _, s := range cfg.Systems {
		res.Systems = append(res.Systems, s.Info())
	}
	seen := map[string]bool{}
	for _, s := range res.Systems {
		key := s.Label()
		if seen[key] {
			return nil, fmt.Errorf("eval: system %s given twice", key)
		}
		seen[key] = true
	}
	res.Files = make([][]FileResult, len(cfg.Systems))
	for i := range res.Files {
		res.Files[i] = make([]FileResult, len(cfg.Pairs))
	}
	if cfg.ReportDir != "" {
		res.report = newReportIndex(cfg.ReportDir, res.Systems)
		if err := res.report.prepare(); err != nil {
			return nil, err
		}
	}
	maxLag := cfg.MaxLag
	if maxLag == 0 {
		maxLag = ScoreRate / 10
	}
	jobs := max(1, min(cfg.Jobs, len(cfg.Pairs)))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	next := make(chan int)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	warn := func(msg string) {
		if cfg.Warn != nil {
			mu.Lock()
			cfg.Warn(msg)
			mu.Unlock()
		}
	}
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				if err := res.runPair(ctx, cfg, p, maxLag, warn); err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				done++
				if cfg.Progress != nil {
					cfg.Progress(done, len(cfg.Pairs))
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for p := range cfg.Pairs {
		select {
		case next <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Wall = time.Since(start)
	return res, nil
}

// readMono reads a WAV file and mixes it down to one channel.
func readMono(path string) ([]float32, int, error) {
	chans, f, err := wav.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(chans) == 0 || len(chans[0]) == 0 {
		return nil, 0, fmt.Errorf("%s: no audio", path)
	}
	x := chans[0]
	if len(chans) > 1 {
		x = make([]float32, len(chans[0]))
		for _, c := range chans {
			for i, v := range c {
				x[i] += v / float32(len(chans))
			}
		}
	}
	return x, f.SampleRate, nil
}

func toRate(x []float32, from, to int) []float32 {
	if from == to {
		return x
	}
	return resample.Resample(x, from, to)
}

func (r *Result) runPair(ctx context.Context, cfg Config, p int, maxLag int, warn func(string)) error {
	pair := cfg.Pairs[p]
	clean, cleanRate, err := readMono(pair.Clean)
	if err != nil {
		return fmt.Errorf("%s: %w", pair.Clean, err)
	}
	noisy, noisyRate, err := readMono(pair.Noisy)
	if err != nil {
		return fmt.Errorf("%s: %w", pair.Noisy, err)
	}
	ref := toRate(clean, cleanRate, ScoreRate)
	seconds := float64(len(noisy)) / float64(noisyRate)
	if r.report != nil {
		if err := r.report.writeClean(pair.Name, clean, cleanRate); err != nil {
			return err
		}
	}
	for s, sys := range cfg.Systems {
		if err := ctx.Err(); err != nil {
			return err
		}
		info := r.Systems[s]
		t0 := time.Now()
		out, outRate, err := sys.Enhance(ctx, pair, noisy, noisyRate)
		compute := time.Since(t0).Seconds()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", pair.Noisy, info.Label(), err)
		}
		if len(out) == 0 {
			return fmt.Errorf("%s: %s: empty output", pair.Noisy, info.Label())
		}
		fr := FileResult{File: pair.Name, Seconds: seconds, Compute: math.NaN(), Values: nanValues()}
		if info.Timed {
			fr.Compute = compute
			fr.Values[RTF] = compute / seconds
		}
		est := toRate(out, outRate, ScoreRate)
		var errs []string
		fr.Lag = score(&fr.Values, ref, est, maxLag, &errs)
		if cfg.DNSMOS != nil {
			d, err := cfg.DNSMOS.Score(out, outRate)
			if err != nil {
				errs = append(errs, "dnsmos: "+err.Error())
			} else {
				fr.Values[DNSMOSSIG], fr.Values[DNSMOSBAK], fr.Values[DNSMOSOVRL], fr.Values[DNSMOSP808] = d.SIG, d.BAK, d.OVRL, d.P808
			}
		}
		for _, e := range errs {
			warn(fmt.Sprintf("%s: %s: %s", pair.Noisy, info.Label(), e))
		}
		if r.report != nil {
			if err := r.report.writeOutput(s, pair.Name, out, outRate); err != nil {
				return err
			}
		}
		r.Files[s][p] = fr
	}
	return nil
}

// Align lines est up with ref (both at the same rate) by cross-correlation over lags in
// [−maxLag, maxLag] (maxLag < 0: no search) and trims both to their common length. lag > 0
// means est started late.
func Align(ref, est []float32, maxLag int) (r, e []float32, lag int) {
	if maxLag >= 0 {
		lag = metrics.Align(ref, est, maxLag)
	}
	switch {
	case lag > 0 && lag < len(est):
		est = est[lag:]
	case lag < 0 && -lag < len(ref):
		ref = ref[-lag:]
	}
	r, e = metrics.Trim(ref, est)
	return r, e, lag
}

// score fills the intrusive metrics of v for est against ref (both at ScoreRate) and
// returns the alignment lag. Failures leave NaN and are described in errs.
func score(v *Values, ref, est []float32, maxLag int, errs *[]string) int {
	ref, est, lag := Align(ref, est, maxLag)
	note := func(name string, err error) {
		*errs = append(*errs, name+": "+err.Error())
	}
	set := func(i int, name string, f func() (float64, error)) {
		x, err := f()
		if err != nil {
			note(name, err)
			return
		}
		v[i] = x
	}
	set(PESQWB, "pesq-wb", func() (float64, error) { return pesq.Score(ref, est, ScoreRate, pesq.WideBand) })
	set(PESQNB, "pesq-nb", func() (float64, error) { return pesq.Score(ref, est, ScoreRate, pesq.NarrowBand) })
	set(STOI, "stoi", func() (float64, error) { return stoi.STOI(ref, est, ScoreRate) })
	set(ESTOI, "estoi", func() (float64, error) { return stoi.ESTOI(ref, est, ScoreRate) })
	set(SISDR, "si-sdr", func() (float64, error) { return metrics.SISDR(ref, est) })
	set(SNR, "snr", func() (float64, error) { return metrics.SNR(ref, est) })
	set(SSNR, "segsnr", func() (float64, error) { return metrics.SegSNR(ref, est, ScoreRate) })
	if !math.IsNaN(v[PESQWB]) {
		csig, cbak, covl, err := metrics.Composite(ref, est, ScoreRate, v[PESQWB])
		if err != nil {
			note("composite", err)
		} else {
			v[CSIG], v[CBAK], v[COVL] = csig, cbak, covl
		}
	}
	return lag
}
