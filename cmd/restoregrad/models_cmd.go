package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/restoregrad/restoregrad/models/zoo"
)

func init() {
	register(command{name: "models", summary: "list the shipped and user model bundles with their cards", run: runModels})
}

func runModels(args []string) error {
	fs := newFlagSet("models", "[-card] [NAME]", "Lists model bundles: those shipped inside this binary and those in the user folder\n("+zoo.UserDir()+", or $"+zoo.EnvUserDir+"). With NAME, prints that bundle's model card.")
	card := fs.Bool("card", false, "print every bundle's full model card")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 1 {
		b, err := zoo.Find(rest[0])
		if err != nil {
			return err
		}
		fmt.Printf("%s (%s)\n\n%s", b.Manifest.Name, b.Source, b.Card())
		return nil
	}
	if len(rest) > 1 {
		return &exitError{code: 2, err: fmt.Errorf("at most one model name")}
	}
	entries := zoo.List()
	if len(entries) == 0 {
		fmt.Println("no model bundles found")
		return nil
	}
	// The columns are as wide as their widest value, so that the rows line up whatever the
	// names (objectives such as restoregrad-noposterior are longer than a fixed width).
	rows := [][]string{{"NAME", "KIND", "STEPS", "OBJECTIVE", "TRAINED", "WHERE"}}
	var shown []zoo.Entry
	for _, e := range entries {
		if e.Err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", e.Path, e.Err)
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
	line := func(r []string) string {
		var b strings.Builder
		for i, v := range r {
			if i == len(r)-1 {
				b.WriteString(v)
				break
			}
			b.WriteString(v + strings.Repeat(" ", width[i]-utf8.RuneCountInString(v)+2))
		}
		return b.String()
	}
	fmt.Println(line(rows[0]))
	for i, e := range shown {
		fmt.Println(line(rows[i+1]))
		m := e.Bundle.Manifest
		if m.Description != "" {
			fmt.Printf("    %s\n", m.Description)
		}
		if *card {
			fmt.Printf("\n%s\n", indent(e.Bundle.Card(), "    "))
		}
	}
	return nil
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
