package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorder rewrites a command line so that flags may stand anywhere, as with
// docker, crane and regctl: before or after the command and its arguments.
// The flag parser the app uses stops at the first argument; reorder moves
// every flag, with its value, right after the command path (the command and
// its subcommand, if any), and puts the arguments after a "--", so that no
// argument is ever read as a flag and no flag as an argument.
//
// Rules:
//   - "--" ends the flags: everything after it is an argument, as given.
//   - A flag that takes a value (a string, number, duration or list flag of
//     any command) takes the next word as its value unless written
//     --name=value. A boolean flag never takes the next word; write
//     --name=false to turn one off.
//   - A word that is not a flag names a command while no argument has been
//     met yet and it is one of the current command's subcommands (so
//     manifest-tool's "push --type oci from-spec FILE" works); otherwise it
//     is an argument.
//   - An unknown flag is left where the parser will refuse it, by name.
//   - "help [COMMAND...]" becomes "COMMAND... --help"; "--version" anywhere
//     becomes the version command, with the other flags.
//
// Every command declares the global flags, so a global flag moved after the
// command name means the same as before it.
func reorder(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	valued := map[string]bool{}
	collectFlags(app.Flags, valued)
	for _, c := range app.Commands {
		collectCommandFlags(c, valued)
	}

	var path, flags, positional []string
	commands := app.Commands
	version := false
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if (name == "version" || name == "v") && !hasValue {
				version = true
				continue
			}
			flags = append(flags, a)
			if !hasValue && valued[name] && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			if len(path) == 0 && len(positional) == 0 && a == "help" {
				path = append(path, a)
				continue
			}
			if len(positional) == 0 {
				if c := findCommand(commands, a); c != nil {
					path = append(path, c.Name)
					commands = c.Subcommands
					continue
				}
			}
			positional = append(positional, a)
		}
	}

	if version {
		path, positional = []string{"version"}, nil
	}
	if len(path) > 0 && path[0] == "help" {
		// help COMMAND... is COMMAND... --help.
		names := append(path[1:], positional...)
		path, commands = nil, app.Commands
		for _, p := range names {
			c := findCommand(commands, p)
			if c == nil {
				break
			}
			path = append(path, c.Name)
			commands = c.Subcommands
		}
		positional = nil
		flags = append(flags, "--help")
	}
	out := append([]string{args[0]}, path...)
	out = append(out, flags...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

func collectCommandFlags(c *cli.Command, valued map[string]bool) {
	collectFlags(c.Flags, valued)
	for _, s := range c.Subcommands {
		collectCommandFlags(s, valued)
	}
}

// collectFlags records, for each name and alias of flags, whether the flag
// takes a value.
func collectFlags(flags []cli.Flag, valued map[string]bool) {
	for _, f := range flags {
		takes := true
		if v, ok := f.(cli.DocGenerationFlag); ok {
			takes = v.TakesValue()
		}
		for _, n := range f.Names() {
			valued[n] = takes
		}
	}
}

func findCommand(commands []*cli.Command, name string) *cli.Command {
	for _, c := range commands {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
