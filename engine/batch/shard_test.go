package batch

import (
	"strings"
	"testing"
)

// The split is the sorted list dealt round-robin, whatever order the files were found in.
func TestShardPickIsStable(t *testing.T) {
	tasks := []Task{
		{In: "x/b.wav", Arg: 0, Rel: "b.wav"}, {In: "x/a b.wav", Arg: 0, Rel: "a b.wav"},
		{In: "x/a/z.wav", Arg: 0, Rel: "a/z.wav"}, {In: "y.wav", Arg: 1, Rel: "y.wav"},
		{In: "x/c.wav", Arg: 0, Rel: "c.wav"},
	}
	// Sorted: a b.wav, a/z.wav, b.wav, c.wav (argument 0), then y.wav (argument 1).
	want := map[int][]string{0: {"x/a b.wav", "x/c.wav"}, 1: {"x/a/z.wav", "y.wav"}, 2: {"x/b.wav"}}
	for k := range 3 {
		for _, order := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}} {
			shuffled := make([]Task, len(tasks))
			for i, j := range order {
				shuffled[i] = tasks[j]
			}
			var got []string
			for _, t := range (Shard{k, 3}).Pick(shuffled) {
				got = append(got, t.In)
			}
			if strings.Join(got, ",") != strings.Join(want[k], ",") {
				t.Errorf("shard %d/3 of order %v: %v, want %v", k, order, got, want[k])
			}
		}
	}
}

// K/N is read with errors that say what is wrong; the zero value is every file.
func TestShardFlag(t *testing.T) {
	var s Shard
	if s.String() != "" || len(s.Pick([]Task{{In: "a"}, {In: "b"}})) != 2 {
		t.Errorf("zero value: %q", s.String())
	}
	for _, bad := range []string{"1", "a/b", "0/0", "3/3", "-1/3"} {
		if err := s.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := s.Set("2/3"); err != nil || s != (Shard{2, 3}) || s.String() != "2/3" {
		t.Errorf("2/3: %v %v", s, err)
	}
}
