package e2e

import (
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
)

// Defect: an entry --append kept from what the target tag held is in the
// push's own target; a mirror that lost it (a clean-up job there) gets it
// back from there on a rerun, with no "push its image again" warning.
func TestMirrorHealsAnEntryKeptByAppend(t *testing.T) {
	t.Parallel()
	e := deleting(t)
	amd64, arm64, _ := e.linuxImages("src")
	clitest.WantCode(t, e.run("--plain-http", "from-args", "--target", e.ref("app:1"), e.ref("src:amd64")), 0)
	push := func() clitest.Result {
		return e.run("--plain-http", "from-args", "--append", "--target", e.ref("app:1"), "--mirror", e.ref("mirror/app:1"), e.ref("src:arm64"))
	}
	clitest.WantCode(t, push(), 0)
	e.hasImage("mirror/app", amd64.Digest)

	e.delete("/v2/mirror/app/manifests/" + amd64.Digest.String())
	r := push()
	clitest.WantCode(t, r, 0)
	if strings.Contains(r.Stderr+r.Stdout, "push its image again") {
		t.Errorf("the rerun says the kept entry cannot be copied back:\n%s", r)
	}
	e.hasImage("mirror/app", amd64.Digest)
	e.hasImage("mirror/app", arm64.Digest)
}
