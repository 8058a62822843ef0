package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/manifest-push/manifest-push/internal/suggest"
	"github.com/urfave/cli/v2"
)

// specFormat points from the help to where the spec format is defined.
const specFormat = `The spec format: README.md, "The spec file" (examples/ has complete specs).`

// The help of each command: two or three examples, then where to read more.
// urfave/cli prints them under DESCRIPTION, after the usage line.
const (
	fromSpecHelp = `Examples:
   manifest-push from-spec manifest.yaml
   REGISTRY=localhost:5000 manifest-push --plain-http from-spec --dry-run examples/helloarch/helloarch.yaml
   manifest-push from-spec --append app-arm64.yaml    # update what the target holds

` + specFormat
	fromArgsHelp = `Examples:
   manifest-push from-args --platforms linux/amd64,linux/arm64 \
       --template registry.example.com/hello:1.0-OS-ARCH --target registry.example.com/hello:1.0
   manifest-push from-args --target registry.example.com/hello:1.0 \
       registry.example.com/hello@sha256:... --desc-platform linux/arm64
   manifest-push from-args --append --remove linux/s390x --target registry.example.com/hello:1.0

The flags describe one spec: ` + specFormat
	inspectHelp = `Examples:
   manifest-push inspect registry.example.com/hello:1.0
   manifest-push inspect --platform linux/arm64 registry.example.com/hello:1.0
   manifest-push inspect --format '{{.Digest}}' registry.example.com/hello:1.0`
	verifyHelp = `Examples:
   manifest-push verify registry.example.com/hello:1.0
   manifest-push verify --blobs --output json registry.example.com/hello:1.0`
	validateHelp = `Checks what needs no registry, with the rules from-spec applies when it reads a file;
what only the images tell (their platforms, whether they exist) is for from-spec --dry-run.
Exit status 0 when every file is valid, 2 otherwise; nothing is written.

Examples:
   manifest-push validate manifest.yaml
   manifest-push validate --output json specs/*.yaml
   REGISTRY=registry.example.com manifest-push validate -q examples/helloarch/helloarch.yaml   # a pre-commit step

` + specFormat
)

// undefinedFlag finds the flag name in the flag package's error for an
// unknown flag (after singleDash has given it two dashes).
var undefinedFlag = regexp.MustCompile(`flag provided but not defined: --([^\s=]+)`)

// helpFor names the help command of c's command.
func helpFor(c *cli.Context) string {
	if c != nil && c.Command != nil && c.Command.Name != "" {
		return "manifest-push " + c.Command.FullName() + " --help"
	}
	return "manifest-push --help"
}

// nearestFlag is the flag of c's command (or of the app) closest to name.
func nearestFlag(c *cli.Context, name string) string {
	var flags []cli.Flag
	if c != nil && c.Command != nil && len(c.Command.Flags) > 0 {
		flags = c.Command.Flags
	} else if c != nil && c.App != nil {
		flags = c.App.Flags
	}
	var names []string
	for _, f := range flags {
		names = append(names, f.Names()...)
	}
	return suggest.Nearest(name, names, nil)
}

// unknownCommand is the message for a word that names no command.
func unknownCommand(app *cli.App, name string) string {
	var names []string
	for _, c := range app.Commands {
		if !c.Hidden && c.Name != "help" {
			names = append(names, c.Name)
		}
	}
	msg := fmt.Sprintf("unknown command %s", suggest.Quote(name))
	if near := suggest.Nearest(name, names, nil); near != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", near)
	}
	return msg + "; the commands are " + strings.Join(names, ", ") + ": see manifest-push --help"
}

// unknownSubcommand is the message for a word after push that names none
// of its subcommands.
func unknownSubcommand(cmd *cli.Command, name string) string {
	var names []string
	for _, c := range cmd.Subcommands {
		if c.Name != "help" {
			names = append(names, c.Name)
		}
	}
	msg := fmt.Sprintf("push %s: unknown subcommand", suggest.Quote(name))
	if near := suggest.Nearest(name, names, nil); near != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", near)
	}
	return msg + "; push takes " + strings.Join(names, " or ")
}

// globalCategory is the heading of the flags every command takes, listed
// after the command's own flags and examples.
const globalCategory = "GLOBAL OPTIONS"

// commandHelpTemplate prints a command's own flags first, then its
// examples (the Description), then the global flags.
const commandHelpTemplate = `NAME:
   {{template "helpNameTemplate" .}}

USAGE:
   {{template "usageTemplate" .}}
{{if .VisibleFlagCategories}}{{range .VisibleFlagCategories}}{{if not .Name}}
OPTIONS:{{range .Flags}}
   {{wrap .String 6}}{{end}}
{{end}}{{end}}{{else if .VisibleFlags}}
OPTIONS:{{range .VisibleFlags}}
   {{wrap .String 6}}{{end}}
{{end}}{{if .Description}}
   {{template "descriptionTemplate" .}}
{{end}}{{range .VisibleFlagCategories}}{{if .Name}}
{{.Name}} (every command takes them):{{range .Flags}}
   {{wrap .String 6}}{{end}}
{{end}}{{end}}`

// appHelpTemplate is urfave/cli's AppHelpTemplate with the global options
// under one heading: every flag of the app (--help, then the global
// options) under the heading the commands' help uses for them. The
// default prints "GLOBAL OPTIONS:" over the flags of no category (only
// --help), then the category's name over the real list.
const appHelpTemplate = `NAME:
   {{template "helpNameTemplate" .}}

USAGE:
   {{if .UsageText}}{{wrap .UsageText 3}}{{else}}{{.HelpName}} {{if .VisibleFlags}}[global options]{{end}}{{if .Commands}} command [command options]{{end}}{{if .ArgsUsage}} {{.ArgsUsage}}{{else}}{{if .Args}} [arguments...]{{end}}{{end}}{{end}}{{if .Description}}

DESCRIPTION:
   {{template "descriptionTemplate" .}}{{end}}{{if .VisibleCommands}}

COMMANDS:{{template "visibleCommandCategoryTemplate" .}}{{end}}{{if .VisibleFlagCategories}}

` + globalCategory + ` (every command takes them, before or after it):{{range .VisibleFlagCategories}}{{range .Flags}}
   {{wrap .String 6}}{{end}}{{end}}{{end}}
`

// inCategory puts flags under the category name in the help.
func inCategory(name string, flags []cli.Flag) []cli.Flag {
	for _, f := range flags {
		switch f := f.(type) {
		case *cli.BoolFlag:
			f.Category = name
		case *cli.StringFlag:
			f.Category = name
		case *cli.StringSliceFlag:
			f.Category = name
		case *cli.IntFlag:
			f.Category = name
		case *cli.DurationFlag:
			f.Category = name
		}
	}
	return flags
}

// withHelp gives every command (and subcommand) of cmds the help layout of
// commandHelpTemplate.
func withHelp(cmds []*cli.Command) []*cli.Command {
	for _, c := range cmds {
		c.CustomHelpTemplate = commandHelpTemplate
		withHelp(c.Subcommands)
	}
	return cmds
}
