package main

import (
	"fmt"
	"strings"

	"github.com/restoregrad/restoregrad/models/ort"
	"github.com/restoregrad/restoregrad/models/peers"
)

// peerHelp is the --peer flag's help, shared by eval and bench: what NAME and PATH are and
// the streaming formats a PATH may have, from peers.Formats.
var peerHelp = func() string {
	var b strings.Builder
	b.WriteString("NAME=PATH (repeatable): the streaming ONNX graph at PATH, shown as NAME. Its format is told\n" +
		"from the graph's inputs and outputs, whatever NAME says: one STFT frame (mix) and caches in,\n" +
		"the enhanced frame (enh) and the caches out. Known formats:")
	for _, f := range peers.Formats() {
		fmt.Fprintf(&b, "\n  %s: %s", f.Name, f.About)
	}
	b.WriteString("\ne.g. gtcrn=../shared/peers/gtcrn/gtcrn_simple.onnx, ulunas=../shared/peers/ulunas/ulunas_stream_simple.onnx")
	return b.String()
}()

// openPeer opens a peer enhancer given as --peer NAME=PATH and returns its name.
func openPeer(spec string, opt ort.Options) (string, *peers.Model, error) {
	name, path, err := splitNameValue("peer", spec)
	if err != nil {
		return "", nil, err
	}
	m, err := peers.Open(path, opt)
	if err != nil {
		return "", nil, fmt.Errorf("peer %s: %w", name, err)
	}
	return name, m, nil
}
