package stream

import (
	"errors"
	"fmt"
	"time"
)

// The backends a Stream can use (Config.Backend).
const (
	// BackendAuto uses BackendPulse when a PulseAudio (or pipewire-pulse) server answers
	// and both devices are PulseAudio sources/sinks (or the defaults), else BackendPortAudio.
	BackendAuto = "auto"
	// BackendPulse talks the PulseAudio native protocol directly, with buffer sizes it
	// chooses itself.
	BackendPulse = "pulse"
	// BackendPortAudio goes through PortAudio (ALSA, JACK, or PulseAudio via ALSA's pulse
	// plugin).
	BackendPortAudio = "portaudio"
)

// backend is one way of reaching the sound devices. Its constructor resolves the devices
// and says which with Stream.resolved, sets the Stream's rate with Stream.setup, and opens
// the devices without starting them.
// From start on, the backend's audio side hands every input chunk to Stream.capture and
// fills every output request with Stream.render (a pusher sends what Stream.drain gives,
// once Stream.outputStarted, and asks Stream.outputWaiting whether more is queued), on a
// thread or goroutine of its own; it counts each callback with Stream.called and each
// device underflow with Stream.outputXrun, and may ask for real-time scheduling with
// Stream.audioThread. It touches the Stream through nothing else: the rings and counters
// are the Stream's.
type backend interface {
	// start starts the devices. The output ring already holds what is to be played first.
	start() error
	// latency is what the backend knows of the devices' input and output latency.
	latency() (in, out time.Duration)
	// close stops the devices and releases everything; it is safe after a failed start
	// and called once.
	close()
}

// idleWatcher is a backend that is told each time the worker finds no input waiting:
// everything captured before the read that found none has been processed and queued for
// output. A backend whose audio side runs on simulated time (the tests' clock devices)
// paces itself by it.
type idleWatcher interface {
	workerIdle()
}

// errNotPulse means the devices asked for are not PulseAudio devices, or no server answers:
// BackendAuto then uses PortAudio.
var errNotPulse = errors.New("not a PulseAudio device")

// openBackend opens the backend that cfg.Backend names on s, and records its name.
func openBackend(s *Stream) (backend, error) {
	named := func(name string, b backend, err error) (backend, error) {
		if err == nil {
			s.backendName = name
		}
		return b, err
	}
	switch s.cfg.Backend {
	case "", BackendAuto:
		b, err := openPulse(s)
		if err == nil || !errors.Is(err, errNotPulse) {
			return named(BackendPulse, b, err)
		}
		b, err = openPortAudio(s)
		return named(BackendPortAudio, b, err)
	case BackendPulse:
		b, err := openPulse(s)
		return named(BackendPulse, b, err)
	case BackendPortAudio:
		b, err := openPortAudio(s)
		return named(BackendPortAudio, b, err)
	}
	return nil, fmt.Errorf("unknown audio backend %q (want %s, %s or %s)", s.cfg.Backend, BackendAuto, BackendPulse, BackendPortAudio)
}

// A latencyMeter is a backend that measures, while running, each side's latency with
// what waits in the server's buffers (PulseAudio); sink is the output device's own part.
type latencyMeter interface {
	measuredLatency() (in, out, sink time.Duration, ok bool)
}

// A failer is a backend that knows when its devices went away: failure returns that
// error (wrapping ErrDeviceLost), or nil.
type failer interface {
	failure() error
}

// A pusher is a backend whose output side the worker drives too: push is called after the
// worker queued output, and queued is how much output the device holds beyond its own
// target latency (it counts against the worker's latency bound like the output ring).
type pusher interface {
	push()
	queued() int
}
