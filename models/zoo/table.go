package zoo

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WriteTable writes the bundles List finds to w as a table (name, kind, default steps,
// objective, trained, where), each row followed by the bundle's description and, with
// cards, its whole model card. A bundle that failed to load is reported to errs as one
// line, and left out of the table.
func WriteTable(w, errs io.Writer, cards bool) error {
	entries := List()
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "no model bundles found")
		return err
	}
	// The columns are as wide as their widest value, so that the rows line up whatever the
	// names (objectives such as restoregrad-noposterior are longer than a fixed width).
	rows := [][]string{{"NAME", "KIND", "STEPS", "OBJECTIVE", "TRAINED", "WHERE"}}
	var shown []Entry
	for _, e := range entries {
		if e.Err != nil {
			fmt.Fprintf(errs, "%s: %v\n", e.Path, e.Err)
			continue
		}
		m := e.Bundle.Manifest
		trained := "yes"
		if !m.Trained {
			trained = "NO"
		}
		rows = append(rows, []string{m.Name, string(m.Kind), strconv.Itoa(m.DefaultSteps), m.Objective, trained, e.Path})
		shown = append(shown, e)
	}
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, v := range r {
			width[i] = max(width[i], utf8.RuneCountInString(v))
		}
	}
	var b strings.Builder
	line := func(r []string) {
		for i, v := range r {
			if i == len(r)-1 {
				b.WriteString(v + "\n")
				break
			}
			b.WriteString(v + strings.Repeat(" ", width[i]-utf8.RuneCountInString(v)+2))
		}
	}
	line(rows[0])
	for i, e := range shown {
		line(rows[i+1])
		m := e.Bundle.Manifest
		if m.Description != "" {
			fmt.Fprintf(&b, "    %s\n", m.Description)
		}
		if cards {
			fmt.Fprintf(&b, "\n%s\n", indent(e.Bundle.Card(), "    "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCard writes the model card of the bundle name stands for (see Find) to w, headed by
// its name and where it came from.
func WriteCard(w io.Writer, name string) error {
	b, err := Find(name)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s (%s)\n\n%s", b.Manifest.Name, b.Source, b.Card())
	return err
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
