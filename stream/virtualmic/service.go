package virtualmic

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/stream/pulse"
)

// ServiceName is the systemd user unit of the microphone with the default name.
const ServiceName = "restoregrad-virtual-mic.service"

// ServiceFile is the unit of the microphone named name: ServiceName for the default name,
// one of its own for another (two microphones, two units).
func ServiceFile(name string) string {
	return perName(ServiceName, ".service", name)
}

// perName is file for the default microphone name, with name's words added before ext
// for another.
func perName(file, ext, name string) string {
	if slug := pulse.Slug(name); slug != "" {
		return strings.TrimSuffix(file, ext) + "-" + strings.ReplaceAll(slug, "_", "-") + ext
	}
	return file
}

// userConfigDir is the folder elem under the user's configuration folder: $XDG_CONFIG_HOME,
// or ~/.config when that is unset.
func userConfigDir(elem ...string) (string, error) {
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(append([]string{base}, elem...)...), nil
}

// serviceDir is where systemd looks for user units.
func serviceDir() (string, error) { return userConfigDir("systemd", "user") }

// Unit is the systemd user unit that runs args (the executable first) at login and again
// when it fails, with $ORT_LIB set to ortLib unless that is "".
func Unit(args []string, ortLib string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = systemdQuote(a)
	}
	env := ""
	if ortLib != "" {
		env = "Environment=" + systemdQuote(ort.EnvLibrary+"="+ortLib) + "\n"
	}
	return fmt.Sprintf(`[Unit]
Description=RestoreGrad denoised virtual microphone
After=pipewire-pulse.service pulseaudio.service
Wants=pipewire-pulse.service

[Service]
ExecStart=%s
Restart=on-failure
RestartSec=3
%s
[Install]
WantedBy=default.target
`, strings.Join(quoted, " "), env)
}

// InstallService writes Unit(args, ortLib) as the user unit of the microphone named name
// and tells w how to enable it. The arguments must have been checked as a run checks them:
// a mistake shows only as a unit failing every few seconds.
func InstallService(w io.Writer, name string, args []string, ortLib string) error {
	dir, err := serviceDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	unitName := ServiceFile(name)
	path := filepath.Join(dir, unitName)
	if err := os.WriteFile(path, []byte(Unit(args, ortLib)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s\nenable it with: systemctl --user daemon-reload && systemctl --user enable --now %s\n", path, unitName)
	return nil
}

// UninstallService removes the user unit of the microphone named name, saying so on w;
// one that is not there is no error.
func UninstallService(w io.Writer, name string) error {
	dir, err := serviceDir()
	if err != nil {
		return err
	}
	unitName := ServiceFile(name)
	path := filepath.Join(dir, unitName)
	if err := os.Remove(path); err != nil {
		if os.IsNotExist(err) {
			fmt.Fprintf(w, "no %s installed\n", path)
			return nil
		}
		return err
	}
	fmt.Fprintf(w, "removed %s\n(if it was enabled: systemctl --user disable --now %s)\n", path, unitName)
	return nil
}

// systemdQuote quotes one ExecStart word.
func systemdQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\$%;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`)
	return `"` + r.Replace(s) + `"`
}
