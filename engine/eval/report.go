package eval

import (
	"bufio"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/restoregrad/restoregrad/dsp/spectral"
	"github.com/restoregrad/restoregrad/dsp/wav"
)

// The report folder holds index.html, audio/<slug>/<file>.wav and spec/<slug>/<file>.png,
// where slug is "clean" for the references and sNN-<label> for system NN.
type reportIndex struct {
	dir   string
	slugs []string // per system
}

const cleanSlug = "clean"

func newReportIndex(dir string, systems []SystemInfo) *reportIndex {
	r := &reportIndex{dir: dir}
	for i, s := range systems {
		r.slugs = append(r.slugs, fmt.Sprintf("s%02d-%s", i, sanitize(s.Label())))
	}
	return r
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		}
		return '_'
	}, s)
}

func (r *reportIndex) prepare() error {
	for _, slug := range append([]string{cleanSlug}, r.slugs...) {
		for _, sub := range []string{"audio", "spec"} {
			if err := os.MkdirAll(filepath.Join(r.dir, sub, slug), 0o755); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *reportIndex) audioPath(slug, file string) string {
	return filepath.ToSlash(filepath.Join("audio", slug, file))
}

func (r *reportIndex) specPath(slug, file string) string {
	return filepath.ToSlash(filepath.Join("spec", slug, strings.TrimSuffix(file, filepath.Ext(file))+".png"))
}

func (r *reportIndex) write(slug, file string, x []float32, rate int) error {
	wpath := filepath.Join(r.dir, filepath.FromSlash(r.audioPath(slug, file)))
	clipped := make([]float32, len(x))
	for i, v := range x {
		clipped[i] = max(-1, min(1, v))
	}
	if err := wav.WriteFile(wpath, [][]float32{clipped}, wav.Format{SampleRate: rate, Channels: 1, BitsPerSample: 16}); err != nil {
		return fmt.Errorf("%s: %w", wpath, err)
	}
	ppath := filepath.Join(r.dir, filepath.FromSlash(r.specPath(slug, file)))
	if err := writeSpectrogram(ppath, x, rate); err != nil {
		return fmt.Errorf("%s: %w", ppath, err)
	}
	return nil
}

func (r *reportIndex) writeClean(file string, x []float32, rate int) error {
	return r.write(cleanSlug, file, x, rate)
}

func (r *reportIndex) writeOutput(system int, file string, x []float32, rate int) error {
	return r.write(r.slugs[system], file, x, rate)
}

// Spectrogram layout: 32 ms Hann frames, 8 ms hop, colour from −100 to −10 dB relative
// to a full-scale sine, so that every image of a report shares one scale.
const (
	specFloorDB = -100.0
	specTopDB   = -10.0
)

// Spectrogram renders x as an image: time left to right, frequency bottom to top.
func Spectrogram(x []float32, rate int) image.Image {
	n := 1
	for n < rate/32 {
		n *= 2
	}
	hop := n / 4
	win := spectral.Hann(n)
	st, err := spectral.NewSTFT(n, hop, win)
	if err != nil {
		panic(err) // n, hop and win are valid by construction
	}
	wsum := 0.0
	for _, w := range win {
		wsum += w
	}
	frames := st.Forward(x)
	h := n / 2 // drop the Nyquist bin
	img := image.NewPaletted(image.Rect(0, 0, max(1, len(frames)), h), specPalette)
	last := len(specPalette) - 1
	for t, f := range frames {
		for k := 0; k < h; k++ {
			amp := 2 * math.Hypot(real(f[k]), imag(f[k])) / wsum
			db := 20 * math.Log10(amp+1e-12)
			v := (db - specFloorDB) / (specTopDB - specFloorDB)
			img.SetColorIndex(t, h-1-k, uint8(math.Round(max(0, min(1, v))*float64(last))))
		}
	}
	return img
}

// specPalette is colormap sampled at 256 levels (a paletted PNG is a few times smaller).
var specPalette = func() color.Palette {
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = colormap(float64(i) / 255)
	}
	return p
}()

// colormap maps [0, 1] through black, purple, red, orange and pale yellow.
func colormap(v float64) color.RGBA {
	stops := [...][3]float64{{0, 0, 4}, {80, 18, 123}, {183, 55, 121}, {252, 137, 97}, {252, 253, 191}}
	v = max(0, min(1, v)) * float64(len(stops)-1)
	i := min(int(v), len(stops)-2)
	f := v - float64(i)
	var c [3]uint8
	for j := range c {
		c[j] = uint8(math.Round(stops[i][j] + f*(stops[i+1][j]-stops[i][j])))
	}
	return color.RGBA{c[0], c[1], c[2], 255}
}

func writeSpectrogram(path string, x []float32, rate int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := png.Encode(bw, Spectrogram(x, rate)); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type reportCell struct {
	Label, Spec, Audio, Scores string
}

type reportFile struct {
	Name  string
	Cells []reportCell
}

type reportData struct {
	Head  []string
	Rows  [][]string
	Wall  string
	Files []reportFile
	Note  string
}

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>restoregrad eval</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right}
th:first-child,td:first-child{text-align:left}
.file{margin:1.5em 0;border-top:1px solid #ddd;padding-top:.5em}
.cells{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;width:380px}
figure img{width:380px;height:200px;image-rendering:pixelated;display:block;background:#000}
figure audio{width:380px}
figcaption{font-size:.8em}
</style></head><body>
<h1>Speech enhancement evaluation</h1>
<p>Means with 95% confidence intervals (Student's t) over the files; RTF is compute time over audio time. {{.Wall}}</p>
<table><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
<p>{{.Note}}</p>
{{range .Files}}<div class="file"><h3>{{.Name}}</h3><div class="cells">
{{range .Cells}}<figure><img src="{{.Spec}}" alt="spectrogram {{.Label}}"><audio controls preload="none" src="{{.Audio}}"></audio><figcaption><b>{{.Label}}</b> {{.Scores}}</figcaption></figure>
{{end}}</div></div>
{{end}}</body></html>
`))

// WriteReport writes index.html into the report folder the run was configured with
// (Config.ReportDir); the audio and spectrograms are already there.
func (r *Result) WriteReport() (string, error) {
	if r.report == nil {
		return "", errors.New("eval: the run had no report folder (Config.ReportDir)")
	}
	var d reportData
	d.Head = []string{"system", "steps", "files"}
	for _, m := range tableMetrics {
		d.Head = append(d.Head, tableLabel(m))
	}
	for _, s := range r.Summaries() {
		row := []string{s.System.Name, "-", strconv.Itoa(s.Files)}
		if s.System.Steps > 0 {
			row[1] = strconv.Itoa(s.System.Steps)
		}
		for _, m := range tableMetrics {
			row = append(row, formatStat(s.Stats[m], Metrics[m].Digits))
		}
		d.Rows = append(d.Rows, row)
	}
	d.Wall = fmt.Sprintf("%d files, wall time %.1f s.", len(r.Pairs), r.Wall.Seconds())
	d.Note = "Spectrograms: 32 ms Hann frames, colour from −100 to −10 dB re full scale. Each output is shown as the system produced it, before alignment."
	for p, pair := range r.Pairs {
		f := reportFile{Name: pair.Name}
		f.Cells = append(f.Cells, reportCell{Label: "clean", Spec: r.report.specPath(cleanSlug, pair.Name), Audio: r.report.audioPath(cleanSlug, pair.Name)})
		for s, info := range r.Systems {
			v := r.Files[s][p].Values
			f.Cells = append(f.Cells, reportCell{
				Label:  info.Label(),
				Spec:   r.report.specPath(r.report.slugs[s], pair.Name),
				Audio:  r.report.audioPath(r.report.slugs[s], pair.Name),
				Scores: fmt.Sprintf("PESQ-WB %s · STOI %s · SI-SDR %s dB · OVRL %s", short(v[PESQWB], 2), short(v[STOI], 3), short(v[SISDR], 1), short(v[DNSMOSOVRL], 2)),
			})
		}
		d.Files = append(d.Files, f)
	}
	path := filepath.Join(r.report.dir, "index.html")
	out, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := reportTemplate.Execute(out, d); err != nil {
		out.Close()
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return path, out.Close()
}

func short(x float64, digits int) string {
	if math.IsNaN(x) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', digits, 64)
}
