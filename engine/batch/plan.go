// Package batch enhances many audio files: it maps the inputs (files and folders) to their
// outputs (Plan), deals them into shards across machines (Shard), passes over outputs that
// are already complete (Complete), and enhances several files at once with a progress bar
// (Run). One file is engine/wavfile's.
package batch

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/restoregrad/restoregrad/dsp/audiofile"
)

// Task is one input file and where its output goes. Arg is the index of the input argument
// it was found under and Rel its path relative to that argument (Shard sorts by them).
type Task struct {
	In, Out string
	Arg     int
	Rel     string
}

// UsageError is a mistake in the arguments (as opposed to a file that cannot be read): a
// command exits with status 2 for it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Plan expands the folders among ins and maps every input to its output path. Without out,
// IN.wav (or .flac) goes to IN-denoised.wav (.flac), IN.mp3 to IN-denoised.wav and a folder
// DIR to DIR-denoised/; with one input file, out is its output file unless it names a
// folder; with several inputs or a folder, out is a folder. Outputs in a folder keep the
// input's name (with .wav for an MP3) and a folder's tree.
func Plan(ins []string, out string) ([]Task, error) {
	var tasks []Task
	single := len(ins) == 1
	if out != "" && !isDirArg(out) && audiofile.IsAudioName(out) {
		// A name like clean.wav is a file: with several inputs it would become a folder.
		if !single {
			return nil, &UsageError{fmt.Errorf("-o %s: %d inputs need an output folder, not a file name (try -o %s/)", out, len(ins), strings.TrimSuffix(out, filepath.Ext(out)))}
		}
		if st, err := os.Stat(ins[0]); err == nil && st.IsDir() {
			return nil, &UsageError{fmt.Errorf("-o %s: the input %s is a folder: give an output folder, not a file name (try -o %s/)", out, ins[0], strings.TrimSuffix(out, filepath.Ext(out)))}
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
				return nil, &UsageError{err}
			}
			tasks = append(tasks, Task{In: in, Out: o, Arg: arg, Rel: filepath.Base(in)})
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
			tasks = append(tasks, Task{In: p, Out: filepath.Join(root, audiofile.WritableName(rel)), Arg: arg, Rel: filepath.ToSlash(rel)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	seen := map[string]string{}
	for _, t := range tasks {
		abs, _ := filepath.Abs(t.Out)
		if prev, ok := seen[abs]; ok {
			return nil, fmt.Errorf("%s and %s would both be written to %s", prev, t.In, t.Out)
		}
		seen[abs] = t.In
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
