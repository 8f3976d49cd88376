package main

import (
	"strings"
	"testing"
)

// --via-rate takes device rates: a bad one is refused as a usage error before anything is
// opened or scored.
func TestEvalViaRate(t *testing.T) {
	dir := t.TempDir()
	err := runEval([]string{"--clean", dir, "--noisy", dir, "--model", "../../models/streaming/testdata/rt-tiny", "--steps", "1",
		"--dnsmos", "off", "--via-rate", "12"})
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--via-rate 12") {
		t.Errorf("--via-rate 12: %v (code %d), want a usage error naming it", err, exitCode(err))
	}
}
