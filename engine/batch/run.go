package batch

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/restoregrad/restoregrad/engine"
	"github.com/restoregrad/restoregrad/engine/wavfile"
)

// Options say how Run enhances the files.
type Options struct {
	Jobs int // files enhanced at the same time (0: 1)
	// File is each file's options. Run sets Progress; Chunk.Workers 0 gives each file the
	// cores the files running at once leave free.
	File     wavfile.Options
	Progress bool      // draw a progress bar
	Log      io.Writer // where the bar (a line per file unless Terminal) and the failures go
	Terminal bool      // Log is a terminal, where the bar redraws in place
}

// Summary is what Run did.
type Summary struct {
	Done, Failed int
	Seconds      float64       // of audio enhanced
	Wall         time.Duration // from the first file started to the last one ended
	Failures     []string      // one line per failed file
	Warnings     []string      // one line per file whose samples were NaN, infinite or beyond full scale
}

// RTF is the real-time factor of the run: wall time over audio time (0 for no audio).
func (s Summary) RTF() float64 {
	if s.Seconds == 0 {
		return 0
	}
	return s.Wall.Seconds() / s.Seconds
}

// Run enhances the tasks with enh, Jobs files at a time, until every one is done or ctx
// ends (files not started then are left, files being written leave no partial output:
// wavfile writes through a temporary file). A file that fails is counted and skipped.
// Temporary files that killed runs left beside the outputs are removed, unless another
// running process writes into the same folder.
func Run(ctx context.Context, enh engine.Enhancer, tasks []Task, opt Options) Summary {
	jobs := min(max(opt.Jobs, 1), len(tasks))
	if opt.File.Chunk.Workers == 0 {
		// Chunks of one file are enhanced in parallel bit for bit as in sequence.
		opt.File.Chunk.Workers = max(1, runtime.NumCPU()/max(jobs, 1))
	}
	log := opt.Log
	if log == nil {
		log = io.Discard
	}
	prog := newProgress(log, opt.Terminal, tasks, opt.Progress)
	prog.start()
	start := time.Now()
	var (
		mu   sync.Mutex
		sum  Summary
		next = make(chan int)
		wg   sync.WaitGroup
		dirs outputDirs // cleans temporary files of killed runs
	)
	defer dirs.release()
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := tasks[i]
				o := opt.File
				o.Progress = func(done, total int64) { prog.update(i, done, total) }
				var res wavfile.Result
				err := os.MkdirAll(filepath.Dir(t.Out), 0o755)
				if err != nil {
					err = fmt.Errorf("%s: %w", t.Out, err)
				} else {
					dirs.claim(filepath.Dir(t.Out), filepath.Base(t.Out))
					res, err = wavfile.Enhance(ctx, enh, t.In, t.Out, o)
				}
				mu.Lock()
				if err != nil {
					sum.Failed++
					sum.Failures = append(sum.Failures, oneLine(err))
				} else {
					sum.Seconds += res.Seconds
					if res.Replaced > 0 {
						sum.Warnings = append(sum.Warnings, fmt.Sprintf("warning: %s: %d samples were NaN, infinite or beyond full scale; enhanced as 0 or ±1", t.In, res.Replaced))
					}
				}
				mu.Unlock()
				prog.finish(i, err)
			}
		}()
	}
	for i := range tasks {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	prog.stop()
	sum.Wall = time.Since(start)
	sum.Done = len(tasks) - sum.Failed
	if ctx.Err() != nil {
		sum.Done = prog.finished() - sum.Failed
	}
	return sum
}
