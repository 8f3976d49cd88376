// Package network loads one of a bundle's ONNX graphs into an ONNX Runtime session, after
// checking the graph against its manifest entry: the one way the offline model and the
// streaming processor open their networks.
package network

import (
	"fmt"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/ort"
)

// Open loads network name of b. The graph must have exactly the inputs and outputs its
// manifest entry lists (names, ranks, fixed sizes, float32), so that a mismatch fails when
// the bundle loads rather than on the first file; the error names the bundle and the graph.
func Open(b *bundle.Bundle, name string, opt ort.Options) (*ort.Session, error) {
	data, n, err := b.Network(name)
	if err != nil {
		return nil, err
	}
	if err := ort.Init(""); err != nil {
		return nil, err
	}
	ports := func(ts []bundle.TensorSpec) []ort.Port {
		p := make([]ort.Port, len(ts))
		for i, t := range ts {
			p[i] = ort.Port{Name: t.Name, Shape: t.Shape}
		}
		return p
	}
	if err := ort.CheckPorts(data, ports(n.Inputs), ports(n.Outputs)); err != nil {
		return nil, fmt.Errorf("model %s: %s does not match manifest.json: %w", b.Source, n.File, err)
	}
	s, err := ort.NewSession(b.Source+"/"+n.File, data, n.InputNames(), n.OutputNames(), opt)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", b.Manifest.Name, err)
	}
	return s, nil
}
