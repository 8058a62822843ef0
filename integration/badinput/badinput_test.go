// Package badinput runs the manifest-push binary on a corpus of bad specs
// and bad command lines, with the counting proxy in front of a real
// registry as the host every reference names: each must exit 2 with the
// exact message of its .err file and send no request at all.
//
// testdata/specs/NAME.yaml is a spec (${REG} is the proxy's host), run as
// `from-spec --plain-http NAME.yaml` from testdata/specs; testdata/flags/
// NAME.args is a command line, one argument per line (REG is the proxy's
// host), run from testdata/flags with NAME.stdin as standard input when it
// exists. NAME.err is the exact standard error, REG standing for the
// proxy's host. go test -run TestBadInput -update rewrites the .err files.
package badinput

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

var update = flag.Bool("update", false, "rewrite testdata/*/*.err from the binary's current messages")

// bin is the manifest-push executable built by TestMain.
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(clitest.Main(m, &bin, binary.Options{}))
}

// input is one corpus entry.
type input struct {
	name  string
	dir   string // the working directory of the run
	args  []string
	stdin []byte
	err   string // the .err file's path
}

func corpus(t *testing.T, host string) []input {
	t.Helper()
	var in []input
	specs, err := filepath.Glob("testdata/specs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		name := strings.TrimSuffix(filepath.Base(s), ".yaml")
		in = append(in, input{
			name: "spec/" + name, dir: "testdata/specs",
			args: []string{"from-spec", "--plain-http", filepath.Base(s)},
			err:  strings.TrimSuffix(s, ".yaml") + ".err",
		})
	}
	flags, err := filepath.Glob("testdata/flags/*.args")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimSuffix(f, ".args")
		c := input{name: "flags/" + filepath.Base(base), dir: "testdata/flags", err: base + ".err"}
		for _, a := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			c.args = append(c.args, strings.ReplaceAll(a, "REG", host))
		}
		if c.stdin, err = os.ReadFile(base + ".stdin"); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		in = append(in, c)
	}
	return in
}

func TestBadInput(t *testing.T) {
	e := clitest.NewEnv(t, registrytest.Options{})
	px := e.Proxy
	host := e.Host()
	home := e.Dir

	in := corpus(t, host)
	if len(in) < 30 {
		t.Fatalf("%d inputs in the corpus, want at least 30", len(in))
	}
	for _, c := range in {
		t.Run(c.name, func(t *testing.T) {
			// Sequential: every run must leave the shared proxy's count at 0.
			px.Reset()
			// No ambient credentials, and REG for the specs.
			r := clitest.Run(t, bin, clitest.RunOptions{
				Home: home, DockerConfig: home, Dir: c.dir, Stdin: string(c.stdin),
				Env: []string{"REG=" + host}, Timeout: time.Minute,
			}, c.args...)
			got := strings.ReplaceAll(r.Stderr, host, "REG")
			if *update {
				if err := os.WriteFile(c.err, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(c.err)
			if err != nil {
				t.Fatalf("%v (go test -run TestBadInput -update writes it)", err)
			}
			if r.Code != 2 {
				t.Errorf("exit %d, want 2", r.Code)
			}
			if got != string(want) {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
			}
			if r.Stdout != "" {
				t.Errorf("stdout %q, want nothing", r.Stdout)
			}
			if n := px.Count(); n != 0 {
				t.Errorf("%d requests reached the registry, want none: %v", n, px.Requests())
			}
		})
	}
}
