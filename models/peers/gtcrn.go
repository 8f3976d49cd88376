package peers

import (
	"github.com/restoregrad/restoregrad/dsp/spectral"
	"github.com/restoregrad/restoregrad/models/ort"
)

// GTCRN is the format of GTCRN's streaming export (Rong et al., ICASSP 2024; the stream/
// folder of Xiaobin-Rong/gtcrn, gtcrn_simple.onnx): an ultra-light denoiser at 16 kHz,
// 512-point STFT, hop 256, square-root periodic Hann window, three caches. Its DNS3 and
// VCTK weights share this format.
func GTCRN() Format {
	return Format{
		Name:     "gtcrn",
		About:    "GTCRN stream export (DNS3 or VCTK weights): caches conv_cache, tra_cache, inter_cache; 16 kHz, STFT 512/256, square-root periodic Hann window",
		Rate:     16000,
		FrameLen: 512,
		Hop:      256,
		Window:   spectral.SqrtHann,
		Caches: []ort.Port{
			{Name: "conv_cache", Shape: []int64{2, 1, 16, 16, 33}},
			{Name: "tra_cache", Shape: []int64{2, 3, 1, 1, 16}},
			{Name: "inter_cache", Shape: []int64{2, 1, 33, 16}},
		},
	}
}
