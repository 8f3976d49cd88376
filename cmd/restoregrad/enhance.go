package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/restoregrad/restoregrad/engine/batch"
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
	var part batch.Shard
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
	tasks, err := batch.Plan(ins, *out)
	if usage := (*batch.UsageError)(nil); errors.As(err, &usage) {
		return &exitError{code: 2, err: err}
	} else if err != nil {
		return err
	}
	if len(tasks) == 0 {
		return errors.New("no .wav, .flac or .mp3 files found in the inputs")
	}
	what := "" // the summary's prefix
	if part.N > 0 {
		found := len(tasks)
		tasks = part.Pick(tasks)
		what = fmt.Sprintf("shard %s (%d of %d files): ", part.String(), len(tasks), found)
	}
	if *skipExisting {
		var skipped int
		if tasks, skipped = batch.Incomplete(tasks); skipped > 0 {
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
	file := wavfile.Options{Steps: steps, Noise: r.Noise, InputRMS: r.InputRMS()}
	file.Chunk.Chunk = int(*chunk * float64(man.SampleRate))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum := batch.Run(ctx, model, tasks, batch.Options{Jobs: *jobs, File: file, Progress: !*quiet, Log: os.Stderr, Terminal: isTerminal(os.Stderr)})
	for _, w := range sum.Warnings {
		fmt.Fprintln(os.Stderr, w)
	}
	rtf := sum.RTF()
	fmt.Fprintf(os.Stderr, "%senhanced %d of %d files: %.1f s of audio in %.1f s (RTF %.3f, %.1f× real time) with %s, %d steps\n",
		what, sum.Done, len(tasks), sum.Seconds, sum.Wall.Seconds(), rtf, safeDiv(1, rtf), man.Name, steps)
	if ctx.Err() != nil {
		return &exitError{code: 130, err: errors.New("interrupted; finished files are complete, no partial file was left")}
	}
	if sum.Failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d file(s) failed:\n  %s", sum.Failed, strings.Join(sum.Failures, "\n  "))}
	}
	return nil
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

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
