package library

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestClientReferrers: distribution has no referrers API, so the client
// lists referrers from the referrers tag schema there (the index tagged
// sha256-<hex>), and adds them by merging into that index, never replacing
// what it lists, with the deterministic encoding of every index. A tag
// lookup that answers with the subject itself (as GitLab reads a tag of
// that shape as a digest) is no referrers index.
func TestClientReferrers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	img := e.image("app/hello", "v1", *linux("amd64", ""), imagetest.OCI)
	sbom, err := imagetest.PushAttestation(ctx, e.Client, e.Registry.URL(), "app/hello", img)
	if err != nil {
		t.Fatal(err)
	}
	schemaTag := "sha256-" + img.Digest.Encoded()
	if _, err := imagetest.PushIndex(ctx, e.Client, e.Registry.URL(), "app/hello", schemaTag, []ocispec.Descriptor{sbom}, imagetest.IndexOptions{Format: imagetest.OCI}); err != nil {
		t.Fatal(err)
	}
	c := registry.NewClient(registry.Options{PlainHTTP: true, DockerConfig: t.TempDir()})
	repo := registry.Repo{Domain: e.Proxy.Host(), Path: "app/hello"}
	// One operation: how the repository keeps referrers (its tags, no
	// referrers API) is read once, whatever is asked after.
	ctx = registry.WithReferrerScans(ctx)
	got, err := c.Referrers(ctx, repo, img.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Desc.Digest != sbom.Digest || got[0].Desc.Size != sbom.Size || got[0].Tag != "" {
		t.Errorf("referrers %+v, want the sbom", got)
	}
	none, err := c.Referrers(ctx, repo, digest.FromString("nothing refers to this"))
	if err != nil || len(none) != 0 {
		t.Errorf("referrers of an unknown digest: %+v, %v", none, err)
	}
	if e.Proxy.Writes() != 0 {
		t.Errorf("%d writes while listing", e.Proxy.Writes())
	}
	lists := 0
	for _, req := range e.Proxy.Requests() {
		if strings.Contains(req.Path, "/tags/list") {
			lists++
		}
	}
	if lists != 1 {
		t.Errorf("the tags were listed %d times for two subjects, want once\n%s", lists, clitest.Requests(e.Proxy))
	}

	// Adding a second referrer merges it after the first.
	empty, err := imagetest.PushBlob(ctx, e.Client, e.Registry.URL(), "app/hello", ocispec.MediaTypeEmptyJSON, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	subject := img
	sigManifest, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.example.signature", Config: empty, Layers: []ocispec.Descriptor{empty}, Subject: &subject,
	})
	if err != nil {
		t.Fatal(err)
	}
	sig := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(sigManifest), Size: int64(len(sigManifest))}
	sigDoc := registry.Document{Desc: sig, Data: sigManifest}
	if err := c.AddReferrers(ctx, repo, img.Digest, []registry.Attachment{{Doc: sigDoc}}); err != nil {
		t.Fatal(err)
	}
	got, err = c.Referrers(ctx, repo, img.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Desc.Digest != sbom.Digest || got[1].Desc.Digest != sig.Digest {
		t.Errorf("after adding: %+v, want the sbom then the new one", got)
	}
	doc, err := c.ReadManifest(ctx, repo, schemaTag)
	if err != nil {
		t.Fatal(err)
	}
	want, err := content.EncodeIndex(ocispec.MediaTypeImageIndex, nil, []ocispec.Descriptor{got[0].Desc, got[1].Desc})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Desc.Digest != want.Descriptor.Digest {
		t.Errorf("the tag-schema index is not the deterministic encoding:\n%s\nwant\n%s", doc.Data, want.Bytes)
	}
	// Adding it again writes only the referrer (the registry has it: a
	// no-op), not the index.
	e.Proxy.Reset()
	if err := c.AddReferrers(ctx, repo, img.Digest, []registry.Attachment{{Doc: sigDoc}}); err != nil {
		t.Fatal(err)
	}
	if n := e.Proxy.Writes(); n != 1 {
		t.Errorf("adding a referrer listed already: %d writes, want 1 (the referrer's own PUT)", n)
	}

	// A registry that answers the tag lookup with the subject itself.
	e.Proxy.SetFault(func(r *http.Request, _ int) proxy.Action {
		if r.Method == http.MethodGet && r.URL.Path == "/v2/app/hello/manifests/"+schemaTag {
			r.URL.Path = "/v2/app/hello/manifests/" + img.Digest.String() // forwarded as the subject's own
		}
		return proxy.Pass()
	})
	got, err = c.Referrers(ctx, repo, img.Digest)
	if err != nil || len(got) != 0 {
		t.Errorf("a tag lookup answering the subject itself: %+v, %v; want no referrers", got, err)
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
