package e2e

import (
	"context"
	"testing"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
)

// A rerun gives what a fresh target gives (docs/rules.md, "Reruns"): what
// the target's index says of an entry spares a read only when it is
// exactly what the spec and the source would produce.

// Defect: a spec once overrode a platform (the image's config says
// linux/amd64, the spec said linux/arm64); rerun with the corrected spec,
// which leaves the platform to the config, the target must get the index
// a fresh target gets, not keep the old platform.
func TestRerunCorrectsAnOverriddenPlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("app", "img", "linux/amd64")
	old := e.WriteFile("old.yaml", "image: "+e.ref("app:1.0")+"\nmanifests:\n  - image: "+e.ref("app:img")+"\n    platform: {os: linux, architecture: arm64}\n")
	fixed := "manifests:\n  - image: " + e.ref("app:img") + "\n"
	clitest.WantCode(t, e.run("--plain-http", "from-spec", old), 0)
	clitest.WantCode(t, e.run("--plain-http", "from-spec", e.WriteFile("fresh.yaml", "image: "+e.ref("fresh:1.0")+"\n"+fixed)), 0)
	r := e.run("--plain-http", "from-spec", e.WriteFile("fixed.yaml", "image: "+e.ref("app:1.0")+"\n"+fixed))
	clitest.WantCode(t, r, 0)
	got, fresh := e.index("app", "1.0"), e.index("fresh", "1.0")
	if got.digest != fresh.digest {
		t.Errorf("the rerun left app:1.0 at %s (%v); a fresh target got %s (%v)\n%s", got.digest, platformsOf(got.index), fresh.digest, platformsOf(fresh.index), r)
	}
}

// Defect: --strict-platform judges the source's own config, never the
// target's copy of a descriptor: the config says linux/amd64, the spec
// linux/arm64; a first push without --strict-platform warns, a rerun with
// it is refused (exit 2), as a fresh push with it is.
func TestRerunStrictPlatformJudgesTheConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("app", "img", "linux/amd64")
	spec := e.WriteFile("app.yaml", "image: "+e.ref("app:1.0")+"\nmanifests:\n  - image: "+e.ref("app:img")+"\n    platform: {os: linux, architecture: arm64}\n")
	first := e.run("--plain-http", "from-spec", spec)
	clitest.WantCode(t, first, 0)
	clitest.WantStderr(t, first, "linux/amd64")
	before := e.TagDigest("app", "1.0")
	e.Proxy.Reset()
	r := e.run("--plain-http", "from-spec", "--strict-platform", spec)
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, "linux/amd64", "linux/arm64")
	e.wantNoWrites(r)
	if after := e.TagDigest("app", "1.0"); after != before {
		t.Errorf("app:1.0 moved from %s to %s", before, after)
	}
}

// Defect: the target's index lists the source's digest with a wrong size
// (another tool wrote it); a rerun must not carry the false descriptor
// over: it writes the index a fresh target gets, whose size is the bytes'.
func TestRerunRewritesAFalseDescriptor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	img := e.image("app", "img", "linux/amd64")
	lie := img
	lie.Size += 100
	p := platforms.MustParse("linux/amd64")
	lie.Platform = &p
	if _, err := imagetest.PushIndex(context.Background(), e.Client, e.Registry.URL(), "app", "1.0", []ocispec.Descriptor{lie}, imagetest.IndexOptions{}); err != nil {
		t.Fatal(err)
	}
	spec := "manifests:\n  - image: " + e.ref("app:img") + "\n    platform: {os: linux, architecture: amd64}\n"
	clitest.WantCode(t, e.run("--plain-http", "from-spec", e.WriteFile("fresh.yaml", "image: "+e.ref("fresh:1.0")+"\n"+spec)), 0)
	r := e.run("--plain-http", "from-spec", e.WriteFile("app.yaml", "image: "+e.ref("app:1.0")+"\n"+spec))
	clitest.WantCode(t, r, 0)
	got, fresh := e.index("app", "1.0"), e.index("fresh", "1.0")
	if got.digest != fresh.digest || got.index.Manifests[0].Size != img.Size {
		t.Errorf("app:1.0 is %s with a size of %d; a fresh target got %s, the image is %d bytes\n%s", got.digest, got.index.Manifests[0].Size, fresh.digest, img.Size, r)
	}
}
