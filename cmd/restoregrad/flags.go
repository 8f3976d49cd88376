package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

// errFlagHelp is returned by parseFlags when the user asked for -h; main exits 0.
var errFlagHelp = errors.New("help requested")

// exitError carries a specific process exit status (e.g. 1 when some files in a batch failed).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// newFlagSet returns a FlagSet whose usage text starts with the command's synopsis.
func newFlagSet(name, synopsis, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: restoregrad %s %s\n\n%s\n\nFlags:\n", name, synopsis, help)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags before and after positional arguments
// ("enhance a.wav -o out.wav"), and returns the positional ones. "--" ends flag parsing.
// -h maps to errFlagHelp; other parse errors exit with status 2.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errFlagHelp
			}
			return nil, &exitError{code: 2, err: err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// parseOnlyFlags is parseFlags for commands that take no positional arguments.
func parseOnlyFlags(fs *flag.FlagSet, args []string) error {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q", pos)}
	}
	return nil
}

// defaultSeed is the diffusion noise seed without --seed: enhance's, eval's (so that eval
// scores the outputs enhance writes), live's and the plugin's.
const defaultSeed = 1
