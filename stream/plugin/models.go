package plugin

import (
	"slices"
	"strings"
	"sync"

	"github.com/restoregrad/restoregrad/models/bundle"
	"github.com/restoregrad/restoregrad/models/zoo"
)

// MaxSteps bounds the plugin's Steps control: each step keeps one cache set per channel.
// A model with fewer steps offers what it has (models.Options.MaxSteps).
const MaxSteps = 8

// Models are the bundles the plugin's Model control numbers: the shipped streaming ones,
// the default streaming model first (number 0, the control's default), then the others by
// name. Loaded once per process.
var Models = sync.OnceValues(func() ([]*bundle.Bundle, error) {
	all, err := zoo.Shipped()
	if err != nil {
		return nil, err
	}
	var out []*bundle.Bundle
	for _, b := range all {
		if b.Manifest.Kind == bundle.KindStreaming {
			out = append(out, b)
		}
	}
	slices.SortStableFunc(out, func(a, b *bundle.Bundle) int {
		return byDefault(a.Manifest.Name, b.Manifest.Name, zoo.DefaultStreaming)
	})
	return out, nil
})

// byDefault orders names with def first, then by name.
func byDefault(a, b, def string) int {
	switch {
	case a == b:
		return 0
	case a == def:
		return -1
	case b == def:
		return 1
	}
	return strings.Compare(a, b)
}
