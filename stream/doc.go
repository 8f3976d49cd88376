// Package stream moves live audio between sound devices and the denoising engine: device
// input and output through one of two backends, lock-free rings between the audio side and
// a worker goroutine, device-rate ↔ model-rate conversion, xrun counters, and the listing of
// the devices (WriteDevices).
// (Virtual devices live in stream/pulse, the rings in stream/ring, the supervised live
// session of the live and virtual-mic commands in stream/session.)
//
// The backends: PulseAudio's native protocol (pure Go, used when a PulseAudio or
// pipewire-pulse server answers and the devices are its sources and sinks), and PortAudio
// (ALSA, JACK, or PulseAudio through ALSA's pulse plugin) otherwise; see Config.Backend.
//
// The audio side (PortAudio's callback, the PulseAudio connections' reader goroutines)
// only copies samples to and from the rings and counts xruns in atomics: it takes no locks,
// allocates nothing, logs nothing and never calls the model. Everything else, resampling
// and the engine included, runs in the worker (Stream.Run).
package stream
