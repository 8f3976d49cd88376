package metrics

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

// readWAV16 reads a mono 16-bit PCM WAV file as sample/32768; enough for the
// dev set (the project's dsp/wav package is the general reader).
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
		size = min(size, len(body))
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

// readReference returns the rows of reference_metrics.tsv as column → value
// maps (utt kept as a string under "utt").
func readReference(t *testing.T) ([]map[string]float64, []string) {
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
	header := strings.Split(sc.Text(), "\t")
	var rows []map[string]float64
	var utts []string
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) != len(header) {
			continue
		}
		row := map[string]float64{}
		for i, h := range header {
			if h == "utt" {
				utts = append(utts, fs[i])
			} else if v, err := strconv.ParseFloat(fs[i], 64); err == nil {
				row[h] = v
			}
		}
		rows = append(rows, row)
	}
	for _, c := range []string{"si_sdr", "snr", "pesq_wb"} {
		if len(rows) == 0 {
			break
		}
		if _, ok := rows[0][c]; !ok {
			t.Fatalf("reference_metrics.tsv: no column %q", c)
		}
	}
	return rows, utts
}

// TestDevSet checks SI-SDR and SNR against reference_metrics.tsv and that
// the composite measures, fed the reference PESQ-WB, land where the
// VoiceBank+DEMAND literature puts the noisy test set (CSIG 3.35, CBAK 2.44,
// COVL 2.63, SegSNR 1.68 dB over all 824 files).
func TestDevSet(t *testing.T) {
	rows, utts := readReference(t)
	var maxSD, maxSNR float64
	var sig, bak, ovl, seg float64
	var elapsed time.Duration
	for k, row := range rows {
		clean, rate, err := readWAV16(filepath.Join(devDir, "clean", utts[k]))
		if err != nil {
			t.Fatal(err)
		}
		noisy, _, err := readWAV16(filepath.Join(devDir, "noisy", utts[k]))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		sd, err := SISDR(clean, noisy)
		if err != nil {
			t.Fatal(err)
		}
		snr, err := SNR(clean, noisy)
		if err != nil {
			t.Fatal(err)
		}
		s, b, o, err := Composite(clean, noisy, rate, row["pesq_wb"])
		if err != nil {
			t.Fatal(err)
		}
		g, err := SegSNR(clean, noisy, rate)
		if err != nil {
			t.Fatal(err)
		}
		elapsed += time.Since(start)
		maxSD = max(maxSD, math.Abs(sd-row["si_sdr"]))
		maxSNR = max(maxSNR, math.Abs(snr-row["snr"]))
		sig, bak, ovl, seg = sig+s, bak+b, ovl+o, seg+g
	}
	n := float64(len(rows))
	t.Logf("%d pairs: SI-SDR max |err| %.2e dB, SNR max |err| %.2e dB; mean CSIG %.3f CBAK %.3f COVL %.3f SegSNR %.3f dB; time %v",
		len(rows), maxSD, maxSNR, sig/n, bak/n, ovl/n, seg/n, elapsed)
	if maxSD > 1e-3 {
		t.Errorf("SI-SDR differs from reference by up to %.4f dB", maxSD)
	}
	if maxSNR > 1e-3 {
		t.Errorf("SNR differs from reference by up to %.4f dB", maxSNR)
	}
	// 43 files are a sample of 824; allow generous slack around the
	// published means, enough to catch a broken measure, not a rounding.
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"CSIG", sig / n, 3.35, 0.3}, {"CBAK", bak / n, 2.44, 0.3}, {"COVL", ovl / n, 2.63, 0.3},
		// The published 1.68 dB comes from the SEGAN-era Python port, which
		// removes DC and rescales the processed signal to the clean peak
		// before framing; composite.m (followed here) has those lines
		// commented out, and scores this subset about 0.8 dB higher.
		{"SegSNR", seg / n, 1.68, 1.5},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("mean %s %.3f, published %.2f", c.name, c.got, c.want)
		}
	}
}
