package plugin

import "slices"

// ModelChoices orders model names as a plugin's Model control numbers them: the default
// model first (number 0, the control's default), then the others by name.
func ModelChoices(names []string, def string) []string {
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == def:
			return -1
		case b == def:
			return 1
		case a < b:
			return -1
		}
		return 1
	})
	return out
}
