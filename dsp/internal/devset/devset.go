// Package devset loads the shared VoiceBank+DEMAND dev pairs and their
// reference metrics for tests.
//
// The data live outside the checkout, in ../shared/data beside the module
// root (the folder that holds go.mod). Tests that need them call Dir, Shared
// or Reference, which skip the test when the data are absent, so the dsp
// tests pass, with skips, on a checkout without ../shared.
package devset

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/wav"
)

// Pair is one row of reference_metrics.tsv: an utterance present under both
// clean/ and noisy/ of the dev set, and the reference metrics of its noisy
// version against its clean one.
type Pair struct {
	Utt string             // file name, the same under clean/ and noisy/
	Ref map[string]float64 // reference value by column name (numeric columns asked for)
}

// Shared returns the path of elem joined under the shared data folder
// (../shared/data beside the module root), skipping t when that path does not
// exist.
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	root, err := sharedData()
	if err != nil {
		t.Skipf("skipping: shared test data absent (%v)", err)
	}
	p := filepath.Join(append([]string{root}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: shared test data absent, want ../shared/data beside the checkout (%v)", err)
	}
	return p
}

// Dir returns the dev set folder, ../shared/data/vbdemand-dev, skipping t
// when it is absent.
func Dir(t testing.TB) string {
	t.Helper()
	return Shared(t, "vbdemand-dev")
}

// Reference reads the dev set's reference_metrics.tsv and returns its rows
// with the given numeric columns parsed. It skips t when the file is absent,
// and fails t when a column is missing, a value does not parse, a row is
// malformed or there are no rows.
func Reference(t testing.TB, cols ...string) []Pair {
	t.Helper()
	tsv := filepath.Join(Dir(t), "reference_metrics.tsv")
	f, err := os.Open(tsv)
	if err != nil {
		t.Skipf("skipping: shared dev set absent (%v)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatal("reference_metrics.tsv: empty")
	}
	header := strings.Split(sc.Text(), "\t")
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, c := range append([]string{"utt"}, cols...) {
		if _, ok := col[c]; !ok {
			t.Fatalf("reference_metrics.tsv: no column %q", c)
		}
	}
	var rows []Pair
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) != len(header) {
			t.Fatalf("reference_metrics.tsv: %d fields, want %d, in row %q", len(fs), len(header), sc.Text())
		}
		p := Pair{Utt: fs[col["utt"]], Ref: make(map[string]float64, len(cols))}
		for _, c := range cols {
			v, err := strconv.ParseFloat(fs[col[c]], 64)
			if err != nil {
				t.Fatalf("reference_metrics.tsv: bad %s in row %q", c, sc.Text())
			}
			p.Ref[c] = v
		}
		rows = append(rows, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reference_metrics.tsv: %v", err)
	}
	if len(rows) == 0 {
		t.Fatal("reference_metrics.tsv: no reference rows")
	}
	return rows
}

// Load reads the clean and noisy recordings of p from the dev set, failing t
// when either cannot be read or their sample rates differ.
func (p Pair) Load(t testing.TB) (clean, noisy []float32, rate int) {
	t.Helper()
	dir := Dir(t)
	return LoadPair(t, filepath.Join(dir, "clean", p.Utt), filepath.Join(dir, "noisy", p.Utt))
}

// LoadPair reads two mono WAV files, a reference and a degraded version,
// failing t when either cannot be read or their sample rates differ.
func LoadPair(t testing.TB, refName, degName string) (ref, deg []float32, rate int) {
	t.Helper()
	ref, rate, err := ReadMono(refName)
	if err != nil {
		t.Fatal(err)
	}
	deg, rate2, err := ReadMono(degName)
	if err != nil {
		t.Fatal(err)
	}
	if rate != rate2 {
		t.Fatalf("%s: rate %d, %s: rate %d", refName, rate, degName, rate2)
	}
	return ref, deg, rate
}

// ReadMono reads a mono WAV file with dsp/wav (16-bit PCM comes back as
// sample/32768) and returns its samples and sample rate.
func ReadMono(name string) ([]float32, int, error) {
	x, f, err := wav.ReadFile(name)
	if err != nil {
		return nil, 0, err
	}
	if f.Channels != 1 {
		return nil, 0, fmt.Errorf("%s: want mono, got %s", name, f)
	}
	return x[0], f.SampleRate, nil
}

// sharedData returns ../shared/data beside the module root, the nearest
// folder at or above the working directory (a test's package folder) that
// holds go.mod.
func sharedData() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(d), "shared", "data"), nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", errors.New("no go.mod at or above " + wd)
		}
		d = up
	}
}
