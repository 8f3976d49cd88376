// Command restoregrad removes noise from speech with a RestoreGrad diffusion model:
// offline on files, live from a microphone, or as a virtual microphone for calls.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
)

// version is set at link time from the VERSION file (-ldflags "-X main.version=..."; make
// deb does). Without it, Go's own record of the build is reported (the module's VCS
// version, or "(devel)").
var version string

// versionString is what --version prints.
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// command is one subcommand. Each lives in its own file and registers itself in init.
type command struct {
	name    string
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

func usage() {
	fmt.Fprintf(os.Stderr, "restoregrad: real-time speech denoising with a RestoreGrad diffusion model\n\n")
	fmt.Fprintf(os.Stderr, "Usage: restoregrad COMMAND [flags] [args]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'restoregrad COMMAND -h' for the flags of one command, 'restoregrad --version' for the version.\n")
	fmt.Fprintf(os.Stderr, "Environment: ORT_LIB overrides the ONNX Runtime library path.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	if os.Args[1] == "--version" || os.Args[1] == "-version" || os.Args[1] == "version" {
		fmt.Printf("restoregrad %s\n", versionString())
		return
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "restoregrad: unknown command %q (commands: %s)\n", os.Args[1], strings.Join(commandNames(), ", "))
		os.Exit(2)
	}
	if err := c.run(os.Args[2:]); err != nil {
		if err == errFlagHelp {
			return
		}
		fmt.Fprintf(os.Stderr, "restoregrad %s: %v\n", c.name, err)
		os.Exit(exitCode(err))
	}
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
