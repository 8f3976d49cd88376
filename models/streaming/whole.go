package streaming

import (
	"github.com/restoregrad/restoregrad/models"
	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/ort"
)

// OpenWhole opens a streaming bundle's whole-signal graphs (`denoiser`, `prior`: the
// offline contract) as an offline model, for file enhancement and for checking that the
// frame-by-frame run equals the whole-file run.
func OpenWhole(b *bundle.Bundle, opt ort.Options) (*models.Model, error) {
	if _, err := ParseContract(&b.Manifest); err != nil {
		return nil, err
	}
	off := *b
	off.Manifest.Kind = bundle.KindOffline
	return models.Open(&off, opt)
}
