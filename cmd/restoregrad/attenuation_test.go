package main

import "testing"

func TestAttenuationFlag(t *testing.T) {
	var a attenuationLimit
	if a.dB() != 100 || a.String() != "100" {
		t.Errorf("unset: %v %q", a.dB(), a.String())
	}
	for _, bad := range []string{"-1", "NaN", "loud"} {
		if err := a.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := a.Set("6"); err != nil || a.dB() != 6 {
		t.Errorf("6: %v %v", a.dB(), err)
	}
}
