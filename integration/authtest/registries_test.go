package authtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/integration/internal/tokenauth"
)

// TestRefusedMountBehindTokenServer: GitLab behind its token server
// refuses a mount from another project with 401 and a challenge asking for
// the source's pull scope (insufficient_scope). The push logs in, gets
// that token once, is refused again, and uploads instead: exit 0, each
// blob's mount asked at most twice (without and with the new token), the
// refused pair not asked again, the token server asked a bounded number
// of times.
func TestRefusedMountBehindTokenServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{}, &tokenauth.TokenOptions{Username: user, Password: password})
	args := e.TwoPlatforms() // src/amd64 and src/arm64 into dst/img: other GitLab projects
	prof := proxy.GitLab(proxy.ProfileOptions{Upstream: e.Registry.URL(), Client: e.Client,
		Challenge: fmt.Sprintf(`Bearer realm=%q,service=%q`, e.ts.Realm(), tokenauth.Service)})
	e.Proxy.SetFault(prof.Fault)
	e.ts.Reset()
	r := e.Run(bin, clitest.RunOptions{Stdin: password}, append(args, "--plain-http", "--username", user, "--password-stdin")...)
	clitest.WantCode(t, r, 0)
	if d := e.TagDigest("dst/img", "1"); d == "" {
		t.Fatalf("dst/img:1 not pushed\n%s", r)
	}
	mounts := map[string]int{}
	refused := 0
	for _, req := range e.Proxy.Requests() {
		if req.Method == http.MethodPost && strings.Contains(req.RawQuery, "mount=") {
			mounts[req.RawQuery]++
			if req.Status == http.StatusUnauthorized {
				refused++
			}
		}
	}
	if refused == 0 {
		t.Errorf("no mount was refused: the profile was not met\n%s", clitest.Requests(e.Proxy))
	}
	for q, n := range mounts {
		if n > 2 {
			t.Errorf("mount %s asked %d times, want at most 2\n%s", q, n, clitest.Requests(e.Proxy))
		}
	}
	// Two sources of two blobs each: at most one token for the run's
	// scopes and one per refused mount.
	if n := len(e.ts.Requests()); n > 6 {
		t.Errorf("%d token requests, want at most 6: %+v", n, e.ts.Requests())
	}
	t.Logf("%d blobs asked to mount (%d refusals), %d token requests", len(mounts), refused, len(e.ts.Requests()))
}
