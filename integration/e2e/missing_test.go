package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
)

const missingSpec = `image: ${REG}/target:1
manifests:
  - image: ${REG}/a/img:amd64
    platform: {os: linux, architecture: amd64}
  - image: ${REG}/a/img:nope
    platform: {os: linux, architecture: arm64}
  - image: ${REG}/no/such-repo:1
    platform: {os: linux, architecture: arm, variant: v7}
`

func TestMissingSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64 := e.image("a/img", "amd64", "linux/amd64")
	path := e.WriteFile("missing.yaml", missingSpec)

	t.Run("exit 4 naming every missing source", func(t *testing.T) {
		e.Proxy.Reset()
		r := e.run("--plain-http", "from-spec", path)
		clitest.WantCode(t, r, 4)
		// A missing tag in an existing repository, and a repository that
		// does not exist: both named, both reported at once.
		clitest.WantStderr(t, r, e.ref("a/img:nope"), e.ref("no/such-repo:1"))
		if strings.Contains(r.Stderr, e.ref("a/img:amd64")) {
			t.Errorf("stderr names the source that exists\n%s", r)
		}
		e.wantNoWrites(r)
		if tags := e.tags("target"); tags != nil {
			t.Errorf("target has tags %v, want none", tags)
		}
		if strings.Contains(r.Stdout, "Digest:") {
			t.Errorf("a Digest line after a failed push\n%s", r)
		}
	})

	t.Run("--ignore-missing pushes the rest and says what it skipped", func(t *testing.T) {
		e.Proxy.Reset()
		r := e.run("--plain-http", "from-spec", "--ignore-missing", path)
		clitest.WantCode(t, r, 0)
		d, _ := digestLine(t, r)
		p := e.index("target", "1")
		if p.digest != d {
			t.Errorf("target:1 is %s, Digest line %s", p.digest, d)
		}
		wantEntries(t, p, []entry{{desc: amd64, platform: plat(t, "linux/amd64")}})
		// The user is told which sources were left out: a push that silently
		// drops platforms is the failure mode --ignore-missing invites.
		clitest.WantStderr(t, r, e.ref("a/img:nope"), e.ref("no/such-repo:1"))
		e.WantWritesOnlyTo("target")
	})

	t.Run("--ignore-missing in JSON lists the skipped sources as warnings", func(t *testing.T) {
		path := e.WriteFile("missing-json.yaml", strings.Replace(missingSpec, "target:1", "target:json", 1))
		r := e.run("--plain-http", "--output", "json", "from-spec", "--ignore-missing", path)
		clitest.WantCode(t, r, 0)
		lines := jsonLines(t, r)
		if len(lines) != 1 {
			t.Fatalf("%d JSON lines, want 1\n%s", len(lines), r)
		}
		w := strings.Join(lines[0].Warnings, "\n")
		for _, src := range []string{e.ref("a/img:nope"), e.ref("no/such-repo:1")} {
			if !strings.Contains(w, src) {
				t.Errorf("warnings %q do not name the skipped source %s", lines[0].Warnings, src)
			}
		}
		if len(lines[0].Manifests) != 1 || lines[0].Manifests[0].Source != e.ref("a/img:amd64") {
			t.Errorf("manifests %+v, want only a/img:amd64", lines[0].Manifests)
		}
	})

	t.Run("every source missing", func(t *testing.T) {
		e.Proxy.Reset()
		path := e.WriteFile("all-missing.yaml", `image: ${REG}/target:all
manifests:
  - image: ${REG}/a/img:nope
    platform: {os: linux, architecture: arm64}
  - image: ${REG}/no/such-repo:1
`)
		r := e.run("--plain-http", "from-spec", "--ignore-missing", path)
		clitest.WantCode(t, r, 4)
		clitest.WantStderr(t, r, "every source is missing", "a/img:nope", "no/such-repo:1")
		e.wantNoWrites(r)
		if strings.Contains(r.Stdout, "Digest:") {
			t.Errorf("a Digest line for an empty index\n%s", r)
		}
	})

	t.Run("--ignore-missing does not skip a refused source", func(t *testing.T) {
		// Another failure than "does not exist" still fails: here the
		// registry refuses access to one source.
		e.Proxy.Reset()
		e.Proxy.SetFault(func(r *http.Request, _ int) proxy.Action {
			if strings.HasPrefix(r.URL.Path, "/v2/a/img/manifests/amd64") {
				return proxy.Respond(http.StatusForbidden, nil, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
			}
			return proxy.Pass()
		})
		t.Cleanup(func() { e.Proxy.SetFault(nil) })
		path := e.WriteFile("denied.yaml", `image: ${REG}/target:denied
manifests:
  - image: ${REG}/a/img:amd64
    platform: {os: linux, architecture: amd64}
`)
		r := e.run("--plain-http", "from-spec", "--ignore-missing", path)
		clitest.WantCode(t, r, 3)
		clitest.WantStderr(t, r, "a/img")
		e.wantNoWrites(r)
	})
}
