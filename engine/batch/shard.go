package batch

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/restoregrad/restoregrad/dsp/audiofile"
)

// Shard is the part K (0-based) of N of the input files, as a flag.Value that reads K/N
// (a command's --shard). The zero value (N 0) is every file.
type Shard struct{ K, N int }

func (s *Shard) String() string {
	if s.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.K, s.N)
}

func (s *Shard) Set(v string) error {
	ks, ns, ok := strings.Cut(v, "/")
	if !ok {
		return fmt.Errorf("want K/N, shard K of N counted from 0 (e.g. 0/4 ... 3/4)")
	}
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	switch {
	case err1 != nil || err2 != nil:
		return fmt.Errorf("want K/N with whole numbers (e.g. 0/4 ... 3/4)")
	case n < 1:
		return fmt.Errorf("N = %d: want 1 or more shards", n)
	case k < 0 || k >= n:
		return fmt.Errorf("K = %d: shards of %d are 0/%d ... %d/%d (K counts from 0, as SLURM_ARRAY_TASK_ID with --array=0-%d and JOB_COMPLETION_INDEX)", k, n, n, n-1, n, n-1)
	}
	s.K, s.N = k, n
	return nil
}

// Pick returns the tasks of shard s: sorted by input argument, then by path relative to
// it (Task's Arg and Rel), the file at index i belongs to shard i mod N. The split
// depends only on the arguments and the files found, so N runs with the same arguments,
// on any machines, write every output exactly once.
func (s Shard) Pick(tasks []Task) []Task {
	sorted := append([]Task(nil), tasks...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Arg != sorted[j].Arg {
			return sorted[i].Arg < sorted[j].Arg
		}
		return sorted[i].Rel < sorted[j].Rel
	})
	if s.N <= 1 {
		return sorted
	}
	var mine []Task
	for i, t := range sorted {
		if i%s.N == s.K {
			mine = append(mine, t)
		}
	}
	return mine
}

// Complete reports whether the output of t exists and is whole: it decodes to the end
// with the input's sample rate and channel count and as many frames as the input. enhance
// (engine/wavfile) writes outputs through a temporary file and a rename, so a killed run leaves none that
// is partial; this also refuses one that was copied in part or written by something else.
func Complete(t Task) bool {
	if _, err := os.Stat(t.Out); err != nil {
		return false
	}
	in, err := audiofile.Open(t.In)
	if err != nil {
		return false
	}
	want := in.Frames()
	inFormat := in.Format()
	if want < 0 { // the header does not say (MP3 without an index): count
		want, err = countFrames(in)
	}
	in.Close()
	if err != nil || want <= 0 {
		return false
	}
	out, err := audiofile.Open(t.Out)
	if err != nil {
		return false
	}
	defer out.Close()
	f := out.Format()
	if f.SampleRate != inFormat.SampleRate || f.Channels != inFormat.Channels || out.Frames() != want {
		return false
	}
	n, err := countFrames(out)
	return err == nil && n == want
}

// countFrames reads r to its end and returns the frames it decoded.
func countFrames(r *audiofile.Reader) (int64, error) {
	buf := make([][]float32, r.Format().Channels)
	for c := range buf {
		buf[c] = make([]float32, 1<<15)
	}
	var total int64
	for {
		n, err := r.Read(buf)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Incomplete returns the tasks whose output is not Complete, and how many were.
func Incomplete(tasks []Task) (todo []Task, complete int) {
	for _, t := range tasks {
		if Complete(t) {
			complete++
		} else {
			todo = append(todo, t)
		}
	}
	return todo, complete
}
