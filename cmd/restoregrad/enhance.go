package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/restoregrad/restoregrad/dsp/audiofile"
	"github.com/restoregrad/restoregrad/engine/wavfile"
	"github.com/restoregrad/restoregrad/models/zoo"
)

func init() {
	register(command{name: "enhance", summary: "denoise audio files (WAV, FLAC, MP3) or folders offline", run: runEnhance})
	// mewkiz/flac (dsp/audiofile) logs a note to its own developers through the standard
	// logger for every frame of a 24 or 176.4 kHz FLAC; nothing else here uses that logger.
	log.SetOutput(dropLines{w: os.Stderr, contains: "flac library test cases"})
}

const enhanceHelp = `Denoises WAV, FLAC and MP3 files of any sample rate and channel count. Each channel is
resampled to the model's rate, enhanced in chunks that overlap and cross-fade (bounded memory,
so hour-long files are fine), resampled back, and written at the input's rate and channel
count. Folders are searched recursively for .wav, .flac and .mp3 files and the tree is kept
under the output folder. Other formats (Ogg, Opus, M4A...) are reported with the ffmpeg
command that converts them.

The output's extension picks its encoding: .wav or .flac. It keeps the input's sample format
where that encoding holds it: WAV keeps 8, 16, 24 and 32-bit PCM and 32 and 64-bit float;
FLAC keeps up to 24 bits and writes float and 32-bit input as 24-bit. MP3 input is written
as 16-bit WAV (MP3 is not written). Samples that are NaN, infinite or beyond full scale
(float WAV) are enhanced as 0 or ±1, with a warning that counts them.

Outputs are written to a temporary file and renamed, so a failed or interrupted run never
leaves a half-written file, and an input is never overwritten. A file that fails is reported
and skipped; the exit status is 1 when any file failed.

Without -o, a file IN.wav (or IN.flac) is written to IN-denoised.wav (IN-denoised.flac), an
IN.mp3 to IN-denoised.wav, and a folder DIR to DIR-denoised/. With several inputs or a
folder, -o names a folder.

Across machines: --shard K/N enhances only shard K of N, counted from 0 (0/N ... N-1/N, as
SLURM_ARRAY_TASK_ID of sbatch --array=0-(N-1) or a Kubernetes Indexed Job's
JOB_COMPLETION_INDEX). The files found are sorted by input argument, then by their path
relative to it, and file i (from 0) belongs to shard i mod N: N runs with the same arguments
write every output exactly once, and the outputs are the same bit for bit as one run's.
--skip-existing skips a file whose output exists and is complete (it decodes to the end with
the input's sample rate, channels and length), so a killed or failed task can be run again
and does only what is left. scripts/slurm-enhance.sh runs this as a Slurm job array.

Examples:
  restoregrad enhance noisy.wav -o clean.wav
  restoregrad enhance interview.mp3 -o interview-clean.flac
  restoregrad enhance recordings/ -o cleaned/ --jobs 2
  restoregrad enhance a.wav b.flac -o out/ --steps 3 --seed 7
  restoregrad enhance archive/ -o cleaned/ --shard 2/8 --skip-existing   # task 2 of 8`

func runEnhance(args []string) error {
	fs := newFlagSet("enhance", "IN... [-o OUT] [flags]", enhanceHelp)
	var mf modelFlags
	mf.register(fs, zoo.DefaultOffline)
	var atten attenuationLimit
	registerAttenuation(fs, &atten)
	out := fs.String("o", "", "output file (one input file) or folder")
	seed := fs.Uint64("seed", 1, "seed of the diffusion noise: the same seed gives the same output")
	jobs := fs.Int("jobs", max(1, runtime.NumCPU()/2), "files enhanced at the same time (the remaining cores work on chunks of each file)")
	chunk := fs.Float64("chunk", 0, "seconds of audio per chunk (memory scales with it; default: the model's own, else 8)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	var part shard
	fs.Var(&part, "shard", "enhance only shard `K/N` of the files, K counted from 0 (0/N ... N-1/N): file i of the sorted list goes to shard i mod N")
	skipExisting := fs.Bool("skip-existing", false, "skip files whose output exists and is complete (a rerun does only what is left)")
	ins, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(ins) == 0 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("no input files or folders")}
	}
	if *jobs < 1 {
		return &exitError{code: 2, err: fmt.Errorf("-jobs %d: must be at least 1", *jobs)}
	}
	if *chunk != 0 && !(*chunk >= 1 && *chunk <= maxChunkSeconds) { // NaN fails both
		return &exitError{code: 2, err: fmt.Errorf("-chunk %v: must be between 1 and %d seconds", *chunk, maxChunkSeconds)}
	}
	if mf.threads < 1 {
		return &exitError{code: 2, err: fmt.Errorf("-threads %d: must be at least 1", mf.threads)}
	}
	tasks, err := planOutputs(ins, *out)
	if err != nil {
		return err
	}
	if len(tasks) == 0 {
		return errors.New("no .wav, .flac or .mp3 files found in the inputs")
	}
	what := "" // the summary's prefix
	if part.n > 0 {
		found := len(tasks)
		tasks = part.pick(tasks)
		what = fmt.Sprintf("shard %s (%d of %d files): ", part.String(), len(tasks), found)
	}
	skipped := 0
	if *skipExisting {
		todo := tasks[:0:0]
		for _, t := range tasks {
			if complete(t) {
				skipped++
			} else {
				todo = append(todo, t)
			}
		}
		tasks = todo
		if skipped > 0 {
			what += fmt.Sprintf("%d complete output(s) skipped; ", skipped)
		}
	}
	if len(tasks) == 0 {
		// Nothing left: an empty shard, or a rerun after a complete one. The model is not opened.
		fmt.Fprintf(os.Stderr, "%snothing to enhance\n", what)
		return nil
	}

	r, err := mf.open(*seed)
	if err != nil {
		return err
	}
	defer r.Close()
	whole, err := offline(r)
	if err != nil {
		return err
	}
	model, err := atten.enhancer(whole)
	if err != nil {
		return err
	}
	man, steps := r.Manifest(), r.Steps()
	opt := wavfile.Options{Steps: steps, Noise: r.Noise, InputRMS: r.InputRMS()}
	opt.Chunk.Chunk = int(*chunk * float64(man.SampleRate))
	// The cores the files running at once leave free enhance chunks of the same file in
	// parallel (the output is the same bit for bit).
	opt.Chunk.Workers = max(1, runtime.NumCPU()/min(*jobs, len(tasks)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	prog := newProgress(tasks, !*quiet)
	prog.start()
	start := time.Now()
	var (
		mu       sync.Mutex
		failed   int
		seconds  float64
		next     = make(chan int)
		wg       sync.WaitGroup
		failures []string
		warnings []string
	)
	var dirs outputDirs // cleans temporary files of killed runs
	defer dirs.release()
	for w := 0; w < min(*jobs, len(tasks)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := tasks[i]
				o := opt
				o.Progress = func(done, total int64) { prog.update(i, done, total) }
				var res wavfile.Result
				err := os.MkdirAll(filepath.Dir(t.out), 0o755)
				if err != nil {
					err = fmt.Errorf("%s: %w", t.out, err)
				} else {
					dirs.claim(filepath.Dir(t.out), filepath.Base(t.out))
					res, err = wavfile.Enhance(ctx, model, t.in, t.out, o)
				}
				mu.Lock()
				if err != nil {
					failed++
					failures = append(failures, oneLine(err))
				} else {
					seconds += res.Seconds
					if res.Replaced > 0 {
						warnings = append(warnings, fmt.Sprintf("warning: %s: %d samples were NaN, infinite or beyond full scale; enhanced as 0 or ±1", t.in, res.Replaced))
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
	wall := time.Since(start).Seconds()
	for _, w := range warnings {
		fmt.Fprintln(os.Stderr, w)
	}

	done := len(tasks) - failed
	if ctx.Err() != nil {
		done = prog.finished() - failed
	}
	rtf := 0.0
	if seconds > 0 {
		rtf = wall / seconds
	}
	fmt.Fprintf(os.Stderr, "%senhanced %d of %d files: %.1f s of audio in %.1f s (RTF %.3f, %.1f× real time) with %s, %d steps\n",
		what, done, len(tasks), seconds, wall, rtf, safeDiv(1, rtf), man.Name, steps)
	if ctx.Err() != nil {
		return &exitError{code: 130, err: errors.New("interrupted; finished files are complete, no partial file was left")}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d file(s) failed:\n  %s", failed, strings.Join(failures, "\n  "))}
	}
	return nil
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// maxChunkSeconds bounds --chunk: an hour of audio per chunk is far past any use (the
// memory scales with it) and keeps the frame count well inside an int.
const maxChunkSeconds = 3600

// dropLines is a writer for the standard logger that drops lines containing a string.
type dropLines struct {
	w        io.Writer
	contains string
}

func (d dropLines) Write(p []byte) (int, error) {
	if strings.Contains(string(p), d.contains) {
		return len(p), nil
	}
	return d.w.Write(p)
}

// task is one input file and where its output goes; arg is the index of the input argument
// it was found under and rel its path relative to that argument (--shard sorts by them).
type task struct {
	in, out string
	arg     int
	rel     string
}

// planOutputs expands folders and maps every input to its output path. Outputs in a
// folder keep the input's name, with .wav for an MP3.
func planOutputs(ins []string, out string) ([]task, error) {
	var tasks []task
	single := len(ins) == 1
	if out != "" && !isDirArg(out) && audiofile.IsAudioName(out) {
		// A name like clean.wav is a file: with several inputs it would become a folder.
		if !single {
			return nil, &exitError{code: 2, err: fmt.Errorf("-o %s: %d inputs need an output folder, not a file name (try -o %s/)", out, len(ins), strings.TrimSuffix(out, filepath.Ext(out)))}
		}
		if st, err := os.Stat(ins[0]); err == nil && st.IsDir() {
			return nil, &exitError{code: 2, err: fmt.Errorf("-o %s: the input %s is a folder: give an output folder, not a file name (try -o %s/)", out, ins[0], strings.TrimSuffix(out, filepath.Ext(out)))}
		}
	}
	for arg, in := range ins {
		st, err := os.Stat(in)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			o := out
			switch {
			case o == "":
				o = audiofile.WritableName(strings.TrimSuffix(in, filepath.Ext(in)) + "-denoised" + filepath.Ext(in))
			case !single || isDirArg(o):
				o = filepath.Join(o, audiofile.WritableName(filepath.Base(in)))
			}
			if _, err := audiofile.CodecFor(o); err != nil {
				return nil, &exitError{code: 2, err: err}
			}
			tasks = append(tasks, task{in: in, out: o, arg: arg, rel: filepath.Base(in)})
			continue
		}
		root := out
		if root == "" {
			root = strings.TrimRight(in, string(os.PathSeparator)) + "-denoised"
		} else if !single {
			root = filepath.Join(out, filepath.Base(filepath.Clean(in)))
		}
		if inside(root, in) {
			// Writing into the input tree would enhance our own outputs on a rerun.
			return nil, fmt.Errorf("output folder %s is inside the input folder %s", root, in)
		}
		err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !audiofile.Readable(p) {
				return nil
			}
			rel, err := filepath.Rel(in, p)
			if err != nil {
				return err
			}
			tasks = append(tasks, task{in: p, out: filepath.Join(root, audiofile.WritableName(rel)), arg: arg, rel: filepath.ToSlash(rel)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	seen := map[string]string{}
	for _, t := range tasks {
		abs, _ := filepath.Abs(t.out)
		if prev, ok := seen[abs]; ok {
			return nil, fmt.Errorf("%s and %s would both be written to %s", prev, t.in, t.out)
		}
		seen[abs] = t.in
	}
	return tasks, nil
}

func isDirArg(p string) bool {
	if strings.HasSuffix(p, string(os.PathSeparator)) {
		return true
	}
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func inside(child, parent string) bool {
	c, err1 := filepath.Abs(child)
	p, err2 := filepath.Abs(parent)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(p, c)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(os.PathSeparator))
}
