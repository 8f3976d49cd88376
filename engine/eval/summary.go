package eval

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/gonum/stat/distuv"
)

// Stat is a mean with the half-width of its 95% confidence interval (Student's t over
// the files that have the metric). Mean is NaN when no file has it; CI95 is NaN with
// fewer than two files.
type Stat struct {
	Mean, CI95 float64
	N          int
}

// Summarize returns the mean and 95% confidence interval of each metric over xs,
// ignoring NaN values.
func Summarize(xs []float64) Stat {
	var s Stat
	sum := 0.0
	for _, x := range xs {
		if !math.IsNaN(x) {
			sum += x
			s.N++
		}
	}
	s.Mean, s.CI95 = math.NaN(), math.NaN()
	if s.N == 0 {
		return s
	}
	s.Mean = sum / float64(s.N)
	if s.N < 2 {
		return s
	}
	ss := 0.0
	for _, x := range xs {
		if !math.IsNaN(x) {
			ss += (x - s.Mean) * (x - s.Mean)
		}
	}
	sd := math.Sqrt(ss / float64(s.N-1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(s.N - 1)}.Quantile(0.975)
	s.CI95 = t * sd / math.Sqrt(float64(s.N))
	return s
}

// Summary is one system's means over the files.
type Summary struct {
	System SystemInfo
	Files  int
	Stats  [NumMetrics]Stat
	// RTFTotal is total compute over total audio for the run (NaN when not timed); the
	// mean of the per-file factors is Stats[RTF].
	RTFTotal float64
}

// Summaries returns one Summary per system, in run order.
func (r *Result) Summaries() []Summary {
	out := make([]Summary, len(r.Systems))
	for s, info := range r.Systems {
		sum := Summary{System: info, Files: len(r.Files[s]), RTFTotal: math.NaN()}
		col := make([]float64, len(r.Files[s]))
		for m := 0; m < NumMetrics; m++ {
			for i, f := range r.Files[s] {
				col[i] = f.Values[m]
			}
			sum.Stats[m] = Summarize(col)
		}
		if info.Timed {
			var compute, audio float64
			for _, f := range r.Files[s] {
				compute += f.Compute
				audio += f.Seconds
			}
			sum.RTFTotal = compute / audio
		}
		out[s] = sum
	}
	return out
}

// tableMetrics are the columns of the printed table (CSV and JSON have all).
var tableMetrics = []int{PESQWB, PESQNB, STOI, ESTOI, SISDR, SSNR, CSIG, CBAK, COVL, DNSMOSSIG, DNSMOSBAK, DNSMOSOVRL, RTF}

// tableLabel is a metric's column heading in tables.
func tableLabel(m int) string {
	if m == DNSMOSSIG || m == DNSMOSBAK || m == DNSMOSOVRL || m == DNSMOSP808 {
		return "DNSMOS-" + Metrics[m].Label
	}
	return Metrics[m].Label
}

func formatStat(st Stat, digits int) string {
	if math.IsNaN(st.Mean) {
		return "-"
	}
	s := strconv.FormatFloat(st.Mean, 'f', digits, 64)
	if !math.IsNaN(st.CI95) {
		s += "±" + strconv.FormatFloat(st.CI95, 'f', digits, 64)
	}
	return s
}

// WriteTable prints the means with 95% confidence intervals, a row per system.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"system", "steps", "files"}
	for _, m := range tableMetrics {
		if !r.DNSMOS && (m == DNSMOSSIG || m == DNSMOSBAK || m == DNSMOSOVRL) {
			continue
		}
		head = append(head, tableLabel(m))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, s := range r.Summaries() {
		steps := "-"
		if s.System.Steps > 0 {
			steps = strconv.Itoa(s.System.Steps)
		}
		row := []string{s.System.Name, steps, strconv.Itoa(s.Files)}
		for _, m := range tableMetrics {
			if !r.DNSMOS && (m == DNSMOSSIG || m == DNSMOSBAK || m == DNSMOSOVRL) {
				continue
			}
			row = append(row, formatStat(s.Stats[m], Metrics[m].Digits))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

func csvFloat(x float64) string {
	if math.IsNaN(x) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', 8, 64)
}

// WriteCSV writes one row per system and file.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"system", "steps", "file", "seconds", "lag", "compute_s"}
	for _, m := range Metrics {
		head = append(head, m.Key)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for s, info := range r.Systems {
		for _, f := range r.Files[s] {
			row := []string{info.Name, strconv.Itoa(info.Steps), f.File, csvFloat(f.Seconds), strconv.Itoa(f.Lag), csvFloat(f.Compute)}
			for _, v := range f.Values {
				row = append(row, csvFloat(v))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// jsonNumber is a float that encodes NaN as null.
type jsonNumber float64

func (x jsonNumber) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(float64(x), 'g', 8, 64)), nil
}

// WriteJSON writes {"systems":[{"name","steps","files",<metric means>...,"ci95":{...},"n":{...}}]}.
// Metrics no file has are null. "rtf" is the mean of the per-file real-time factors,
// "rtf_total" the total compute time over the total audio time.
func (r *Result) WriteJSON(w io.Writer) error {
	type system struct {
		Name       string                `json:"name"`
		Steps      int                   `json:"steps"`
		Kind       string                `json:"kind"`
		Files      int                   `json:"files"`
		PESQWB     jsonNumber            `json:"pesq_wb"`
		PESQNB     jsonNumber            `json:"pesq_nb"`
		STOI       jsonNumber            `json:"stoi"`
		ESTOI      jsonNumber            `json:"estoi"`
		SISDR      jsonNumber            `json:"si_sdr"`
		SNR        jsonNumber            `json:"snr"`
		SSNR       jsonNumber            `json:"ssnr"`
		CSIG       jsonNumber            `json:"csig"`
		CBAK       jsonNumber            `json:"cbak"`
		COVL       jsonNumber            `json:"covl"`
		DNSMOSSIG  jsonNumber            `json:"dnsmos_sig"`
		DNSMOSBAK  jsonNumber            `json:"dnsmos_bak"`
		DNSMOSOVRL jsonNumber            `json:"dnsmos_ovrl"`
		DNSMOSP808 jsonNumber            `json:"dnsmos_p808"`
		RTF        jsonNumber            `json:"rtf"`
		RTFTotal   jsonNumber            `json:"rtf_total"`
		CI95       map[string]jsonNumber `json:"ci95"`
		N          map[string]int        `json:"n"`
	}
	var doc struct {
		Systems     []system `json:"systems"`
		WallSeconds float64  `json:"wall_seconds"`
	}
	for _, s := range r.Summaries() {
		mean := func(m int) jsonNumber { return jsonNumber(s.Stats[m].Mean) }
		js := system{
			Name: s.System.Name, Steps: s.System.Steps, Kind: s.System.Kind, Files: s.Files,
			PESQWB: mean(PESQWB), PESQNB: mean(PESQNB), STOI: mean(STOI), ESTOI: mean(ESTOI),
			SISDR: mean(SISDR), SNR: mean(SNR), SSNR: mean(SSNR),
			CSIG: mean(CSIG), CBAK: mean(CBAK), COVL: mean(COVL),
			DNSMOSSIG: mean(DNSMOSSIG), DNSMOSBAK: mean(DNSMOSBAK), DNSMOSOVRL: mean(DNSMOSOVRL), DNSMOSP808: mean(DNSMOSP808),
			RTF: mean(RTF), RTFTotal: jsonNumber(s.RTFTotal),
			CI95: map[string]jsonNumber{}, N: map[string]int{},
		}
		for m, info := range Metrics {
			js.CI95[info.Key] = jsonNumber(s.Stats[m].CI95)
			js.N[info.Key] = s.Stats[m].N
		}
		doc.Systems = append(doc.Systems, js)
	}
	doc.WallSeconds = r.Wall.Seconds()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
