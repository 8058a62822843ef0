package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionAction prints a completion script for bash, zsh or fish. The
// scripts are generated from the commands and flags themselves, so they
// never fall behind: a command completes its own flags (with the global
// ones), and from-spec completes file names.
func completionAction(c *cli.Context, std streams) error {
	if c.NArg() != 1 {
		return usagef("completion needs a shell: bash, zsh or fish (e.g. source <(manifest-push completion bash))")
	}
	cmds := completionCommands(c.App)
	global := flagWords(completionCommand{flags: completionFlags(c.App.Flags)})
	switch shell := c.Args().First(); shell {
	case "bash":
		writeBash(std.out, cmds, global, subcommandNames(c.App))
	case "zsh":
		writeZsh(std.out, cmds, global, subcommandNames(c.App))
	case "fish":
		writeFish(std.out, cmds)
	default:
		return usagef("completion %q: give bash, zsh or fish", shell)
	}
	return nil
}

// flagValues are the values of the flags that take one of a few words,
// offered after the flag.
var flagValues = map[string][]string{
	"type":         {"auto", "oci", "docker"},
	"output":       {"text", "json"},
	"attestations": {"keep", "drop"},
}

// valueCases is a shell case list: one "pattern) words" line per flag of
// flagValues, its long name and its aliases, in sorted order.
func valueCases(format string) string {
	names := make([]string, 0, len(flagValues))
	for n := range flagValues {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		pattern := "--" + n
		if n == "output" {
			pattern += "|-o"
		}
		fmt.Fprintf(&b, format, pattern, strings.Join(flagValues[n], " "))
	}
	return b.String()
}

// subcommandNames are the subcommands push takes.
func subcommandNames(app *cli.App) string {
	for _, c := range app.Commands {
		if c.Name == "push" {
			var names []string
			for _, s := range c.Subcommands {
				if s.Name != "help" {
					names = append(names, s.Name)
				}
			}
			return strings.Join(names, " ")
		}
	}
	return ""
}

// completionCommand is one command as the scripts see it: its name, its
// flags (long names with two dashes) and whether it takes file names.
type completionCommand struct {
	name, usage string
	flags       []completionFlag
	files       bool
}

type completionFlag struct {
	name, usage string
	value       bool
}

// completionCommands lists the commands a user types, subcommands of push
// included once under their own names.
func completionCommands(app *cli.App) []completionCommand {
	var out []completionCommand
	seen := map[string]bool{}
	var walk func([]*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || seen[c.Name] {
				continue
			}
			seen[c.Name] = true
			out = append(out, completionCommand{name: c.Name, usage: c.Usage, flags: completionFlags(c.Flags), files: c.Name == "from-spec" || c.Name == "validate"})
			walk(c.Subcommands)
		}
	}
	walk(app.Commands)
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func completionFlags(flags []cli.Flag) []completionFlag {
	var out []completionFlag
	for _, f := range flags {
		cf := completionFlag{name: f.Names()[0], value: true}
		if d, ok := f.(cli.DocGenerationFlag); ok {
			cf.usage, cf.value = d.GetUsage(), d.TakesValue()
		}
		out = append(out, cf)
	}
	return out
}

func commandNames(cmds []completionCommand) string {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	return strings.Join(names, " ")
}

func flagWords(c completionCommand) string {
	words := make([]string, len(c.flags))
	for i, f := range c.flags {
		words[i] = "--" + f.name
	}
	return strings.Join(words, " ")
}

func writeBash(w io.Writer, cmds []completionCommand, global, pushSubcommands string) {
	fmt.Fprintf(w, `# bash completion for manifest-push: source <(manifest-push completion bash)
_manifest_push() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev="" cmd="" w opts=""
	if ((COMP_CWORD > 0)); then prev=${COMP_WORDS[COMP_CWORD-1]}; fi
	case $prev in
%s	esac
	for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do`, valueCases("\t%s) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n"))
	fmt.Fprintf(w, `
		case $w in
		%s) cmd=$w ;;
		esac
	done
	case $cmd in
`, strings.ReplaceAll(commandNames(cmds), " ", "|"))
	for _, c := range cmds {
		fmt.Fprintf(w, "\t%s) opts=%q ;;\n", c.name, flagWords(c))
	}
	fmt.Fprintf(w, "\t*) opts=%q ;;\n\tesac\n", global)
	fmt.Fprintf(w, `	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [[ $cmd == push ]]; then
		COMPREPLY=($(compgen -W %q -- "$cur"))
	elif [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W %q -- "$cur"))
	elif [[ $cmd == from-spec || $cmd == validate ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -o default -F _manifest_push manifest-push
`, pushSubcommands, commandNames(cmds))
}

func writeZsh(w io.Writer, cmds []completionCommand, global, pushSubcommands string) {
	fmt.Fprintf(w, `#compdef manifest-push
# zsh completion for manifest-push: source <(manifest-push completion zsh)
_manifest_push() {
	local cmd="" w
	local -a opts
	case ${words[CURRENT-1]} in
%s	esac
	for w in ${words[2,CURRENT-1]}; do`, valueCases("\t(%s) compadd -- %s; return ;;\n"))
	fmt.Fprintf(w, `
		case $w in
		(%s) cmd=$w ;;
		esac
	done
	case $cmd in
`, strings.ReplaceAll(commandNames(cmds), " ", "|"))
	for _, c := range cmds {
		fmt.Fprintf(w, "\t(%s) opts=(%s) ;;\n", c.name, flagWords(c))
	}
	fmt.Fprintf(w, "\t(*) opts=(%s) ;;\n\tesac\n", global)
	fmt.Fprintf(w, `	if [[ $PREFIX == -* ]]; then
		compadd -- $opts
	elif [[ $cmd == push ]]; then
		compadd -- %s
	elif [[ -z $cmd ]]; then
		compadd -- %s
	elif [[ $cmd == from-spec || $cmd == validate ]]; then
		_files
	fi
}
compdef _manifest_push manifest-push
`, pushSubcommands, commandNames(cmds))
}

func writeFish(w io.Writer, cmds []completionCommand) {
	fmt.Fprintln(w, "# fish completion for manifest-push: manifest-push completion fish | source")
	fmt.Fprintln(w, "complete -c manifest-push -f")
	for _, c := range cmds {
		fmt.Fprintf(w, "complete -c manifest-push -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(c.usage))
		if c.files {
			fmt.Fprintf(w, "complete -c manifest-push -n '__fish_seen_subcommand_from %s' -F\n", c.name)
		}
		for _, f := range c.flags {
			value := ""
			if f.value {
				value = " -r"
			}
			if words, ok := flagValues[f.name]; ok {
				value = " -x -a " + fishQuote(strings.Join(words, " "))
			}
			fmt.Fprintf(w, "complete -c manifest-push -n '__fish_seen_subcommand_from %s' -l %s%s -d %s\n", c.name, f.name, value, fishQuote(f.usage))
		}
	}
}

// fishQuote quotes s for fish: single quotes, with \ and ' escaped.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
