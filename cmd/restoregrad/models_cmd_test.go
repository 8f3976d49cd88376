package main

import (
	"strings"
	"testing"
)

// Every row of the models table starts each column where the header does (issue 24, item
// 14: objectives longer than the fixed width pushed the rest of the row out of line).
func TestModelsTableAligned(t *testing.T) {
	var err error
	out := captureStdout(t, func() { err = runModels(nil) })
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	header := lines[0]
	var cols []int
	for _, name := range []string{"KIND", "STEPS", "OBJECTIVE", "TRAINED", "WHERE"} {
		cols = append(cols, strings.Index(header, name))
	}
	rows := 0
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "    ") || l == "" { // a description or a card
			continue
		}
		rows++
		for _, c := range cols {
			if len(l) <= c || l[c-1] != ' ' || l[c] == ' ' {
				t.Errorf("row not aligned with the header at column %d:\n%s\n%s", c, header, l)
				break
			}
		}
	}
	if rows == 0 {
		t.Fatalf("no rows:\n%s", out)
	}
}

// -h names what each flag takes, with its unit (issue 24, item 14: bare "value"
// placeholders, no units).
func TestHelpPlaceholders(t *testing.T) {
	for name, c := range map[string]struct {
		run  func([]string) error
		want []string
	}{
		"live":        {runLive, []string{"-rate Hz", "-block duration", "-duration duration", "-cushion duration", "-busy-cushion duration", "-attenuation-limit dB", "-record folder", "-steps N"}},
		"virtual-mic": {runVirtualMic, []string{"-duration duration", "-busy-cushion duration", "-attenuation-limit dB", "-name name", "-input source", "-plugin path"}},
		"eval":        {runEval, []string{"-csv file", "-json file", "-max-lag ms", "-dnsmos folder"}},
	} {
		u := usageOf(t, c.run)
		for _, w := range c.want {
			if !strings.Contains(u, "  "+w+"\n") {
				t.Errorf("%s -h lacks %q", name, w)
			}
		}
		for _, l := range strings.Split(u, "\n") {
			if strings.HasPrefix(l, "  -") && strings.HasSuffix(l, " value") {
				t.Errorf("%s -h: %q has no placeholder", name, l)
			}
		}
	}
}
