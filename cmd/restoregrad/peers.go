package main

import (
	"fmt"
	"strings"

	"github.com/restoregrad/restoregrad/models/gtcrn"
	"github.com/restoregrad/restoregrad/models/ort"
)

// peerHelp is the --peer flag's help, shared by eval and bench.
const peerHelp = "NAME=PATH; known: gtcrn=gtcrn_simple.onnx (repeatable)"

// openPeer opens a peer enhancer given as --peer NAME=PATH and returns its name.
func openPeer(spec string, opt ort.Options) (string, *gtcrn.Model, error) {
	name, path, err := splitNameValue("peer", spec)
	if err != nil {
		return "", nil, err
	}
	if strings.ToLower(name) != "gtcrn" {
		return "", nil, fmt.Errorf("peer %s: unknown (known peers: gtcrn)", name)
	}
	g, err := gtcrn.Open(path, opt)
	if err != nil {
		return "", nil, fmt.Errorf("peer %s: %w", name, err)
	}
	return name, g, nil
}
