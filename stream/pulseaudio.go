package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jfreymuth/pulse/proto"

	"github.com/restoregrad/restoregrad/stream/pulse"
)

// The PulseAudio backend talks the server's native protocol over two stream/pulse
// connections: one carries a record stream from the source, the other a playback stream
// to the sink. Each connection's reader goroutine is this backend's audio
// side: a data packet from the record stream is converted and written to the input ring;
// a request from the playback stream is answered at once from the output ring (zeros where
// it runs dry). Neither takes a lock of ours, allocates, logs or calls the model; the only
// shared resource is the connection's socket write.
//
// Going direct, rather than PortAudio → ALSA → the pulse plugin, lets the stream ask the
// server for its buffer attributes (capture fragments of one block, a playback target of
// a few blocks) and keeps the extra periods, poll loops and restarts of the ALSA layers
// out of the path.

// Default PulseAudio buffering, used when Config.DeviceLatency is 0.
const (
	pulseCaptureLatency = 10 * time.Millisecond // fragsize: the server sends input this often
	// tlength with ADJUST_LATENCY: sink latency + the server-side queue. 30 ms (40 until
	// issue 24 item 15): the stalls the margin is for come on a busy machine, where the busy
	// cushion adds its own (docs/live-internals.md#latency).
	pulsePlaybackLatency = 30 * time.Millisecond
)

// dialPulse connects to the server for one direction of the stream. Messages from the
// server go to handle, on the connection's reader goroutine, which its socket in blocking
// mode lets a real-time thread wait on (pulse.Options.Blocking). No server is errNotPulse,
// so that BackendAuto tries PortAudio.
func dialPulse(handle func(msg any)) (*pulse.Conn, error) {
	pc, err := pulse.Dial(context.Background(), pulse.Options{Handle: handle, Blocking: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotPulse, err)
	}
	return pc, nil
}

// pulseNodes lists the sources (input) or sinks (output) and says which is the default.
func pulseNodes(pc *pulse.Conn, dir Direction) ([]pulse.Object, string, error) {
	info, err := pc.Info()
	if err != nil {
		return nil, "", err
	}
	if dir == Input {
		nodes, err := pc.Sources()
		return nodes, info.DefaultSource, err
	}
	nodes, err := pc.Sinks()
	return nodes, info.DefaultSink, err
}

// findPulseNode picks the node for spec: "" is the default; otherwise a name or description
// as matchName finds it. A number is never a PulseAudio node (it is a PortAudio device
// index).
func findPulseNode(nodes []pulse.Object, def, spec string, dir Direction) (pulse.Object, error) {
	if spec == "" {
		spec = def
		if spec == "" {
			return pulse.Object{}, fmt.Errorf("%w: the PulseAudio server has no default %s", errNotPulse, dir)
		}
	}
	if _, err := strconv.Atoi(spec); err == nil {
		return pulse.Object{}, fmt.Errorf("%w: %q is a device index", errNotPulse, spec)
	}
	what := "sources"
	if dir == Output {
		what = "sinks"
	}
	n, match, ok := matchName(nodes, spec, func(n pulse.Object) (string, string) { return n.Name, n.Description })
	if ok {
		return n, nil
	}
	list := func(ns []pulse.Object) string {
		s := make([]string, len(ns))
		for i, n := range ns {
			s[i] = n.Name
		}
		return strings.Join(s, ", ")
	}
	var err error
	if len(match) == 0 {
		err = fmt.Errorf("%w: no PulseAudio %s matches %q (%s: %s)", ErrNoDevice, strings.TrimSuffix(what, "s"), spec, what, list(nodes))
	} else {
		err = fmt.Errorf("%w: %q matches several PulseAudio %s: %s", ErrNoDevice, spec, what, list(match))
	}
	return pulse.Object{}, notPulse(err)
}

// notPulse marks err, a device error, as errNotPulse (so that BackendAuto tries PortAudio)
// without changing what it says after the mark; withoutNotPulse undoes it.
func notPulse(err error) error { return fmt.Errorf("%w: %w", errNotPulse, err) }

func withoutNotPulse(err error) error {
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		if es := m.Unwrap(); len(es) == 2 && es[0] == errNotPulse {
			return es[1]
		}
	}
	return err
}

// ErrFeedback is wrapped by the error of opening a stream whose input would record its
// own output.
var ErrFeedback = errors.New("the input would record our own output (a feedback loop)")

// feedsBack says whether recording src would record our own output: src is the monitor of
// sink or one of avoid, or a source remapped from one (module-remap-source's
// device.master_device, followed a few levels through sources).
func feedsBack(src pulse.Object, sources []pulse.Object, sink string, avoid []string) bool {
	for range 4 {
		if src.Name == sink+".monitor" || slices.Contains(avoid, src.Name) {
			return true
		}
		master, ok := pulse.Find(sources, src.Properties["device.master_device"])
		if !ok {
			return false
		}
		src = master
	}
	return false
}

// withOurs is avoid and every source of a virtual microphone of ours, whatever its name:
// the remap sources (tagged) and the monitors of the tagged sinks.
func withOurs(avoid []string, sources, sinks []pulse.Object) []string {
	out := slices.Clone(avoid)
	for _, src := range sources {
		if pulse.IsOurs(src) {
			out = append(out, src.Name)
		}
	}
	for _, sink := range sinks {
		if pulse.IsOurs(sink) {
			out = append(out, sink.Name+".monitor")
		}
	}
	return out
}

// isMonitor says whether a source is a sink's monitor.
func isMonitor(src pulse.Object) bool {
	return src.Properties["device.class"] == "monitor" || strings.HasSuffix(src.Name, ".monitor")
}

// findPulseSource picks the source for spec as findPulseNode does, and refuses one that
// would record our own output. The server's default source is skipped when it would (a
// desktop may make the virtual microphone the default, as WirePlumber does on its own):
// then the real microphone is taken, the first source that is not a monitor and does not
// feed back, else a monitor of neither the output nor the default sink (a test server's
// "microphone").
func findPulseSource(sources []pulse.Object, def, spec, sink, defSink string, avoid []string) (pulse.Object, error) {
	if spec == sink+".monitor" || slices.Contains(avoid, spec) { // also before it exists
		return pulse.Object{}, fmt.Errorf("%w: --input %q is ours; pick the real microphone", ErrFeedback, spec)
	}
	if spec == "" {
		if d, ok := pulse.Find(sources, def); ok && feedsBack(d, sources, sink, avoid) {
			var monitor *pulse.Object
			for i, src := range sources {
				switch {
				case feedsBack(src, sources, sink, avoid):
				case !isMonitor(src):
					return src, nil
				case monitor == nil && src.Name != defSink+".monitor":
					monitor = &sources[i]
				}
			}
			if monitor != nil {
				return *monitor, nil
			}
			return pulse.Object{}, fmt.Errorf("%w: the server's default source is %s, and no other source is a microphone; pick one with --input", ErrFeedback, def)
		}
	}
	src, err := findPulseNode(sources, def, spec, Input)
	if err != nil {
		return src, err
	}
	if feedsBack(src, sources, sink, avoid) {
		if spec == "" {
			return src, fmt.Errorf("%w: the server's default source is %s; pick the real microphone with --input", ErrFeedback, src.Name)
		}
		return src, fmt.Errorf("%w: --input %q is %s; pick the real microphone", ErrFeedback, spec, src.Name)
	}
	return src, nil
}

// ResolvePulseInput says which PulseAudio source a stream with cfg's Input and Avoid would
// record from when playing into sink, without opening anything: an error wrapping
// ErrNoDevice or ErrFeedback is a mistake in the configuration; one wrapping ErrNoServer
// means no server answered.
func ResolvePulseInput(cfg Config, sink string) (string, error) {
	pc, err := pulse.Dial(context.Background(), pulse.Options{})
	if err != nil {
		return "", err
	}
	defer pc.Close()
	info, err := pc.Info()
	if err != nil {
		return "", err
	}
	sources, err := pc.Sources()
	if err != nil {
		return "", err
	}
	sinks, err := pc.Sinks()
	if err != nil {
		return "", err
	}
	src, err := findPulseSource(sources, info.DefaultSource, cfg.Input, sink, info.DefaultSink, withOurs(cfg.Avoid, sources, sinks))
	if err != nil {
		return "", withoutNotPulse(err)
	}
	return src.Name, nil
}

// pulseBackend is the native PulseAudio backend.
type pulseBackend struct {
	s             *Stream
	inc, outc     *pulse.Conn
	rec, play     uint32 // stream indices
	inMono        []float32
	outMono       []float32
	outBytes      []byte
	requested     atomic.Int64 // samples the server asked for in all, from creation on
	written       atomic.Int64 // samples sent
	pumping       atomic.Bool  // a goroutine is in send
	carry         [4]byte
	carried       int
	inLat, outLat time.Duration
	inRT, outRT   bool // the reader goroutines asked for real-time scheduling
	srcName       string
	sinkName      string
	lost          atomic.Pointer[error] // set once when a device goes away
	// What the server reports, refreshed by watchLatency: each side's device latency
	// plus what waits in the server's buffer for it (ns; 0 until the first answer).
	measuredIn, measuredOut atomic.Int64
	sinkLat                 atomic.Int64 // the sink's own latency, ns
	stopWatch               chan struct{}
}

// openPulse connects to the server, resolves the source and sink and creates corked record
// and playback streams. Its errors wrap errNotPulse when there is no server or the names
// are not PulseAudio devices.
func openPulse(s *Stream) (backend, error) {
	b := &pulseBackend{s: s, rec: proto.Undefined, play: proto.Undefined}
	var err error
	if b.inc, err = dialPulse(b.onInput); err != nil {
		return nil, err
	}
	if err := b.open(); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *pulseBackend) open() error {
	s := b.s
	sinks, defSink, err := pulseNodes(b.inc, Output)
	if err != nil {
		return err
	}
	sink, err := findPulseNode(sinks, defSink, s.cfg.Output, Output)
	if err != nil {
		return err
	}
	sources, defSource, err := pulseNodes(b.inc, Input)
	if err != nil {
		return err
	}
	src, err := findPulseSource(sources, defSource, s.cfg.Input, sink.Name, defSink, withOurs(s.cfg.Avoid, sources, sinks))
	if err != nil {
		return err
	}
	rate := s.cfg.SampleRate
	if rate == 0 {
		rate = src.Rate
	}
	if rate == 0 {
		rate = sink.Rate
	}
	if err := s.setup(rate); err != nil {
		return err
	}
	b.srcName, b.sinkName = src.Name, sink.Name
	s.resolved(Device{Index: -1, Name: src.Name, HostAPI: "PulseAudio", MaxInputChannels: src.Channels, DefaultSampleRate: float64(src.Rate)},
		Device{Index: -1, Name: sink.Name, HostAPI: "PulseAudio", MaxOutputChannels: sink.Channels, DefaultSampleRate: float64(sink.Rate)},
		src.Name, sink.Name)

	bytesOf := func(d time.Duration) uint32 { return 4 * uint32(math.Round(d.Seconds()*float64(rate))) }
	spec := proto.SampleSpec{Format: proto.FormatFloat32LE, Channels: 1, Rate: uint32(rate)}
	capture, playback := pulseCaptureLatency, pulsePlaybackLatency
	if d := s.cfg.DeviceLatency; d > 0 {
		capture, playback = d, 3*d
	}
	capture = max(capture, s.cfg.Block)

	// Record: fragments of one block; with ADJUST_LATENCY the server sets the source's
	// latency to match, so input arrives every block.
	recReq := proto.CreateRecordStream{
		SampleSpec:         spec,
		ChannelMap:         proto.ChannelMap{proto.ChannelMono},
		SourceIndex:        proto.Undefined,
		SourceName:         src.Name,
		BufferMaxLength:    proto.Undefined,
		Corked:             true,
		BufferFragSize:     bytesOf(capture),
		AdjustLatency:      true,
		DirectOnInputIndex: proto.Undefined,
		// Never moved to another source when this one goes away (it could be our own
		// output's monitor): the server kills the stream and Run reports the loss.
		NoMove:         true,
		Properties:     proto.PropList{"media.name": proto.PropListString("RestoreGrad input"), "media.role": proto.PropListString("phone")},
		ChannelVolumes: proto.ChannelVolumes{0x10000},
	}
	var recRep proto.CreateRecordStreamReply
	if err := b.inc.Request(&recReq, &recRep); err != nil {
		return fmt.Errorf("PulseAudio: record from %s: %w", src.Name, err)
	}
	b.rec = recRep.StreamIndex
	b.inLat = time.Duration(recRep.SourceLatency)*time.Microsecond + time.Duration(float64(recRep.BufferFragSize)/4/float64(rate)*float64(time.Second))
	b.inMono = make([]float32, max(int(recRep.BufferFragSize)/4, 4*s.block))

	// Playback on its own connection, so that its requests are answered by a goroutine
	// that is never busy with input. tlength is the whole output latency (ADJUST_LATENCY:
	// the server splits it between the sink and our queue), minreq half a block so that
	// it asks for data often, prebuf one minreq so that playback starts (and restarts
	// after an underrun) without waiting for a full buffer.
	if b.outc, err = dialPulse(b.onOutput); err != nil {
		return err
	}
	minreq := bytesOf(s.cfg.Block / 2)
	playReq := proto.CreatePlaybackStream{
		SampleSpec:            spec,
		ChannelMap:            proto.ChannelMap{proto.ChannelMono},
		SinkIndex:             proto.Undefined,
		SinkName:              sink.Name,
		BufferMaxLength:       proto.Undefined, // the server's default (seconds): never drop what we send
		Corked:                true,
		BufferTargetLength:    bytesOf(playback),
		BufferPrebufferLength: minreq,
		BufferMinimumRequest:  minreq,
		SyncID:                proto.Undefined,
		ChannelVolumes:        proto.ChannelVolumes{0x10000},
		AdjustLatency:         true,
		NoMove:                true,
		Properties:            proto.PropList{"media.name": proto.PropListString("RestoreGrad output"), "media.role": proto.PropListString("phone")},
	}
	var playRep proto.CreatePlaybackStreamReply
	if err := b.outc.Request(&playReq, &playRep); err != nil {
		return fmt.Errorf("PulseAudio: play to %s: %w", sink.Name, err)
	}
	b.play = playRep.StreamIndex
	if s.cfg.FreshSink {
		for _, suspend := range []bool{true, false} {
			if err := b.outc.Request(&proto.SuspendSink{SinkIndex: proto.Undefined, SinkName: sink.Name, Suspend: suspend}, nil); err != nil {
				return fmt.Errorf("PulseAudio: restart %s: %w", sink.Name, err)
			}
		}
	}
	b.outLat = time.Duration(playRep.SinkLatency)*time.Microsecond + time.Duration(float64(playRep.BufferTargetLength)/4/float64(rate)*float64(time.Second))
	b.requested.Store(int64(playRep.Missing / 4))
	n := max(int(playRep.BufferTargetLength), int(playRep.Missing), int(bytesOf(time.Second))) / 4
	b.outMono = make([]float32, n)
	b.outBytes = make([]byte, 4*n)
	return nil
}

// ErrDeviceLost is wrapped by Run's error when a device went away or the sound server
// closed the connection.
var ErrDeviceLost = errors.New("audio device lost")

// setLost records the first loss; Run returns it.
func (b *pulseBackend) setLost(format string, args ...any) {
	err := fmt.Errorf("%w: "+format, append([]any{ErrDeviceLost}, args...)...)
	b.lost.CompareAndSwap(nil, &err)
}

// failure reports a lost device or connection, or nil.
func (b *pulseBackend) failure() error {
	if e := b.lost.Load(); e != nil {
		return *e
	}
	if b.inc.Closed() || (b.outc != nil && b.outc.Closed()) {
		return fmt.Errorf("%w: the PulseAudio server closed the connection (restarted or stopped?)", ErrDeviceLost)
	}
	return nil
}

// onInput runs on the input connection's reader goroutine: the audio side of capture.
func (b *pulseBackend) onInput(msg any) {
	p, ok := msg.(*proto.DataPacket)
	if !ok {
		switch m := msg.(type) {
		case *proto.RecordStreamKilled:
			if m.StreamIndex == b.rec {
				b.setLost("the input %s went away", b.srcName)
			}
		case *proto.RecordStreamMoved: // a server that ignores NoMove (PipeWire may)
			if m.StreamIndex == b.rec && m.DestName != b.srcName {
				b.setLost("the server moved the input from %s to %s", b.srcName, m.DestName)
			}
		}
		return
	}
	if p.StreamIndex != b.rec {
		return
	}
	b.s.audioThread(&b.inRT)
	data := p.Data
	s := b.s
	if b.carried > 0 { // a sample split across packets (the server sends whole frames; in case)
		k := copy(b.carry[b.carried:], data)
		b.carried += k
		data = data[k:]
		if b.carried == 4 {
			b.inMono[0] = math.Float32frombits(binary.LittleEndian.Uint32(b.carry[:]))
			s.capture(b.inMono[:1], false)
			b.carried = 0
		}
	}
	for len(data) >= 4 {
		n := min(len(data)/4, len(b.inMono))
		for i := range n {
			b.inMono[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		s.capture(b.inMono[:n], false)
		data = data[4*n:]
	}
	b.carried = copy(b.carry[:], data)
	s.called()
}

// onOutput runs on the output connection's reader goroutine: the server asks for data.
func (b *pulseBackend) onOutput(msg any) {
	switch m := msg.(type) {
	case *proto.Request:
		if m.StreamIndex != b.play {
			return
		}
		b.s.audioThread(&b.outRT)
		b.requested.Add(int64(m.Length / 4))
		b.pump()
		b.s.called()
	case *proto.Underflow:
		if m.StreamIndex == b.play && b.s.outputStarted() {
			b.s.outputXrun()
		}
	case *proto.PlaybackStreamKilled:
		if m.StreamIndex == b.play {
			b.setLost("the output %s went away", b.sinkName)
		}
	case *proto.PlaybackStreamMoved:
		if m.StreamIndex == b.play && m.DestName != b.sinkName {
			b.setLost("the server moved the output from %s to %s", b.sinkName, m.DestName)
		}
	}
}

// push is called by the worker after it queued output.
func (b *pulseBackend) push() { b.pump() }

// queued is how much audio the server holds beyond its target (tlength): what was sent
// but not yet asked for.
func (b *pulseBackend) queued() int { return int(max(0, b.written.Load()-b.requested.Load())) }

// pump moves audio from the output ring to the server. Before the worker's first output it
// answers the server's requests, with silence where the ring has nothing. After that it
// sends whatever the worker queued at once, so that the margin against stalls of this
// process lies in the server's buffer, which keeps playing while we are descheduled, not
// in our ring, which would stall with us. The worker (push) and the connection's reader
// (requests) both call pump; an atomic flag lets one in at a time (the other returns at
// once, never waits), and the one leaving re-checks so that nothing is left behind.
func (b *pulseBackend) pump() {
	for b.pumping.CompareAndSwap(false, true) {
		b.send()
		b.pumping.Store(false)
		if !b.pending() {
			return
		}
	}
}

func (b *pulseBackend) pending() bool {
	if !b.s.outputStarted() {
		return b.requested.Load() > b.written.Load()
	}
	return b.s.outputWaiting() > 0
}

// send runs inside pump only (one goroutine at a time): it is the output ring's reader.
func (b *pulseBackend) send() {
	s := b.s
	for {
		var n int
		if !s.outputStarted() {
			n = int(min(b.requested.Load()-b.written.Load(), int64(len(b.outMono))))
			if n <= 0 {
				return
			}
			s.render(b.outMono[:n])
		} else if n = s.drain(b.outMono); n == 0 {
			return
		}
		for i, v := range b.outMono[:n] {
			binary.LittleEndian.PutUint32(b.outBytes[4*i:], math.Float32bits(v))
		}
		if b.outc.Send(b.play, b.outBytes[:4*n]) != nil {
			return
		}
		b.written.Add(int64(n))
	}
}

func (b *pulseBackend) latency() (in, out time.Duration) { return b.inLat, b.outLat }

// measuredLatency is what the server last reported: the source's latency (and, for a
// monitor, its sink's) plus what waits for us in the record buffer; the sink's latency
// plus what waits in our playback buffer. sink is the sink's own part of out.
func (b *pulseBackend) measuredLatency() (in, out, sink time.Duration, ok bool) {
	i, o := b.measuredIn.Load(), b.measuredOut.Load()
	return time.Duration(i), time.Duration(o), time.Duration(b.sinkLat.Load()), i > 0 && o > 0
}

// latencyEvery is how often the server is asked for the streams' latencies.
const latencyEvery = 250 * time.Millisecond

// watchLatency asks the server for both streams' latencies until stop closes. It runs on
// its own goroutine: the requests wait for the server, the audio side never does.
func (b *pulseBackend) watchLatency(stop chan struct{}) {
	perSample := float64(time.Second) / float64(b.s.rate) / 4 // ns per byte of mono float32
	tick := time.NewTicker(latencyEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var rec proto.GetRecordLatencyReply
		if b.inc.Request(&proto.GetRecordLatency{StreamIndex: b.rec}, &rec) == nil {
			d := int64(rec.Latency+rec.MonitorLatency)*int64(time.Microsecond) + int64(float64(max(0, rec.WriteIndex-rec.ReadIndex))*perSample)
			b.measuredIn.Store(max(d, 1))
		}
		var play proto.GetPlaybackLatencyReply
		if b.outc.Request(&proto.GetPlaybackLatency{StreamIndex: b.play}, &play) == nil {
			sink := int64(play.Latency) * int64(time.Microsecond)
			d := sink + int64(float64(max(0, play.WriteIndex-play.ReadIndex))*perSample)
			b.sinkLat.Store(sink)
			b.measuredOut.Store(max(d, 1))
		}
	}
}

// start fills the playback buffer with the silence the server asked for at creation and
// uncorks both streams.
func (b *pulseBackend) start() error {
	b.pump()
	if err := b.inc.Request(&proto.CorkRecordStream{StreamIndex: b.rec, Corked: false}, nil); err != nil {
		return fmt.Errorf("PulseAudio: start recording: %w", err)
	}
	if err := b.outc.Request(&proto.CorkPlaybackStream{StreamIndex: b.play, Corked: false}, nil); err != nil {
		return fmt.Errorf("PulseAudio: start playback: %w", err)
	}
	b.stopWatch = make(chan struct{})
	go b.watchLatency(b.stopWatch)
	return nil
}

// close deletes the streams (briefly waiting for the server) and closes the connections.
func (b *pulseBackend) close() {
	if b.stopWatch != nil {
		close(b.stopWatch)
	}
	for _, x := range []struct {
		pc  *pulse.Conn
		req proto.RequestArgs
		idx uint32
	}{
		{b.inc, &proto.DeleteRecordStream{StreamIndex: b.rec}, b.rec},
		{b.outc, &proto.DeletePlaybackStream{StreamIndex: b.play}, b.play},
	} {
		if x.pc == nil {
			continue
		}
		if x.idx != proto.Undefined && !x.pc.Closed() {
			_ = withTimeout(time.Second, "close", func() error { return x.pc.Request(x.req, nil) })
		}
		x.pc.Close()
	}
}
