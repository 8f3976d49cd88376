package batch

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// progress draws a one-line progress bar on w for a batch of files: the file being
// worked on, its own progress, the total and an ETA. Without a terminal it prints one line
// per finished file instead.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tasks    []Task
	done     []int64 // frames done per file
	total    []int64 // frames per file (0 until known)
	ended    []bool
	current  int
	started  time.Time
	tty      bool
	enabled  bool
	quit     chan struct{}
	wg       sync.WaitGroup
	nEnded   int
	lastLine int
}

func newProgress(w io.Writer, tty bool, tasks []Task, enabled bool) *progress {
	return &progress{
		w: w, tasks: tasks, done: make([]int64, len(tasks)), total: make([]int64, len(tasks)),
		ended: make([]bool, len(tasks)), tty: tty, enabled: enabled, quit: make(chan struct{}),
	}
}

func (p *progress) start() {
	p.started = time.Now()
	if !p.enabled || !p.tty {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
}

func (p *progress) stop() {
	close(p.quit)
	p.wg.Wait()
	if p.enabled && p.tty {
		p.mu.Lock()
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.lastLine))
		p.mu.Unlock()
	}
}

func (p *progress) update(i int, done, total int64) {
	p.mu.Lock()
	p.done[i], p.total[i], p.current = done, total, i
	p.mu.Unlock()
}

func (p *progress) finish(i int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended[i] = true
	p.nEnded++
	if p.total[i] > 0 {
		p.done[i] = p.total[i]
	}
	if !p.enabled && err == nil {
		return
	}
	clear := ""
	if p.tty {
		clear = "\r" + strings.Repeat(" ", p.lastLine) + "\r"
	}
	if err != nil {
		fmt.Fprintf(p.w, "%sFAILED %s\n", clear, oneLine(err))
	} else {
		fmt.Fprintf(p.w, "%s[%d/%d] %s -> %s\n", clear, p.nEnded, len(p.tasks), p.tasks[i].In, p.tasks[i].Out)
	}
}

func (p *progress) finished() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nEnded
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Files not yet opened count as the mean size of the known ones.
	var done, known int64
	nKnown := 0
	for i := range p.tasks {
		done += p.done[i]
		if p.total[i] > 0 {
			known += p.total[i]
			nKnown++
		}
	}
	if nKnown == 0 {
		return
	}
	total := known + known/int64(nKnown)*int64(len(p.tasks)-nKnown)
	frac := float64(done) / float64(max(total, 1))
	eta := "--:--"
	if el := time.Since(p.started); frac > 0.01 {
		eta = fmtDuration(time.Duration(float64(el) * (1 - frac) / frac))
	}
	i := p.current
	fileFrac := float64(p.done[i]) / float64(max(p.total[i], 1))
	line := fmt.Sprintf("%s %3.0f%% | file %d/%d %s %3.0f%% | ETA %s",
		bar(frac, 24), 100*frac, p.nEnded+1, len(p.tasks), shorten(filepath.Base(p.tasks[i].In), 28), 100*fileFrac, eta)
	pad := max(0, p.lastLine-len(line))
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.lastLine = len(line)
}

func bar(frac float64, width int) string {
	n := int(frac * float64(width))
	n = max(0, min(width, n))
	return "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "]"
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n+1:]
}

func fmtDuration(d time.Duration) string {
	s := int(d.Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// oneLine is err's message on one line.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
