package zoo

import "testing"

// Every command finds the shipped streaming model by its alias (issue 25: `enhance --model
// rt` failed with `model "rt" not found` while `live` took it).
func TestFindAlias(t *testing.T) {
	b, err := Find("rt")
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Name != DefaultStreaming {
		t.Errorf("Find(rt) = %s, want %s", b.Manifest.Name, DefaultStreaming)
	}
	if got := Resolve("rt"); got != DefaultStreaming {
		t.Errorf("Resolve(rt) = %s", got)
	}
	if got := Resolve(DefaultOffline); got != DefaultOffline {
		t.Errorf("Resolve(%s) = %s: a full name stands for itself", DefaultOffline, got)
	}
}
