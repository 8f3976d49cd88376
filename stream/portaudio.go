package stream

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gordonklaus/portaudio"

	"github.com/restoregrad/restoregrad/stream/pulse"
)

// paBackend is the PortAudio backend: one duplex stream, or an input and an output stream.
type paBackend struct {
	s             *Stream
	streams       []*portaudio.Stream
	inCh, outCh   int
	inMix, outMix []float32 // callback scratch for channel conversion
	inLat, outLat time.Duration
	started       bool
}

// openPortAudio initialises PortAudio, resolves the devices and opens the stream(s).
func openPortAudio(s *Stream) (backend, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	b := &paBackend{s: s}
	if err := b.open(); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *paBackend) open() error {
	s := b.s
	devs, _, err := Devices()
	if err != nil {
		return err
	}
	in, inPulse, inRate, err := resolve(devs, s.cfg.Input, Input)
	if err != nil {
		return err
	}
	out, outPulse, outRate, err := resolve(devs, s.cfg.Output, Output)
	if err != nil {
		return err
	}
	s.resolved(in, out, inPulse, outPulse)
	// The pulse ALSA plugin reads these when the stream opens.
	if inPulse != "" {
		os.Setenv("PULSE_SOURCE", inPulse)
	}
	if outPulse != "" {
		os.Setenv("PULSE_SINK", outPulse)
	}
	rate := s.cfg.SampleRate
	if rate == 0 {
		rate = inRate
	}
	if rate == 0 {
		rate = outRate
	}
	if err := s.setup(rate); err != nil {
		return err
	}
	b.inMix = make([]float32, 8*s.block)
	b.outMix = make([]float32, 8*s.block)

	lat := func(d Device, dir Direction) time.Duration {
		if s.cfg.DeviceLatency > 0 {
			return s.cfg.DeviceLatency
		}
		if dir == Input {
			return d.LowInputLatency
		}
		return d.LowOutputLatency
	}
	params := func(in, out *Device, inCh, outCh int) portaudio.StreamParameters {
		var p portaudio.StreamParameters
		if in != nil {
			p.Input = portaudio.StreamDeviceParameters{Device: in.info, Channels: inCh, Latency: lat(*in, Input)}
		}
		if out != nil {
			p.Output = portaudio.StreamDeviceParameters{Device: out.info, Channels: outCh, Latency: lat(*out, Output)}
		}
		p.SampleRate = float64(s.rate)
		p.FramesPerBuffer = s.block
		return p
	}
	// Mono if the device takes it, else its first two channels.
	pick := func(in, out *Device) (int, int, error) {
		var err error
		for _, ch := range []int{1, 2} {
			ic, oc := ch, ch
			if in == nil {
				ic = 0
			}
			if out == nil {
				oc = 0
			}
			err = portaudio.IsFormatSupported(params(in, out, ic, oc), b.callback)
			if err == nil {
				return ic, oc, nil
			}
		}
		return 0, 0, err
	}
	openOne := func(in, out *Device) error {
		ic, oc, err := pick(in, out)
		if err != nil {
			return fmt.Errorf("%s: %d Hz mono or stereo refused: %w", describe(in, out), s.rate, err)
		}
		var st *portaudio.Stream
		err = withTimeout(10*time.Second, "open "+describe(in, out), func() error {
			return quietStderr(func() error {
				var err error
				st, err = portaudio.OpenStream(params(in, out, ic, oc), b.callback)
				return err
			})
		})
		if err != nil {
			return err
		}
		if in != nil {
			b.inCh = ic
		}
		if out != nil {
			b.outCh = oc
		}
		b.streams = append(b.streams, st)
		if info := st.Info(); info != nil {
			if in != nil {
				b.inLat = info.InputLatency
			}
			if out != nil {
				b.outLat = info.OutputLatency
			}
		}
		return nil
	}
	if in.HostAPI == out.HostAPI && !s.cfg.Separate {
		if err := openOne(&in, &out); err == nil {
			return nil
		}
		// Some host APIs cannot pair two devices in one stream: fall back to two.
		b.closeStreams()
	}
	if err := openOne(&in, nil); err != nil {
		return err
	}
	return openOne(nil, &out)
}

func describe(in, out *Device) string {
	switch {
	case in != nil && out != nil:
		return fmt.Sprintf("input %q + output %q", in.Name, out.Name)
	case in != nil:
		return fmt.Sprintf("input %q", in.Name)
	default:
		return fmt.Sprintf("output %q", out.Name)
	}
}

// resolve finds the device for spec; failing that, a PulseAudio source or sink of that
// name reached through the "pulse" device. It returns the PulseAudio name (or "") and the
// device's native rate.
func resolve(devs []Device, spec string, dir Direction) (Device, string, int, error) {
	d, err := FindDevice(devs, spec, dir)
	if err == nil {
		return d, "", int(d.DefaultSampleRate), nil
	}
	if spec == "" {
		return d, "", 0, err
	}
	pd, perr := FindDevice(devs, "pulse", dir)
	if perr != nil || !strings.EqualFold(pd.Name, "pulse") {
		return d, "", 0, err
	}
	what := "sources"
	if dir == Output {
		what = "sinks"
	}
	pc, cerr := dialPulse(func(any) {})
	if cerr != nil {
		return d, "", 0, err
	}
	defer pc.Close()
	nodes, _, lerr := pulseNodes(pc, dir)
	if lerr != nil {
		return d, "", 0, err
	}
	n, _, ok := matchName(nodes, spec, func(n pulse.Object) (string, string) { return n.Name, n.Description })
	if !ok {
		names := make([]string, len(nodes))
		for i, n := range nodes {
			names[i] = n.Name
		}
		return d, "", 0, fmt.Errorf("%w (PulseAudio %s: %s)", err, what, strings.Join(names, ", "))
	}
	return pd, n.Name, n.Rate, nil
}

// callback runs on PortAudio's audio thread: copy, count, return. No locks, no allocation.
func (b *paBackend) callback(in, out []float32, _ portaudio.StreamCallbackTimeInfo, flags portaudio.StreamCallbackFlags) {
	s := b.s
	s.called()
	if flags&(portaudio.OutputUnderflow|portaudio.OutputOverflow) != 0 {
		s.outputXrun()
	}
	if len(in) > 0 {
		xrun := flags&(portaudio.InputOverflow|portaudio.InputUnderflow) != 0
		for len(in) > 0 {
			mono := in
			if b.inCh > 1 {
				frames := min(len(in)/b.inCh, len(b.inMix))
				for i := 0; i < frames; i++ {
					b.inMix[i] = 0.5 * (in[i*b.inCh] + in[i*b.inCh+1])
				}
				mono, in = b.inMix[:frames], in[frames*b.inCh:]
			} else {
				in = nil
			}
			s.capture(mono, xrun)
			xrun = false
		}
	}
	if len(out) > 0 {
		gap := false
		for len(out) > 0 {
			var mono []float32
			frames := len(out)
			if b.outCh > 1 {
				frames = min(len(out)/b.outCh, len(b.outMix))
				mono = b.outMix[:frames]
			} else {
				mono = out
			}
			if s.render(mono) {
				gap = true
			}
			if b.outCh > 1 {
				for i, v := range mono {
					for c := 0; c < b.outCh; c++ {
						out[i*b.outCh+c] = v
					}
				}
				out = out[frames*b.outCh:]
			} else {
				out = nil
			}
		}
		if gap {
			s.outputXrun()
		}
	}
}

func (b *paBackend) latency() (in, out time.Duration) { return b.inLat, b.outLat }

// start starts the PortAudio streams, with a timeout.
func (b *paBackend) start() error {
	for _, st := range b.streams {
		if err := withTimeout(10*time.Second, "start the audio device", st.Start); err != nil {
			return err
		}
		b.started = true
	}
	return nil
}

func (b *paBackend) closeStreams() {
	for _, st := range b.streams {
		if b.started {
			_ = withTimeout(3*time.Second, "stop", st.Abort)
		}
		_ = withTimeout(3*time.Second, "close", st.Close)
	}
	b.streams = nil
	b.started = false
}

// close stops and closes the streams and releases PortAudio.
func (b *paBackend) close() {
	b.closeStreams()
	_ = Terminate()
}
