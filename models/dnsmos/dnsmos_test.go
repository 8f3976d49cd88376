package dnsmos

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/restoregrad/restoregrad/dsp/wav"
	"github.com/restoregrad/restoregrad/models/modeltest"
	"github.com/restoregrad/restoregrad/models/ort"
)

const sharedDev = "../../../shared/data/vbdemand-dev"

func openShared(t *testing.T) *Scorer {
	t.Helper()
	dir := "../../../shared/models/dnsmos"
	if _, err := os.Stat(filepath.Join(dir, P835File)); err != nil {
		t.Skipf("DNSMOS models absent (%v): ../shared is not mounted", err)
	}
	modeltest.RequireRuntime(t)
	s, err := Open(dir, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestWindows pins the window layout of dnsmos_local.py, including its rounding.
func TestWindows(t *testing.T) {
	for _, c := range []struct {
		n, tiled int
		starts   []int
	}{
		{n: 1, tiled: 262144, starts: []int{0, 16000, 32000, 48000, 64000, 80000, 96000}},
		{n: 48000, tiled: 192000, starts: []int{0, 16000, 32000}},
		{n: 144160, tiled: 144160, starts: []int{0}},
		{n: 144159, tiled: 288318, starts: []int{0, 16000, 32000, 48000, 64000, 80000, 96000}},
		// 30 s: 21 hops, of which 7..20 are one sample short.
		{n: 30 * 16000, tiled: 480000, starts: []int{0, 16000, 32000, 48000, 64000, 80000, 96000}},
		{n: 40 * 16000, tiled: 640000, starts: []int{0, 16000, 32000, 48000, 64000, 80000, 96000, 384000, 400000, 416000, 432000, 448000, 464000, 480000}},
	} {
		starts, tiled := Windows(c.n)
		if tiled != c.tiled || !slices.Equal(starts, c.starts) {
			t.Errorf("Windows(%d) = %v, %d; want %v, %d", c.n, starts, tiled, c.starts, c.tiled)
		}
	}
}

// TestMelShape checks the P.808 feature layout and the dB scaling on a tone: the top
// value is (0+40)/40 = 1 and nothing is below (−80+40)/40 = −1.
func TestMelShape(t *testing.T) {
	x := make([]float32, windowSamples-melHop)
	for i := range x {
		x[i] = float32(0.3 * math.Sin(2*math.Pi*1000*float64(i)/Rate))
	}
	f := newMelBank(Rate).features(x)
	if len(f) != p808Frames*numMels {
		t.Fatalf("%d values, want %d", len(f), p808Frames*numMels)
	}
	hi, lo := float32(-10), float32(10)
	peak := 0
	row := f[450*numMels : 451*numMels]
	for m, v := range row {
		if v > row[peak] {
			peak = m
		}
	}
	for _, v := range f {
		hi = max(hi, v)
		lo = min(lo, v)
	}
	if math.Abs(float64(hi)-1) > 1e-6 || lo < -1-1e-6 {
		t.Fatalf("range [%v, %v], want within [-1, 1] with max 1", lo, hi)
	}
	// 1 kHz is mel 15, the 1000 Hz knee; with 120 bands up to 8 kHz (mel ≈ 45.2) the
	// peak band is near 15/45.2·121 ≈ 40.
	if peak < 37 || peak > 42 {
		t.Fatalf("1 kHz tone peaks in mel band %d", peak)
	}
}

func TestMelFilterbank(t *testing.T) {
	b := newMelBank(Rate)
	// Slaney normalisation: each filter's area over Hz is about 1 (triangle of height
	// 2/(f[i+2]-f[i]) and base f[i+2]-f[i]), i.e. Σ w·Δf ≈ 1 with Δf = 16000/321.
	// Low filters are narrower than the 50 Hz bin spacing, so only the wide ones are checked.
	for _, m := range []int{90, 100, 110, 119} {
		s := 0.0
		for _, w := range b.weights[m] {
			s += w * Rate / melFFT
		}
		if math.Abs(s-1) > 0.2 {
			t.Errorf("filter %d area %.3f, want ≈ 1", m, s)
		}
	}
}

type ref struct{ sig, bak, ovrl float64 }

func readReference(t *testing.T) map[string]ref {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedDev, "reference_dnsmos.tsv"))
	if err != nil {
		t.Skipf("reference DNSMOS absent (%v): ../shared is not mounted", err)
	}
	defer f.Close()
	refs := map[string]ref{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 5 || fields[0] == "set" {
			continue
		}
		var v [3]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(fields[2+i], 64); err != nil {
				t.Fatal(err)
			}
		}
		refs[fields[0]+"/"+fields[1]] = ref{v[0], v[1], v[2]}
	}
	return refs
}

// TestReferenceDev compares with dnsmos_local.py's numbers on the dev set: mean absolute
// difference ≤ 0.02 for SIG, BAK and OVRL, and clean scoring above noisy.
func TestReferenceDev(t *testing.T) {
	refs := readReference(t)
	s := openShared(t)
	limit := len(refs)
	if testing.Short() {
		limit = 16
	}
	type job struct {
		key, sub string
		ref      ref
		got      Score
		err      error
	}
	var jobs []*job
	count := map[string]int{}
	for key, r := range refs {
		set, _, _ := strings.Cut(key, "/")
		sub := strings.TrimPrefix(set, "vbd_dev_")
		if limit < len(refs) && count[sub] >= limit/2 {
			continue
		}
		count[sub]++
		jobs = append(jobs, &job{key: key, sub: sub, ref: r})
	}
	// Score on every core: the sessions are safe for concurrent use.
	next := make(chan *job)
	var wg sync.WaitGroup
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				_, file, _ := strings.Cut(j.key, "/")
				chans, format, err := wav.ReadFile(filepath.Join(sharedDev, j.sub, file))
				if err != nil {
					j.err = err
					continue
				}
				j.got, j.err = s.Score(chans[0], format.SampleRate)
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	var diff [3]float64
	var worst float64
	var cleanOVRL, noisyOVRL float64
	n := 0
	for _, j := range jobs {
		if j.err != nil {
			t.Fatalf("%s: %v", j.key, j.err)
		}
		got, r, key, sub := j.got, j.ref, j.key, j.sub
		d := [3]float64{math.Abs(got.SIG - r.sig), math.Abs(got.BAK - r.bak), math.Abs(got.OVRL - r.ovrl)}
		for i := range d {
			diff[i] += d[i]
			worst = max(worst, d[i])
		}
		if sub == "clean" {
			cleanOVRL += got.OVRL
		} else {
			noisyOVRL += got.OVRL
		}
		if math.IsNaN(got.P808) || got.P808 < 1 || got.P808 > 5 {
			t.Errorf("%s: P.808 %v outside [1, 5]", key, got.P808)
		}
		n++
	}
	for i := range diff {
		diff[i] /= float64(n)
	}
	t.Logf("%d clips: mean |Δ| SIG %.1e BAK %.1e OVRL %.1e, worst %.1e; mean OVRL clean %.3f noisy %.3f",
		n, diff[0], diff[1], diff[2], worst, cleanOVRL/float64(count["clean"]), noisyOVRL/float64(count["noisy"]))
	for i, name := range []string{"SIG", "BAK", "OVRL"} {
		if diff[i] > 0.02 {
			t.Errorf("%s: mean |Δ| %.4f against dnsmos_local.py, want ≤ 0.02", name, diff[i])
		}
	}
	if cleanOVRL/float64(count["clean"]) <= noisyOVRL/float64(count["noisy"]) {
		t.Errorf("clean OVRL %.3f not above noisy %.3f", cleanOVRL/float64(count["clean"]), noisyOVRL/float64(count["noisy"]))
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(t.TempDir(), ort.Options{})
	if err == nil {
		t.Fatal("want error for a folder without models")
	}
	if !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("error %q does not say unavailable", err)
	}
}
