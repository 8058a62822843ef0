package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// The target registry has a hosts.toml pull mirror, a second registry
// acting as a stale cache: it still holds app:1.0 as it was long ago,
// with linux/amd64 only, while the registry's app:1.0 has linux/amd64 and
// linux/arm64. An --append of linux/s390x reads the target's tag and
// index from the registry itself, never through the mirror, and keeps
// both platforms the registry's tag holds; the mirror sees no request for
// the target's repository.
func TestAppendReadsTheTargetFromTheRegistryNotItsMirror(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64 := e.linuxList() // app:1.0 and app:1 on the registry
	s390x := e.image("build/app", "s390x", "linux/s390x")

	stale := &env{Env: clitest.NewEnv(t, registrytest.Options{}), t: t}
	old := stale.image("app", "amd64", "linux/amd64")
	if old.Digest != amd64.Digest {
		t.Fatalf("the mirror's amd64 image is %s, the registry's %s: the images are not deterministic", old.Digest, amd64.Digest)
	}
	if _, err := imagetest.PushIndex(context.Background(), stale.Client, stale.Registry.URL(), "app", "1.0", []ocispec.Descriptor{old}, imagetest.IndexOptions{}); err != nil {
		t.Fatal(err)
	}
	certs := t.TempDir()
	clitest.WriteFile(t, filepath.Join(certs, e.Host(), "hosts.toml"), fmt.Sprintf(
		"server = \"http://%s\"\n\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", e.Host(), stale.Host()))

	r := e.run("--plain-http", "--certs-dir", certs, "from-args", "--append", "--target", e.ref("app:1.0"), e.ref("build/app:s390x"))
	t.Logf("%s", r)
	clitest.WantCode(t, r, 0)
	wantEntries(t, e.index("app", "1.0"), []entry{
		{desc: amd64, platform: plat(t, "linux/amd64")},
		{desc: arm64, platform: plat(t, "linux/arm64")},
		{desc: s390x, platform: plat(t, "linux/s390x")},
	})
	for _, q := range stale.Proxy.Requests() {
		if strings.HasPrefix(q.Path, "/v2/app/") {
			t.Errorf("the target's repository was read through the mirror: %s", q)
		}
	}
	if stale.Proxy.Count() == 0 {
		t.Errorf("nothing was asked of the mirror, not even the source: the case tests nothing")
	}
}

// A registry that takes OCI manifests only (zot without its Docker
// support) refuses the Docker child manifests with 415 MANIFEST_INVALID and
// a detail naming the media type. The error keeps the registry's detail,
// spells the write by digest with "@", and says what to do: the sources
// are Docker images, rebuild them as OCI or enable the registry's Docker
// support. Exit 1, no tag written.
func TestOCIOnlyRegistryRefusesDockerSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("src/amd64", "v1", "linux/amd64") // Docker media types
	e.image("src/arm64", "v1", "linux/arm64")
	prof := proxy.OCIOnly(proxy.ProfileOptions{})
	t.Cleanup(prof.Close)
	e.Proxy.SetFault(prof.Fault)

	r := e.run("--plain-http", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", e.ref("src/ARCH:v1"), "--target", e.ref("probe:1.0"))
	t.Logf("%s", r)
	clitest.WantCode(t, r, 1)
	clitest.WantStderr(t, r,
		"writing "+e.ref("probe@sha256:"),
		"415 Unsupported Media Type: MANIFEST_INVALID manifest invalid",
		`detail: {"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}`,
		"the sources are Docker images and the registry accepts OCI only: rebuild them as OCI, or enable the registry's Docker support",
	)
	if strings.Contains(r.Stderr, e.ref("probe:sha256:")) {
		t.Errorf("a write by digest is spelled like a tag\n%s", r)
	}
	if d := e.TagDigest("probe", "1.0"); d != "" {
		t.Errorf("probe:1.0 was written (%s)", d)
	}
	refused := 0
	for _, q := range e.Proxy.Requests() {
		if q.Method == http.MethodPut && q.Status == http.StatusUnsupportedMediaType {
			refused++
		}
	}
	if refused == 0 {
		t.Errorf("no manifest PUT was refused: the profile was not met\n%s", clitest.Requests(e.Proxy))
	}
}
