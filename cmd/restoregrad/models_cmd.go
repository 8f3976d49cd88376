package main

import (
	"fmt"
	"os"

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
	switch len(rest) {
	case 0:
		return zoo.WriteTable(os.Stdout, os.Stderr, *card)
	case 1:
		return zoo.WriteCard(os.Stdout, rest[0])
	}
	return &exitError{code: 2, err: fmt.Errorf("at most one model name")}
}
