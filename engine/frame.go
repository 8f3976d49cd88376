package engine

// FrameProcessor denoises a mono stream at the model's sample rate, one fixed-size frame
// per call. The live engine (package stream) drives it from a worker goroutine, never from
// the audio callback.
//
// Process reads exactly FrameSize samples from in and writes exactly FrameSize samples to
// out; out lags in by Latency samples. in and out may not alias. Process must not allocate
// in steady state. SetSteps changes the number of reverse diffusion steps used from the
// next frame on (1 ≤ n ≤ MaxSteps); fewer steps cost less and degrade gracefully. Reset
// forgets all stream state, as at the start of a new utterance.
type FrameProcessor interface {
	SampleRate() int
	FrameSize() int
	Latency() int
	Process(out, in []float32) error
	Steps() int
	MaxSteps() int
	SetSteps(n int) error
	Reset()
}
