// Package pulse controls a PulseAudio or PipeWire (pipewire-pulse) sound server through
// pactl: server info, sources, sinks and modules, and the virtual microphone (a null sink
// plus a remap source) that call apps can pick.
package pulse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ErrNoServer means pactl is missing or no server answered.
var ErrNoServer = errors.New("no PulseAudio/PipeWire server reachable")

// Timeout bounds every pactl call, so a stuck server gives an error rather than a hang.
var Timeout = 5 * time.Second

// pactl runs pactl with args in the C locale and returns its standard output.
func pactl(ctx context.Context, args ...string) (string, error) {
	path, err := exec.LookPath("pactl")
	if err != nil {
		return "", fmt.Errorf("%w: pactl not found (install pulseaudio-utils)", ErrNoServer)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(cmd.Environ(), "LC_ALL=C")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		return "", fmt.Errorf("pactl %s: %w: no answer after %v", strings.Join(args, " "), ErrNoServer, Timeout)
	}
	if err != nil {
		// pactl says it twice ("Connection failure: ..." then "pa_context_connect() failed: ..."):
		// the first line is the message.
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		if msg == "" {
			msg = err.Error()
		}
		if strings.Contains(msg, "Connection refused") || strings.Contains(msg, "Connection failure") ||
			strings.Contains(msg, "No such file") || strings.Contains(msg, "Access denied") {
			return "", fmt.Errorf("pactl %s: %w: %s", strings.Join(args, " "), ErrNoServer, msg)
		}
		return "", fmt.Errorf("pactl %s: %s", strings.Join(args, " "), msg)
	}
	return out.String(), nil
}

// ServerInfo is what `pactl info` says about the server.
type ServerInfo struct {
	Name          string // "pulseaudio", or "PulseAudio (on PipeWire 1.0.5)"
	Version       string
	DefaultSink   string
	DefaultSource string
	PipeWire      bool // the server is pipewire-pulse
}

// Info asks the server for its name and defaults; ErrNoServer if none answers.
func Info(ctx context.Context) (ServerInfo, error) {
	out, err := pactl(ctx, "info")
	if err != nil {
		return ServerInfo{}, err
	}
	return parseInfo(out), nil
}

func parseInfo(out string) ServerInfo {
	var si ServerInfo
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Server Name":
			si.Name = v
		case "Server Version":
			si.Version = v
		case "Default Sink":
			si.DefaultSink = v
		case "Default Source":
			si.DefaultSource = v
		}
	}
	si.PipeWire = strings.Contains(strings.ToLower(si.Name), "pipewire")
	return si
}

// Object is one entry of `pactl list sinks|sources|modules`.
type Object struct {
	Kind        string // "Sink", "Source", "Module", ...
	Index       int
	Name        string
	Description string
	Driver      string
	OwnerModule int // -1 if none
	Rate        int // from "Sample Specification", 0 if absent
	Channels    int
	Argument    string            // modules only
	Fields      map[string]string // every "Key: value" line at the top level
	Properties  map[string]string // the Properties block
}

// List returns the objects of one kind: "sinks", "sources", "modules", ...
func List(ctx context.Context, what string) ([]Object, error) {
	out, err := pactl(ctx, "list", what)
	if err != nil {
		return nil, err
	}
	return parseList(out), nil
}

// parseList parses the long format of pactl list: blocks that start with "Kind #N", then
// tab-indented "Key: value" lines, and a "Properties:" block of `key = "value"` lines
// indented by two tabs.
func parseList(out string) []Object {
	var objs []Object
	var cur *Object
	inProps := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, " ") {
			kind, num, ok := strings.Cut(line, " #")
			idx, err := strconv.Atoi(strings.TrimSpace(num))
			if !ok || err != nil {
				cur = nil
				continue
			}
			objs = append(objs, Object{Kind: kind, Index: idx, OwnerModule: -1, Fields: map[string]string{}, Properties: map[string]string{}})
			cur = &objs[len(objs)-1]
			inProps = false
			continue
		}
		if cur == nil {
			continue
		}
		if strings.HasPrefix(line, "\t\t") {
			if inProps {
				k, v, ok := strings.Cut(strings.TrimSpace(line), " = ")
				if ok {
					cur.Properties[k] = unquote(v)
				}
			}
			continue
		}
		if !strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "\t ") {
			continue // continuation lines such as "        balance 0.00"
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		inProps = k == "Properties"
		cur.Fields[k] = v
		switch k {
		case "Name":
			cur.Name = v
		case "Description":
			cur.Description = v
		case "Driver":
			cur.Driver = v
		case "Argument":
			cur.Argument = v
		case "Owner Module":
			if n, err := strconv.Atoi(v); err == nil {
				cur.OwnerModule = n
			}
		case "Sample Specification":
			cur.Channels, cur.Rate = parseSpec(v)
		}
	}
	return objs
}

func unquote(v string) string {
	if s, err := strconv.Unquote(v); err == nil {
		return s
	}
	return strings.Trim(v, `"`)
}

// parseSpec reads "float32le 1ch 48000Hz".
func parseSpec(v string) (channels, rate int) {
	for _, f := range strings.Fields(v) {
		if s, ok := strings.CutSuffix(f, "ch"); ok {
			channels, _ = strconv.Atoi(s)
		}
		if s, ok := strings.CutSuffix(f, "Hz"); ok {
			rate, _ = strconv.Atoi(s)
		}
	}
	return channels, rate
}

// Find returns the object named name among objs.
func Find(objs []Object, name string) (Object, bool) {
	for _, o := range objs {
		if o.Name == name {
			return o, true
		}
	}
	return Object{}, false
}

// LoadModule loads a module and returns its index.
func LoadModule(ctx context.Context, name string, args ...string) (int, error) {
	out, err := pactl(ctx, append([]string{"load-module", name}, args...)...)
	if err != nil {
		if errors.Is(err, ErrNoServer) {
			return -1, err
		}
		return -1, fmt.Errorf("the server refused to load %s: %w", name, err)
	}
	idx, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return -1, fmt.Errorf("load-module %s: unexpected answer %q", name, strings.TrimSpace(out))
	}
	return idx, nil
}

// UnloadModule unloads the module with index idx.
func UnloadModule(ctx context.Context, idx int) error {
	_, err := pactl(ctx, "unload-module", strconv.Itoa(idx))
	return err
}
