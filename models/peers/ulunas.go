package peers

import (
	"github.com/restoregrad/restoregrad/dsp/spectral"
	"github.com/restoregrad/restoregrad/models/ort"
)

// ULUNAS is the format of UL-UNAS's streaming export (Xiaobin-Rong/ul-unas,
// ulunas_onnx/stream, ulunas_stream_simple.onnx): 16 kHz, 512-point STFT, hop 256, a plain
// periodic Hann window (torch.hann_window(512)) for analysis and synthesis, and three
// flattened caches.
func ULUNAS() Format {
	return Format{
		Name:     "ulunas",
		About:    "UL-UNAS stream export: caches conv_cache, tfa_cache, inter_cache; 16 kHz, STFT 512/256, periodic Hann window",
		Rate:     16000,
		FrameLen: 512,
		Hop:      256,
		Window:   spectral.Hann,
		Caches: []ort.Port{
			{Name: "conv_cache", Shape: []int64{1, 5358}},
			{Name: "tfa_cache", Shape: []int64{1, 402}},
			{Name: "inter_cache", Shape: []int64{1, 1056}},
		},
	}
}
