package virtualmic

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restoregrad/restoregrad/stream/pulse"
)

// Each --name has its unit: two microphones, two services.
func TestServiceFilePerName(t *testing.T) {
	if ServiceFile(pulse.DefaultDescription) != ServiceName || ServiceFile("") != ServiceName {
		t.Errorf("default: %s", ServiceFile(""))
	}
	if got := ServiceFile("Other Mic"); got != "restoregrad-virtual-mic-other-mic.service" {
		t.Errorf("Other Mic: %s", got)
	}
}

// Words with spaces, quotes, $ and % survive systemd's ExecStart parsing; plain ones are
// left alone.
func TestUnitQuotesWords(t *testing.T) {
	unit := Unit([]string{"/usr/bin/restoregrad", "virtual-mic", "--name", `Desk 100% "Mic" $HOME`}, "/opt/ort lib/libonnxruntime.so.1")
	for _, want := range []string{
		`ExecStart=/usr/bin/restoregrad virtual-mic --name "Desk 100%% \"Mic\" $$HOME"`,
		`Environment="ORT_LIB=/opt/ort lib/libonnxruntime.so.1"`,
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %s:\n%s", want, unit)
		}
	}
	if strings.Contains(Unit([]string{"x"}, ""), "Environment=") {
		t.Error("an empty ORT_LIB was put in the unit")
	}
}

func TestInstallAndUninstallService(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	var out strings.Builder
	if err := InstallService(&out, "Other Mic", []string{"/bin/restoregrad", "virtual-mic"}, ""); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "systemd", "user", "restoregrad-virtual-mic-other-mic.service")
	if _, err := os.Stat(path); err != nil || !strings.Contains(out.String(), "wrote "+path) {
		t.Fatalf("%v\n%s", err, out.String())
	}
	out.Reset()
	if err := UninstallService(&out, "Other Mic"); err != nil || !strings.Contains(out.String(), "removed "+path) {
		t.Fatalf("%v\n%s", err, out.String())
	}
	out.Reset()
	if err := UninstallService(&out, "Other Mic"); err != nil || !strings.Contains(out.String(), "no "+path+" installed") {
		t.Fatalf("twice: %v\n%s", err, out.String())
	}
}
