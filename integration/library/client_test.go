package library

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestClientReferrers: distribution has no referrers API, so the client's
// Referrers reads the referrers tag schema there: the index tagged
// sha256-<hex> lists what refers to the digest; no such tag, no referrers.
func TestClientReferrers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	img := e.image("app/hello", "v1", *linux("amd64", ""), imagetest.OCI)
	sbom, err := imagetest.PushAttestation(ctx, e.Client, e.Registry.URL(), "app/hello", img)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imagetest.PushIndex(ctx, e.Client, e.Registry.URL(), "app/hello", registry.ReferrersTag(img.Digest), []ocispec.Descriptor{sbom}, imagetest.IndexOptions{Format: imagetest.OCI}); err != nil {
		t.Fatal(err)
	}
	c := registry.NewClient(registry.Options{PlainHTTP: true, DockerConfig: t.TempDir()})
	repo := registry.Repo{Domain: e.Proxy.Host(), Path: "app/hello"}
	got, err := c.Referrers(ctx, repo, img.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Digest != sbom.Digest || got[0].Size != sbom.Size {
		t.Errorf("referrers %+v, want the sbom", got)
	}
	none, err := c.Referrers(ctx, repo, digest.FromString("nothing refers to this"))
	if err != nil || len(none) != 0 {
		t.Errorf("referrers of an unknown digest: %+v, %v", none, err)
	}
	if e.Proxy.Writes() != 0 {
		t.Errorf("%d writes", e.Proxy.Writes())
	}
}

// TestClientListTags: every tag of a repository, none for one that does
// not exist, and a registry that refuses the page size asked for (400) is
// asked again with its own.
func TestClientListTags(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	want := []string{"a", "b", "c", "v1"}
	for _, tag := range want {
		e.image("app/tags", tag, *linux("amd64", ""), imagetest.OCI)
	}
	c := registry.NewClient(registry.Options{PlainHTTP: true, DockerConfig: t.TempDir()})
	repo := registry.Repo{Domain: e.Proxy.Host(), Path: "app/tags"}
	got, err := c.ListTags(ctx, repo)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("tags %v (%v), want %v", got, err, want)
	}
	none, err := c.ListTags(ctx, registry.Repo{Domain: e.Proxy.Host(), Path: "app/none"})
	if err != nil || len(none) != 0 {
		t.Errorf("tags of a repository that does not exist: %v, %v", none, err)
	}
	e.Proxy.SetFault(func(r *http.Request, _ int) proxy.Action {
		if r.URL.Query().Has("n") {
			return proxy.Respond(http.StatusBadRequest, http.Header{"Content-Type": {"application/json"}}, `{"errors":[{"code":"PAGINATION_NUMBER_INVALID","message":"n too large"}]}`)
		}
		return proxy.Pass()
	})
	got, err = c.ListTags(ctx, repo)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("with n refused: tags %v (%v), want %v", got, err, want)
	}
}
