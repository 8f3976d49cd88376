package stoi

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const devDir = "../../../shared/data/vbdemand-dev"

// readWAV16 reads a mono 16-bit PCM WAV file into [-1, 1) floats (sample/32768),
// enough for the dev set; the project's dsp/wav package is the general reader.
func readWAV16(name string) ([]float32, int, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%s: not a RIFF/WAVE file", name)
	}
	var rate, channels, bits int
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		if size > len(body) {
			size = len(body)
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, 0, fmt.Errorf("%s: short fmt chunk", name)
			}
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if channels != 1 || bits != 16 {
				return nil, 0, fmt.Errorf("%s: want mono 16-bit, got %d ch %d bit", name, channels, bits)
			}
			out := make([]float32, len(body)/2)
			for i := range out {
				out[i] = float32(int16(binary.LittleEndian.Uint16(body[2*i:]))) / 32768
			}
			return out, rate, nil
		}
		p += 8 + size + size%2
	}
	return nil, 0, fmt.Errorf("%s: no data chunk", name)
}

type refRow struct {
	utt         string
	stoi, estoi float64
}

func readReference(t *testing.T) []refRow {
	t.Helper()
	f, err := os.Open(filepath.Join(devDir, "reference_metrics.tsv"))
	if err != nil {
		t.Skipf("skipping: shared dev set absent (%v)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatal("reference_metrics.tsv: empty")
	}
	col := map[string]int{}
	for i, h := range strings.Split(sc.Text(), "\t") {
		col[h] = i
	}
	for _, c := range []string{"utt", "stoi", "estoi"} {
		if _, ok := col[c]; !ok {
			t.Fatalf("reference_metrics.tsv: no column %q", c)
		}
	}
	var rows []refRow
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) < len(col) {
			continue
		}
		s, err1 := strconv.ParseFloat(fs[col["stoi"]], 64)
		e, err2 := strconv.ParseFloat(fs[col["estoi"]], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("reference_metrics.tsv: bad row %q", sc.Text())
		}
		rows = append(rows, refRow{fs[col["utt"]], s, e})
	}
	return rows
}

// TestDevSetAgainstPystoi compares STOI and ESTOI with the pystoi values in
// ../shared/data/vbdemand-dev/reference_metrics.tsv (noisy vs clean).
func TestDevSetAgainstPystoi(t *testing.T) {
	rows := readReference(t)
	if len(rows) == 0 {
		t.Fatal("no reference rows")
	}
	var sumS, sumE, maxS, maxE float64
	var elapsed time.Duration
	for _, r := range rows {
		clean, rate, err := readWAV16(filepath.Join(devDir, "clean", r.utt))
		if err != nil {
			t.Fatal(err)
		}
		noisy, rate2, err := readWAV16(filepath.Join(devDir, "noisy", r.utt))
		if err != nil {
			t.Fatal(err)
		}
		if rate != rate2 {
			t.Fatalf("%s: rates %d and %d", r.utt, rate, rate2)
		}
		start := time.Now()
		s, err := STOI(clean, noisy, rate)
		if err != nil {
			t.Fatalf("%s: STOI: %v", r.utt, err)
		}
		e, err := ESTOI(clean, noisy, rate)
		if err != nil {
			t.Fatalf("%s: ESTOI: %v", r.utt, err)
		}
		elapsed += time.Since(start)
		ds, de := math.Abs(s-r.stoi), math.Abs(e-r.estoi)
		sumS += ds
		sumE += de
		maxS, maxE = max(maxS, ds), max(maxE, de)
		if testing.Verbose() {
			t.Logf("%s stoi %.6f (ref %.6f) estoi %.6f (ref %.6f)", r.utt, s, r.stoi, e, r.estoi)
		}
	}
	n := float64(len(rows))
	t.Logf("%d pairs: STOI |err| mean %.2e max %.2e; ESTOI |err| mean %.2e max %.2e; STOI+ESTOI time %v",
		len(rows), sumS/n, maxS, sumE/n, maxE, elapsed)
	if sumS/n > 0.005 {
		t.Errorf("STOI mean absolute error %.4f > 0.005", sumS/n)
	}
	if sumE/n > 0.005 {
		t.Errorf("ESTOI mean absolute error %.4f > 0.005", sumE/n)
	}
	// The port matches pystoi to the 6 decimals of the reference file; a
	// larger worst case means the algorithm drifted, even inside the budget.
	if maxS > 1e-5 || maxE > 1e-5 {
		t.Errorf("worst-case error STOI %.2e ESTOI %.2e > 1e-5", maxS, maxE)
	}
}
