package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
)

// TestManifestToolStdout: under manifest-tool's spelling a script reading
// stdout gets what manifest-tool prints there, the Digest line alone, on a
// first push (changes and new tags) and on a rerun; the change and tag
// lines are on stderr. The plain spelling keeps them on stdout.
func TestManifestToolStdout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.threeRepos()
	path := e.WriteFile("hello.yaml", threeRepoSpec)

	for _, args := range [][]string{
		{"push", "from-spec", "--plain-http", path},
		{"push", "from-spec", "--plain-http", path},
		{"--plain-http", "push", "from-args", "--platforms", "linux/amd64", "--template", e.ref("a/img:ARCH"), "--target", e.ref("mt/hello:1"), "--tags", "latest"},
	} {
		r := e.run(args...)
		clitest.WantCode(t, r, 0)
		lines := stdoutLines(r)
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "Digest: sha256:") {
			t.Errorf("%v: stdout is %q, want exactly one line, Digest: sha256:<hex> <size>\n%s", args, r.Stdout, r)
		}
		digestLine(t, r)
		if !strings.Contains(r.Stderr, " updated") && !strings.Contains(r.Stderr, " unchanged") {
			t.Errorf("%v: the tag lines are not on stderr\n%s", args, r)
		}
	}
	clitest.WantStderr(t, e.run("--plain-http", "push", "from-args", "--platforms", "linux/amd64", "--template", e.ref("a/img:ARCH"), "--target", e.ref("mt/hello:2")), "+ linux/amd64")

	r := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)
	if lines := stdoutLines(r); !slices.Contains(lines, e.ref("target/hello")+":1.0 unchanged") {
		t.Errorf("from-spec (the plain spelling) does not print its tag lines on stdout\n%s", r)
	}
	digestLine(t, r)
}
