package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/ggcrtest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// Referrers through registry profiles (docs/rules.md, "Referrers"; the README's "Registries"): a
// referrers API that redirects to a web site, or answers 404 for a subject
// with none, is "no referrers there", not an error; a tag-schema read that
// answers the subject itself is not a referrers index; a referrer the
// target refuses for its artifact type never stops the index and is never
// silent.

// GHCR: the referrers API answers 303 to a web page that answers 404. The
// push falls back to the tag schema: the signature and SBOM of the child
// are found there in the target, and exit 0.
func TestRegistryGHCRReferrersRedirect(t *testing.T) {
	t.Parallel()
	w := newWorld(t, proxy.GHCR, proxy.ProfileOptions{})
	r := w.push()
	clitest.WantCode(t, r, 0)
	d, _ := digestLine(t, r)
	w.wantPushed(r, d)
	w.wantStatus(http.MethodGet, "/referrers/", http.StatusSeeOther)
}

// Quay (in front of a registry with the referrers API): a subject with no
// referrers answers 404. The push carries the SBOM of the child that has
// one, takes the 404 of the other as "none", and exits 0.
func TestRegistryQuayReferrers404(t *testing.T) {
	t.Parallel()
	reg := ggcrtest.Start()
	t.Cleanup(reg.Close)
	prof := proxy.Quay(proxy.ProfileOptions{Upstream: reg.URL(), Client: reg.Client()})
	px, err := proxy.Start(reg.URL(), proxy.Options{Fault: prof.Fault})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	s := side{name: "Quay", base: reg.URL(), client: reg.Client(), proxy: px, api: true}
	ctx := context.Background()
	amd64, err := imagetest.PushImage(ctx, s.client, s.base, "src/app", "amd64", imagetest.Image{Platform: plat(t, "linux/amd64"), Format: imagetest.OCI})
	if err != nil {
		t.Fatal(err)
	}
	arm64, err := imagetest.PushImage(ctx, s.client, s.base, "src/app", "arm64", imagetest.Image{Platform: plat(t, "linux/arm64"), Format: imagetest.OCI})
	if err != nil {
		t.Fatal(err)
	}
	sbom := s.artifact(t, "src/app", &ocispec.Descriptor{MediaType: amd64.MediaType, Digest: amd64.Digest, Size: amd64.Size}, "application/spdx+json", "SBOM of amd64", "")

	r := clitest.Run(t, bin, clitest.RunOptions{}, "--plain-http", "from-args", "--target", px.Host()+"/team/app:1", px.Host()+"/src/app:amd64", px.Host()+"/src/app:arm64")
	clitest.WantCode(t, r, 0)
	if got := digests(s.referrers(t, "team/app", amd64.Digest)); !slices.Equal(got, []digest.Digest{sbom.Digest}) {
		t.Errorf("referrers of amd64 in the target: %v, want the SBOM %s\n%s", got, sbom.Digest, r)
	}
	if got := s.referrers(t, "team/app", arm64.Digest); len(got) != 0 {
		t.Errorf("referrers of arm64 in the target: %v, want none", digests(got))
	}
	saw404 := false
	for _, req := range px.Requests() {
		saw404 = saw404 || (req.Method == http.MethodGet && req.Status == http.StatusNotFound && strings.Contains(req.Path, "/referrers/"))
	}
	if !saw404 {
		t.Errorf("no referrers request answered 404: the profile was not met\n%s", clitest.Requests(px))
	}
}

// GitLab as the target: its read of the tag sha256-<hex> answers the
// child itself (copied there), which is not a referrers index to merge
// into; its allow-list of artifact types refuses the SBOM (400 "unknown
// media type"). The source (on another registry, the tag schema) has a
// signature and an SBOM for the child. The index and its tags are
// written; the signature is in the target's tag-schema index, made of the
// signature alone (not merged with the child); the refused SBOM is named
// on stderr.
func TestRegistryGitLabReferrers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	prof := proxy.GitLab(proxy.ProfileOptions{Upstream: e.Registry.URL(), Client: e.Client,
		AllowedArtifactTypes: append([]string{"application/vnd.dev.cosign.artifact.sig.v1+json"}, proxy.ImageConfigTypes...)})
	e.Proxy.SetFault(prof.Fault)
	other := clitest.NewEnv(t, registrytest.Options{})
	ctx := context.Background()
	img, err := imagetest.PushImage(ctx, other.Client, other.Registry.URL(), "lib/app", "amd64", imagetest.Image{Platform: plat(t, "linux/amd64"), Format: imagetest.OCI})
	if err != nil {
		t.Fatal(err)
	}
	src := side{base: other.Registry.URL(), client: other.Client, proxy: other.Proxy}
	subject := &ocispec.Descriptor{MediaType: img.MediaType, Digest: img.Digest, Size: img.Size}
	sig := src.artifact(t, "lib/app", subject, "application/vnd.dev.cosign.artifact.sig.v1+json", "signature", "")
	sbom := src.artifact(t, "lib/app", subject, "application/spdx+json", "SBOM", "")

	r := e.run("--plain-http", "from-args", "--target", e.ref("team/app:1"), other.Host()+"/lib/app:amd64")
	if p := e.index("team/app", "1"); len(p.index.Manifests) != 1 || p.index.Manifests[0].Digest != img.Digest {
		t.Errorf("team/app:1 lists %v, want the index of the child %s: a refused referrer stopped it\n%s", digests(p.index.Manifests), img.Digest, r)
	}
	clitest.WantStderr(t, r, sbom.Digest.String(), "unknown media type")
	// The exit code of a push whose index is written but one referrer
	// refused is the README's to give (see "Signatures, SBOMs and
	// attestations"); it is not a usage or credentials failure.
	if r.Code == 2 || r.Code == 3 {
		t.Errorf("exit %d with a referrer refused by its type\n%s", r.Code, r)
	}
	target := side{base: e.Registry.URL(), client: e.Client}
	if got := digests(target.referrers(t, "team/app", img.Digest)); !slices.Equal(got, []digest.Digest{sig.Digest}) {
		t.Errorf("the target's tag-schema index of the child lists %v, want the signature %s alone\n%s", got, sig.Digest, r)
	}
}
