package main

import (
	"strings"
	"testing"
)

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
