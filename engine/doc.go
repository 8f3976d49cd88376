// Package engine runs the denoising pipeline on []float32 audio at the model's rate:
// offline chunking with overlap-add, streaming frame processing, step-count control,
// bypass with cross-fade, and latency and real-time-factor accounting (with a passthrough
// frame processor that tests the audio path without a model).
package engine
