package stream

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gordonklaus/portaudio"
)

// paMu guards paRefs, the reference count of portaudio.Initialize.
var (
	paMu   sync.Mutex
	paRefs int
)

// Init initialises PortAudio; each successful Init needs one Terminate. It fails with a
// clear message rather than hanging when the host audio system does not answer.
func Init() error {
	paMu.Lock()
	defer paMu.Unlock()
	if paRefs > 0 {
		paRefs++
		return nil
	}
	err := withTimeout(10*time.Second, "initialise PortAudio", func() error {
		return quietStderr(portaudio.Initialize)
	})
	if err != nil {
		return err
	}
	paRefs = 1
	return nil
}

// Terminate releases one Init.
func Terminate() error {
	paMu.Lock()
	defer paMu.Unlock()
	if paRefs == 0 {
		return nil
	}
	paRefs--
	if paRefs > 0 {
		return nil
	}
	// ALSA's pulse plugin reports a missing server on stderr while closing.
	return quietStderr(portaudio.Terminate)
}

// Device describes one PortAudio device.
type Device struct {
	Index             int     `json:"index"`
	Name              string  `json:"name"`
	HostAPI           string  `json:"host_api"`
	MaxInputChannels  int     `json:"max_input_channels"`
	MaxOutputChannels int     `json:"max_output_channels"`
	DefaultSampleRate float64 `json:"default_sample_rate"`
	// LowInputLatency and LowOutputLatency are the device's suggested low latencies.
	LowInputLatency  time.Duration `json:"low_input_latency"`
	LowOutputLatency time.Duration `json:"low_output_latency"`
	// DefaultInput and DefaultOutput mark the system defaults (of the default host API).
	DefaultInput  bool `json:"default_input"`
	DefaultOutput bool `json:"default_output"`

	info *portaudio.DeviceInfo
}

// HostAPI describes one PortAudio host API (ALSA, JACK, PulseAudio, ...).
type HostAPI struct {
	Name          string `json:"name"`
	Default       bool   `json:"default"`
	DefaultInput  int    `json:"default_input"`  // device index, -1 if none
	DefaultOutput int    `json:"default_output"` // device index, -1 if none
	Devices       []int  `json:"devices"`        // device indices
}

// Devices lists the devices and host APIs. Init must have been called.
func Devices() ([]Device, []HostAPI, error) {
	infos, err := portaudio.Devices()
	if err != nil {
		return nil, nil, fmt.Errorf("list devices: %w", err)
	}
	hosts, err := portaudio.HostApis()
	if err != nil {
		return nil, nil, fmt.Errorf("list host APIs: %w", err)
	}
	defHost, _ := portaudio.DefaultHostApi()
	devs := make([]Device, len(infos))
	for i, d := range infos {
		devs[i] = Device{
			Index: d.Index, Name: d.Name,
			MaxInputChannels: d.MaxInputChannels, MaxOutputChannels: d.MaxOutputChannels,
			DefaultSampleRate: d.DefaultSampleRate,
			LowInputLatency:   d.DefaultLowInputLatency, LowOutputLatency: d.DefaultLowOutputLatency,
			info: d,
		}
		if d.HostApi != nil {
			devs[i].HostAPI = d.HostApi.Name
		}
	}
	apis := make([]HostAPI, len(hosts))
	for i, h := range hosts {
		a := HostAPI{Name: h.Name, Default: defHost != nil && h.Name == defHost.Name, DefaultInput: -1, DefaultOutput: -1}
		if h.DefaultInputDevice != nil {
			a.DefaultInput = h.DefaultInputDevice.Index
		}
		if h.DefaultOutputDevice != nil {
			a.DefaultOutput = h.DefaultOutputDevice.Index
		}
		for _, d := range h.Devices {
			a.Devices = append(a.Devices, d.Index)
		}
		if a.Default {
			if a.DefaultInput >= 0 && a.DefaultInput < len(devs) {
				devs[a.DefaultInput].DefaultInput = true
			}
			if a.DefaultOutput >= 0 && a.DefaultOutput < len(devs) {
				devs[a.DefaultOutput].DefaultOutput = true
			}
		}
		apis[i] = a
	}
	return devs, apis, nil
}

// ErrNoDevice is wrapped by the errors of FindDevice.
var ErrNoDevice = errors.New("no such device")

// Direction is Input or Output.
type Direction int

// The two directions of a device.
const (
	Input Direction = iota
	Output
)

func (d Direction) String() string {
	if d == Input {
		return "input"
	}
	return "output"
}

func (d Direction) channels(dev Device) int {
	if d == Input {
		return dev.MaxInputChannels
	}
	return dev.MaxOutputChannels
}

// FindDevice picks the device for spec among devs: "" is the default device; a number is
// a device index; otherwise a name as matchName finds it, among the devices with channels
// in that direction. The error lists the candidates.
func FindDevice(devs []Device, spec string, dir Direction) (Device, error) {
	var usable []Device
	for _, d := range devs {
		if dir.channels(d) > 0 {
			usable = append(usable, d)
		}
	}
	if spec == "" {
		for _, d := range usable {
			if (dir == Input && d.DefaultInput) || (dir == Output && d.DefaultOutput) {
				return d, nil
			}
		}
		if len(usable) > 0 {
			return usable[0], nil
		}
		return Device{}, fmt.Errorf("%w: no %s device at all (is a sound server running? try 'restoregrad devices')", ErrNoDevice, dir)
	}
	if i, err := strconv.Atoi(spec); err == nil {
		for _, d := range devs {
			if d.Index == i {
				if dir.channels(d) == 0 {
					return Device{}, fmt.Errorf("%w: device %d (%s) has no %s channels", ErrNoDevice, i, d.Name, dir)
				}
				return d, nil
			}
		}
		return Device{}, fmt.Errorf("%w: no device with index %d (%s devices: %s)", ErrNoDevice, i, dir, names(usable))
	}
	d, match, ok := matchName(usable, spec, func(d Device) (string, string) { return d.Name, "" })
	switch {
	case ok:
		return d, nil
	case len(match) == 0:
		return Device{}, fmt.Errorf("%w: no %s device matches %q (%s devices: %s)", ErrNoDevice, dir, spec, dir, names(usable))
	default:
		return Device{}, fmt.Errorf("%w: %q matches several %s devices: %s (give an index)", ErrNoDevice, spec, dir, names(match))
	}
}

// matchName is how every backend finds a device by name: the candidate named spec, else
// the one named spec ignoring case, else the only one whose name or description contains
// spec ignoring case. Without a pick it returns the candidates that contain spec (none, or
// several) for the error message.
func matchName[T any](cands []T, spec string, label func(T) (name, description string)) (T, []T, bool) {
	var zero T
	for _, c := range cands {
		if name, _ := label(c); name == spec {
			return c, nil, true
		}
	}
	for _, c := range cands {
		if name, _ := label(c); strings.EqualFold(name, spec) {
			return c, nil, true
		}
	}
	lower := strings.ToLower(spec)
	var match []T
	for _, c := range cands {
		name, desc := label(c)
		if strings.Contains(strings.ToLower(name), lower) || (desc != "" && strings.Contains(strings.ToLower(desc), lower)) {
			match = append(match, c)
		}
	}
	if len(match) == 1 {
		return match[0], nil, true
	}
	return zero, match, false
}

func names(devs []Device) string {
	if len(devs) == 0 {
		return "none"
	}
	s := make([]string, len(devs))
	for i, d := range devs {
		s[i] = fmt.Sprintf("%d %q", d.Index, d.Name)
	}
	return strings.Join(s, ", ")
}

// withTimeout runs f and gives up waiting after d, so that a stuck sound server turns into
// an error instead of a hang. f keeps running in the background if it is stuck.
func withTimeout(d time.Duration, what string, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	case <-time.After(d):
		return fmt.Errorf("%s: no answer from the audio system after %v", what, d)
	}
}

// quietStderr runs f with the process's stderr sent to /dev/null unless RESTOREGRAD_DEBUG
// is set: ALSA prints a screen of warnings about absent cards while PortAudio probes.
var quietStderr = func(f func() error) error {
	if os.Getenv("RESTOREGRAD_DEBUG") != "" {
		return f()
	}
	return redirectStderr(f)
}
