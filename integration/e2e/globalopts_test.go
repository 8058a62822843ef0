package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
)

// TestGlobalOptionsEveryCommand: the help says of the global options
// "every command takes them", before or after the command: each command
// (validate, inspect, verify, from-spec, from-args, push from-spec, push
// from-args, completion, version, help) is run with each global option in
// each place, and none is refused ("flag provided but not defined"); each
// run exits as the command does without the option (0: a command that has
// no use for an option ignores it).
func TestGlobalOptionsEveryCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.linuxImages("src")
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs.d")
	cfg := filepath.Join(dir, "docker")
	for _, d := range []string{certs, cfg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	spec := e.WriteFile("app.yaml", `image: ${REG}/app:1
manifests:
  - image: ${REG}/src:amd64
    platform: {os: linux, architecture: amd64}
  - image: ${REG}/src:arm64
    platform: {os: linux, architecture: arm64}
`)
	// The index the commands that read one read; a push of the same spec
	// again is a rerun (exit 0, nothing written).
	clitest.WantCode(t, e.run("--plain-http", "from-spec", spec), 0)
	fromArgs := []string{"--platforms", "linux/amd64,linux/arm64", "--template", e.ref("src:ARCH"), "--target", e.ref("args:1")}

	// Each command: the words before the place an option may go between
	// (push's subcommand), the rest of the command line. --plain-http
	// (as a flag of its own, not the option under test) reaches the
	// registry.
	commands := []struct {
		name       string
		cmd, rest  []string
		middleword bool // an option may also stand between cmd[0] and cmd[1]
	}{
		{name: "validate", cmd: []string{"validate"}, rest: []string{spec}},
		{name: "inspect", cmd: []string{"inspect"}, rest: []string{"--plain-http", e.ref("app:1")}},
		{name: "verify", cmd: []string{"verify"}, rest: []string{"--plain-http", e.ref("app:1")}},
		{name: "from-spec", cmd: []string{"from-spec"}, rest: []string{"--plain-http", spec}},
		{name: "from-args", cmd: []string{"from-args"}, rest: append([]string{"--plain-http"}, fromArgs...)},
		{name: "push from-spec", cmd: []string{"push", "from-spec"}, rest: []string{"--plain-http", spec}, middleword: true},
		{name: "push from-args", cmd: []string{"push", "from-args"}, rest: append([]string{"--plain-http"}, fromArgs...), middleword: true},
		{name: "completion", cmd: []string{"completion"}, rest: []string{"bash"}},
		{name: "version", cmd: []string{"version"}},
		{name: "help", cmd: []string{"help"}},
		{name: "help validate", cmd: []string{"help"}, rest: []string{"validate"}},
	}
	// Each global option, with a value that is good for every command.
	options := []struct {
		name  string
		words []string
		stdin string
	}{
		{name: "plain-http", words: []string{"--plain-http"}},
		{name: "insecure", words: []string{"--insecure"}},
		{name: "plain-http-host", words: []string{"--plain-http-host", "registry.invalid"}},
		{name: "insecure-host", words: []string{"--insecure-host", "registry.invalid"}},
		{name: "certs-dir", words: []string{"--certs-dir", certs}},
		{name: "username and password", words: []string{"--username", "u", "--password", "p"}},
		{name: "username and password-stdin", words: []string{"-u", "u", "--password-stdin"}, stdin: "p\n"},
		{name: "docker-cfg", words: []string{"--docker-cfg", cfg}},
		{name: "jobs", words: []string{"--jobs", "2"}},
		{name: "jobs short", words: []string{"-j", "2"}},
		{name: "timeout", words: []string{"--timeout", "1m"}},
		{name: "output", words: []string{"--output", "json"}},
		{name: "debug", words: []string{"--debug"}},
		{name: "quiet", words: []string{"-q"}},
	}
	for _, c := range commands {
		for _, o := range options {
			places := map[string][]string{
				"before": slices.Concat(o.words, c.cmd, c.rest),
				"after":  slices.Concat(c.cmd, c.rest, o.words),
			}
			if c.middleword {
				places["between"] = slices.Concat(c.cmd[:1], o.words, c.cmd[1:], c.rest)
			}
			for place, args := range places {
				t.Run(c.name+"/"+o.name+"/"+place, func(t *testing.T) {
					t.Parallel()
					r := clitest.Run(t, bin, clitest.RunOptions{Home: e.Dir, Stdin: o.stdin, Env: []string{"REG=" + e.Host()}}, args...)
					if strings.Contains(r.Stderr, "flag provided but not defined") {
						t.Fatalf("refused a global option:\n%s", r)
					}
					clitest.WantCode(t, r, 0)
				})
			}
		}
	}
}
