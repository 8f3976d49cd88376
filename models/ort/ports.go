package ort

import (
	"errors"
	"fmt"
	"strings"

	onnx "github.com/yalue/onnxruntime_go"
)

// Port is a float32 tensor a caller expects a graph to have: its name and shape, -1 marking
// a dimension of any size.
type Port struct {
	Name  string
	Shape []int64
}

// CheckPorts reads an ONNX graph's inputs and outputs and reports every way they differ
// from the expected ones: a missing or unexpected name, a rank, a fixed size, or an element
// type other than float32. Sessions only notice a wrong name when they first run, so model
// loaders call this to fail at load time. Init must have been called.
func CheckPorts(model []byte, inputs, outputs []Port) error {
	gin, gout, err := onnx.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return fmt.Errorf("read graph inputs and outputs: %w", err)
	}
	problems := append(comparePorts("input", gin, inputs), comparePorts("output", gout, outputs)...)
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; ")) // one line, for the CLI
}

func comparePorts(kind string, graph []onnx.InputOutputInfo, want []Port) []string {
	var errs []string
	have := map[string]onnx.InputOutputInfo{}
	var names []string
	for _, g := range graph {
		have[g.Name] = g
		names = append(names, g.Name)
	}
	for _, w := range want {
		g, ok := have[w.Name]
		if !ok {
			errs = append(errs, fmt.Sprintf("graph has no %s %q (its %ss: %q)", kind, w.Name, kind, names))
			continue
		}
		delete(have, w.Name)
		if g.OrtValueType != onnx.ONNXTypeTensor || g.DataType != onnx.TensorElementDataTypeFloat {
			errs = append(errs, fmt.Sprintf("%s %q is %s, want a float32 tensor", kind, w.Name, g.String()))
			continue
		}
		if !shapeFits(g.Dimensions, w.Shape) {
			errs = append(errs, fmt.Sprintf("%s %q has shape %v, want %v", kind, w.Name, []int64(g.Dimensions), w.Shape))
		}
	}
	for _, n := range names {
		if _, extra := have[n]; extra {
			errs = append(errs, fmt.Sprintf("graph %s %q is not in the manifest", kind, n))
		}
	}
	return errs
}

// shapeFits reports whether a graph's dims (symbolic ones are -1) can hold the wanted shape:
// same rank, and equal sizes wherever both are fixed.
func shapeFits(graph onnx.Shape, want []int64) bool {
	if len(graph) != len(want) {
		return false
	}
	for i, g := range graph {
		if g >= 0 && want[i] >= 0 && g != want[i] {
			return false
		}
	}
	return true
}
