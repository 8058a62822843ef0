package main

import (
	"slices"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestEveryCommandDeclaresTheGlobalOptions: the help says of the global
// options "every command takes them"; reorder moves them after the
// command's name, so every command (and push's subcommands) must declare
// each one. (integration/e2e TestGlobalOptionsEveryCommand runs each
// command with each option.)
func TestEveryCommandDeclaresTheGlobalOptions(t *testing.T) {
	var global []string
	for _, f := range globalFlags() {
		global = append(global, f.Names()[0])
	}
	var check func(path string, cmds []*cli.Command)
	check = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue // github-action: its options come from INPUT_OPTIONS
			}
			name := path + c.Name
			var have []string
			for _, f := range c.Flags {
				have = append(have, f.Names()...)
			}
			for _, g := range global {
				if !slices.Contains(have, g) {
					t.Errorf("%s does not take --%s", name, g)
				}
			}
			check(name+" ", c.Subcommands)
		}
	}
	check("", newApp(streams{}).Commands)
}
