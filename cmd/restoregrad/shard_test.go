package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// outputs maps each file under dir (relative path) to its contents.
func outputs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m[rel] = b
		return nil
	})
	return m
}

func shardTree(t *testing.T, files int) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in")
	for i := range files {
		name := fmt.Sprintf("f%02d.wav", i)
		if i%3 == 1 {
			name = filepath.Join("sub", name)
		} else if i%3 == 2 {
			name = filepath.Join("sub", "deeper", name)
		}
		writeWAV(t, filepath.Join(in, name), []int{16000, 22050, 48000}[i%3], 1+i%2, 3000+500*i)
	}
	return in
}

// N shards write every output exactly once, and the same bytes as one run.
func TestEnhanceShardsWriteEachOutputOnce(t *testing.T) {
	model := toyModel(t)
	in := shardTree(t, 10)
	base := t.TempDir()
	whole := filepath.Join(base, "whole")
	if err := runEnhance([]string{in, "-o", whole, "--model", model, "--quiet"}); err != nil {
		t.Fatal(err)
	}
	want := outputs(t, whole)
	if len(want) != 10 {
		t.Fatalf("one run wrote %d files, want 10", len(want))
	}
	const n = 3
	got := map[string][]byte{}
	for k := range n {
		dir := filepath.Join(base, fmt.Sprint("shard", k))
		if err := runEnhance([]string{in, "-o", dir, "--model", model, "--quiet", "--shard", fmt.Sprintf("%d/%d", k, n)}); err != nil {
			t.Fatalf("shard %d/%d: %v", k, n, err)
		}
		part := outputs(t, dir)
		if len(part) < 3 || len(part) > 4 {
			t.Errorf("shard %d/%d wrote %d files, want 3 or 4 of 10", k, n, len(part))
		}
		for rel, b := range part {
			if _, dup := got[rel]; dup {
				t.Errorf("%s written by two shards", rel)
			}
			got[rel] = b
		}
	}
	for rel, b := range want {
		if g, ok := got[rel]; !ok {
			t.Errorf("%s written by no shard", rel)
		} else if !bytes.Equal(g, b) {
			t.Errorf("%s differs from the single run's", rel)
		}
	}
}

// A rerun with --skip-existing enhances only what is missing or not whole.
func TestEnhanceSkipExisting(t *testing.T) {
	model := toyModel(t)
	in := shardTree(t, 4)
	out := filepath.Join(t.TempDir(), "out")
	args := []string{in, "-o", out, "--model", model, "--quiet", "--skip-existing"}
	if err := runEnhance(args); err != nil {
		t.Fatal(err)
	}
	first := outputs(t, out)
	stat := func() map[string]os.FileInfo {
		m := map[string]os.FileInfo{}
		for rel := range first {
			if st, err := os.Stat(filepath.Join(out, rel)); err == nil {
				m[rel] = st
			}
		}
		return m
	}
	rels := make([]string, 0, len(first))
	for rel := range first {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	missing, truncated, foreign := rels[0], rels[1], rels[2]
	os.Remove(filepath.Join(out, missing))
	b := first[truncated]
	os.WriteFile(filepath.Join(out, truncated), b[:len(b)-100], 0o644) // header says more
	// A whole file of another length (say, from another input) is not the output either.
	other := filepath.Join(t.TempDir(), "other.wav")
	writeWAV(t, other, 16000, 1, 999)
	o, _ := os.ReadFile(other)
	os.WriteFile(filepath.Join(out, foreign), o, 0o644)
	before := stat()

	if err := runEnhance(args); err != nil {
		t.Fatal(err)
	}
	after := stat()
	for _, rel := range rels {
		redone := before[rel] == nil || !os.SameFile(before[rel], after[rel])
		if want := rel != rels[3]; redone != want {
			t.Errorf("%s: rewritten %v, want %v", rel, redone, want)
		}
	}
	if got := outputs(t, out); len(got) != len(first) {
		t.Fatalf("%d outputs after the rerun, want %d", len(got), len(first))
	} else {
		for rel, b := range first {
			if !bytes.Equal(got[rel], b) {
				t.Errorf("%s: the rerun's output differs from the first run's", rel)
			}
		}
	}
}

func TestEnhanceShardArguments(t *testing.T) {
	model := toyModel(t)
	in := shardTree(t, 2)
	out := filepath.Join(t.TempDir(), "out")
	for arg, want := range map[string]string{
		"2/2":  "K = 2: shards of 2 are 0/2 ... 1/2 (K counts from 0",
		"-1/2": "K = -1",
		"1":    "want K/N",
		"a/b":  "whole numbers",
		"0/0":  "N = 0: want 1 or more",
	} {
		err := runEnhance([]string{in, "-o", out, "--model", model, "--quiet", "--shard", arg})
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), want) {
			t.Errorf("--shard %s: want exit 2 with %q, got %v", arg, want, err)
		}
	}
	// More shards than files: the empty ones succeed and write nothing.
	if err := runEnhance([]string{in, "-o", out, "--model", model, "--quiet", "--shard", "5/8"}); err != nil {
		t.Fatalf("empty shard: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an empty shard created the output folder")
	}
}
