package ort

import (
	"fmt"

	onnx "github.com/yalue/onnxruntime_go"
)

// GraphPorts reads an ONNX graph's inputs and outputs, in graph order: names and shapes
// (-1 for a symbolic dimension), whatever their element type. It lets a loader that
// accepts several kinds of graph say what a graph it does not know has. Init must have
// been called.
func GraphPorts(model []byte) (inputs, outputs []Port, err error) {
	gin, gout, err := onnx.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return nil, nil, fmt.Errorf("read graph inputs and outputs: %w", err)
	}
	ports := func(infos []onnx.InputOutputInfo) []Port {
		p := make([]Port, len(infos))
		for i, g := range infos {
			p[i] = Port{Name: g.Name, Shape: append([]int64(nil), g.Dimensions...)}
		}
		return p
	}
	return ports(gin), ports(gout), nil
}
