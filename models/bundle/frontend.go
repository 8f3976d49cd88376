package bundle

import (
	"fmt"

	"github.com/restoregrad/restoregrad/dsp/spectral"
)

// FrontEnd returns the analysis/synthesis of an STFT-domain bundle (models/BUNDLE.md,
// "Schema 2"): the sqrt-Hann STFT with the contract's framing and compression. Its frames
// are frame-major rows of [2][F] values, the sampler's layout; the graphs see [1, 2, T, F].
// The result is not safe for concurrent use.
func (m *Manifest) FrontEnd() (*spectral.CompressedSTFT, error) {
	if !m.IsSTFT() || m.STFT == nil {
		return nil, fmt.Errorf("model %s is not an STFT-domain bundle", m.Name)
	}
	st := m.STFT
	s, err := spectral.NewSTFT(st.NFFT, st.Hop, spectral.SqrtHann(st.NFFT))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.Name, err)
	}
	c, err := spectral.NewCompressedSTFT(s, st.Compress, st.Scale)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.Name, err)
	}
	return c, nil
}
