// Package zoo finds model bundles: the ones shipped inside the binary (this folder,
// embedded at build time), the user's own in a models folder, or a bundle folder by path,
// and lists them with their model cards (WriteTable, WriteCard).
package zoo

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/restoregrad/restoregrad/models/bundle"
)

// shipped holds every bundle folder beside this file: manifest, graphs and card (the
// golden/ parity tensors stay on disk for the tests).
//
//go:embed */manifest.json */*.onnx */CARD.md
var shipped embed.FS

// Default bundle names.
const (
	DefaultOffline   = "restoregrad-offline"
	DefaultStreaming = "restoregrad-rt"
)

// aliases are the short names every command accepts for shipped bundles.
var aliases = map[string]string{"rt": DefaultStreaming}

// Resolve is the bundle name that name stands for: the shipped bundle an alias ("rt")
// names, else name itself. Find resolves aliases; a caller that matches names itself
// (the plugin's model list) calls Resolve.
func Resolve(name string) string {
	if full, ok := aliases[name]; ok {
		return full
	}
	return name
}

// EnvUserDir overrides the folder searched for the user's own bundles.
const EnvUserDir = "RESTOREGRAD_MODELS"

// UserDir is where users put their own bundles: $RESTOREGRAD_MODELS, else
// $XDG_DATA_HOME/restoregrad/models, else ~/.local/share/restoregrad/models.
func UserDir() string {
	if d := os.Getenv(EnvUserDir); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "restoregrad", "models")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".local", "share", "restoregrad", "models")
}

// Entry is one bundle found by List.
type Entry struct {
	Bundle  *bundle.Bundle
	Shipped bool
	Err     error // set when a folder looked like a bundle but failed to load
	Path    string
}

// Shipped returns the embedded bundles, sorted by name.
func Shipped() ([]*bundle.Bundle, error) {
	dirs, err := fs.ReadDir(shipped, ".")
	if err != nil {
		return nil, err
	}
	var out []*bundle.Bundle
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		if _, err := fs.Stat(shipped, d.Name()+"/manifest.json"); err != nil {
			continue
		}
		b, err := bundle.LoadFS(shipped, d.Name(), "shipped:"+d.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Manifest.Name < out[j].Manifest.Name })
	return out, nil
}

// List returns the shipped bundles and those in the user folder.
func List() []Entry {
	var out []Entry
	bs, err := Shipped()
	if err != nil {
		out = append(out, Entry{Shipped: true, Err: err, Path: "shipped"})
	}
	for _, b := range bs {
		out = append(out, Entry{Bundle: b, Shipped: true, Path: b.Source})
	}
	dir := UserDir()
	if dir == "" {
		return out
	}
	dirs, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, d := range dirs {
		p := filepath.Join(dir, d.Name())
		if _, err := os.Stat(filepath.Join(p, "manifest.json")); err != nil {
			continue
		}
		b, err := bundle.Load(p)
		out = append(out, Entry{Bundle: b, Err: err, Path: p})
	}
	return out
}

// IsPath reports whether Find takes spec for a bundle folder's path rather than a name:
// it has a path separator or a leading dot, or it is a folder here with a manifest.
func IsPath(spec string) bool {
	if strings.ContainsRune(spec, os.PathSeparator) || strings.HasPrefix(spec, ".") {
		return true
	}
	st, err := os.Stat(spec)
	if err != nil || !st.IsDir() {
		return false
	}
	_, err = os.Stat(filepath.Join(spec, "manifest.json"))
	return err == nil
}

// Find resolves a model argument: an alias of a shipped bundle (Resolve), a path to a
// bundle folder (anything with a path separator, or an existing folder), a bundle in the
// user folder, or a shipped bundle.
func Find(name string) (*bundle.Bundle, error) {
	if name == "" {
		return nil, errors.New("no model named")
	}
	name = Resolve(name)
	if IsPath(name) {
		return bundle.Load(name)
	}
	if dir := UserDir(); dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(filepath.Join(p, "manifest.json")); err == nil {
			return bundle.Load(p)
		}
	}
	bs, err := Shipped()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, b := range bs {
		if b.Manifest.Name == name {
			return b, nil
		}
		names = append(names, b.Manifest.Name)
	}
	return nil, fmt.Errorf("model %q not found (shipped: %s; user folder: %s; or give a bundle folder's path)",
		name, strings.Join(names, ", "), UserDir())
}
