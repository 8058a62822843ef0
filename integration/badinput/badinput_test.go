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
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/manifest-push/manifest-push/integration/binary"
	"github.com/manifest-push/manifest-push/integration/proxy"
	"github.com/manifest-push/manifest-push/integration/registrytest"
)

var update = flag.Bool("update", false, "rewrite testdata/*/*.err from the binary's current messages")

var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "manifest-push-badinput-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir) //nolint:errcheck // best effort: a temporary directory
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if bin, err = binary.Build(ctx, dir, binary.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
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
	reg, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	px, err := proxy.Start(reg.URL(), proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	host := px.Host()
	home := t.TempDir()

	in := corpus(t, host)
	if len(in) < 30 {
		t.Fatalf("%d inputs in the corpus, want at least 30", len(in))
	}
	for _, c := range in {
		t.Run(c.name, func(t *testing.T) {
			// Sequential: every run must leave the shared proxy's count at 0.
			px.Reset()
			code, stdout, stderr := run(t, c, host, home)
			got := strings.ReplaceAll(stderr, host, "REG")
			if *update {
				if err := os.WriteFile(c.err, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(c.err)
			if err != nil {
				t.Fatalf("%v (go test -run TestBadInput -update writes it)", err)
			}
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if got != string(want) {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if n := px.Count(); n != 0 {
				t.Errorf("%d requests reached the registry, want none: %v", n, px.Requests())
			}
		})
	}
}

func run(t *testing.T, c input, host, home string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, c.args...)
	cmd.Dir = c.dir
	// No ambient credentials, and REG for the specs.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "DOCKER_CONFIG=" + home, "REG=" + host}
	cmd.Stdin = bytes.NewReader(c.stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		code = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}
