package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/urfave/cli/v2"
)

func TestReorder(t *testing.T) {
	app := newApp(streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard})
	for _, tc := range []struct {
		in, want string
	}{
		{"--plain-http from-spec hello.yaml --dry-run", "from-spec --plain-http --dry-run -- hello.yaml"},
		{"from-spec a.yaml -q b.yaml -o json", "from-spec -q -o json -- a.yaml b.yaml"},
		{"inspect REF --raw", "inspect --raw -- REF"},
		{"push --type oci from-spec FILE", "push from-spec --type oci -- FILE"},
		{"push --ignore-missing from-args --target T", "push from-args --ignore-missing --target T"},
		{"from-spec --type=oci -- --dry-run", "from-spec --type=oci -- --dry-run"},
		{"from-spec - --password-stdin", "from-spec --password-stdin -- -"},
		{"from-args --target T reg/a@sha256:x --platforms linux/amd64 reg/b", "from-args --target T --platforms linux/amd64 -- reg/a@sha256:x reg/b"},
		{"from-args --template from-spec --target T", "from-args --template from-spec --target T"},
		{"from-spec --referrers=false x.yaml", "from-spec --referrers=false -- x.yaml"},
		{"help from-spec", "from-spec --help"},
		{"help push from-args", "push from-args --help"},
		{"help", "--help"},
		{"from-spec x.yaml --version", "version"},
		{"-o json --version", "version -o json"},
		{"from-spec --no-such-flag x.yaml", "from-spec --no-such-flag -- x.yaml"},
	} {
		got := strings.Join(reorder(app, append([]string{"manifest-push"}, strings.Fields(tc.in)...))[1:], " ")
		if got != tc.want {
			t.Errorf("reorder(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// seen is what a command's action was given.
type seen struct {
	command string
	flags   map[string]string
	args    []string
}

// recordingApp is the app with every action replaced by one that records
// the flags set (with their values) and the arguments.
func recordingApp(got *seen) *cli.App {
	app := newApp(streams{in: strings.NewReader("secret\n"), out: io.Discard, err: io.Discard})
	canonical := map[string]string{} // a flag name or alias → its name
	for _, f := range globalFlags() {
		for _, n := range f.Names() {
			canonical[n] = f.Names()[0]
		}
	}
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				for _, n := range f.Names() {
					canonical[n] = f.Names()[0]
				}
			}
			walk(c.Subcommands)
			if c.Action == nil {
				continue
			}
			c.Action = func(ctx *cli.Context) error {
				got.command = ctx.Command.Name
				got.flags = map[string]string{}
				for _, x := range ctx.Lineage() {
					if x == nil {
						continue
					}
					for _, n := range x.LocalFlagNames() {
						if x.IsSet(n) {
							v := x.Value(n)
							if sl, ok := v.(cli.StringSlice); ok {
								v = sl.Value()
							}
							got.flags[canonical[n]] = fmt.Sprint(v)
						}
					}
				}
				got.args = ctx.Args().Slice()
				return nil
			}
		}
	}
	walk(app.Commands)
	return app
}

// value is a value a flag takes, and how the parsed value prints.
func value(f cli.Flag) (arg, printed string) {
	switch f.(type) {
	case *cli.BoolFlag:
		return "", "true"
	case *cli.IntFlag:
		return "3", "3"
	case *cli.DurationFlag:
		return "90s", "1m30s"
	case *cli.StringSliceFlag:
		return "x", "[x]"
	default:
		return "x", "x"
	}
}

// Every flag of every command, in every position of the command line: before
// the command, after it, after its arguments, and in --name=value form; each
// gives the command the same flag value and the same arguments.
func TestEveryFlagInEveryPosition(t *testing.T) {
	commands := []struct {
		path []string
		args []string
	}{
		{[]string{"from-spec"}, []string{"a.yaml", "-"}},
		{[]string{"from-args"}, []string{"reg.example/a@sha256:1", "reg.example/b:1"}},
		{[]string{"push", "from-spec"}, []string{"a.yaml"}},
		{[]string{"push", "from-args"}, nil},
		{[]string{"inspect"}, []string{"reg.example/a:1"}},
		{[]string{"verify"}, []string{"reg.example/a:1"}},
		{[]string{"version"}, nil},
		{[]string{"completion"}, []string{"bash"}},
	}
	var got seen
	tested := 0
	for _, c := range commands {
		app := recordingApp(&got)
		cmd := findCommand(app.Commands, c.path[0])
		for _, p := range c.path[1:] {
			cmd = findCommand(cmd.Subcommands, p)
		}
		for _, f := range cmd.Flags {
			if slices.Contains(f.Names(), "help") {
				continue
			}
			for _, name := range f.Names() {
				dash := "--"
				if len(name) == 1 {
					dash = "-"
				}
				arg, printed := value(f)
				flag := []string{dash + name}
				if arg != "" {
					flag = append(flag, arg)
				}
				positions := map[string][]string{
					"after the command":   concat(c.path, flag, c.args),
					"after the arguments": concat(c.path, c.args, flag),
					"as name=value":       concat(c.path, c.args, []string{dash + name + "=" + orTrue(arg)}),
				}
				if !isCommandFlag(f) {
					positions["before the command"] = concat(flag, c.path, c.args)
				} else {
					// manifest-tool's position: push --type oci from-spec FILE.
					if c.path[0] == "push" {
						positions["between push and its subcommand"] = concat(c.path[:1], flag, c.path[1:], c.args)
					}
				}
				for where, line := range positions {
					got = seen{}
					app := recordingApp(&got)
					if err := app.RunContext(context.Background(), reorder(app, append([]string{"manifest-push"}, line...))); err != nil {
						t.Errorf("%s: %s %s: %v", strings.Join(c.path, " "), dash+name, where, err)
						continue
					}
					tested++
					want := seen{command: c.path[len(c.path)-1], flags: map[string]string{f.Names()[0]: printed}, args: c.args}
					if diff := cmp.Diff(want, got, cmp.AllowUnexported(seen{}), cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
						t.Errorf("%s: %s %s (%q): (-want +got)\n%s", strings.Join(c.path, " "), dash+name, where, line, diff)
					}
				}
			}
		}
	}
	t.Logf("%d command lines parsed", tested)
	if tested < 200 {
		t.Errorf("only %d cases ran", tested)
	}
}

func orTrue(arg string) string {
	if arg == "" {
		return "true"
	}
	return arg
}

// isCommandFlag reports whether f is a command's own flag, not a global one.
func isCommandFlag(f cli.Flag) bool {
	for _, g := range globalFlags() {
		if slices.Equal(g.Names(), f.Names()) {
			return false
		}
	}
	return true
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
