package library

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// tagParamEnv is a registry with two images in app/hello, and a client of
// its own (a run) reaching it through the proxy.
type tagParamEnv struct {
	*env
	c    *registry.Client
	repo registry.Repo
	imgs []ocispec.Descriptor
}

func newTagParamEnv(t *testing.T) *tagParamEnv {
	t.Helper()
	e := newEnv(t)
	return &tagParamEnv{
		env:  e,
		c:    registry.NewClient(registry.Options{PlainHTTP: true, DockerConfig: t.TempDir()}),
		repo: registry.Repo{Domain: e.Proxy.Host(), Path: "app/hello"},
		imgs: []ocispec.Descriptor{
			e.image("app/hello", "amd64", *linux("amd64", ""), imagetest.OCI),
			e.image("app/hello", "arm64", *linux("arm64", ""), imagetest.OCI),
		},
	}
}

// index is an OCI index of the images, told apart by name.
func (e *tagParamEnv) index(name string) registry.Document {
	e.t.Helper()
	body, mt, err := imagetest.IndexBytes(e.imgs, imagetest.IndexOptions{Format: imagetest.OCI, Annotations: map[string]string{"name": name}})
	if err != nil {
		e.t.Fatal(err)
	}
	return registry.Document{Desc: ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(body), Size: int64(len(body))}, Data: body}
}

// manifestPuts are the manifest PUTs that reached the proxy.
func (e *tagParamEnv) manifestPuts() []proxy.Request {
	var out []proxy.Request
	for _, r := range e.Proxy.Requests() {
		if r.Method == http.MethodPut && strings.Contains(r.Path, "/manifests/") {
			out = append(out, r)
		}
	}
	return out
}

// wantTags fails the test unless each tag of app/hello points at d in the
// registry.
func (e *tagParamEnv) wantTags(d digest.Digest, tags ...string) {
	e.t.Helper()
	for _, tag := range tags {
		if got := e.TagDigest("app/hello", tag); got != d {
			e.t.Errorf("app/hello:%s points at %q, want %s", tag, got, d)
		}
	}
}

// TestTagParameterOneRequest: a registry that implements the tag
// parameter (the proxy's TagParameter profile, in front of distribution)
// gets the index and all its tags in one manifest PUT; every tag is
// confirmed and readable after, and so is the next index's.
func TestTagParameterOneRequest(t *testing.T) {
	e := newTagParamEnv(t)
	prof := proxy.TagParameter(proxy.ProfileOptions{Upstream: e.Registry.URL(), Client: e.Client})
	defer prof.Close()
	e.Proxy.SetFault(prof.Fault)
	ctx := context.Background()

	doc := e.index("one")
	tags := []string{"1.2", "latest", "stable_2024-01"}
	got, err := e.c.PutTagged(ctx, e.repo, doc, tags)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tags, got); diff != "" {
		t.Errorf("confirmed tags (-want +got):\n%s", diff)
	}
	puts := e.manifestPuts()
	if len(puts) != 1 || puts[0].Path != "/v2/app/hello/manifests/"+doc.Desc.Digest.String() || puts[0].RawQuery != "tag=1.2&tag=latest&tag=stable_2024-01" {
		t.Errorf("want one manifest PUT by digest with the three tags; the proxy saw:\n%s", clitest.Requests(e.Proxy))
	}
	if _, body, _, err := imagetest.GetManifest(ctx, e.Client, e.Registry.URL(), "app/hello", doc.Desc.Digest.String()); err != nil || string(body) != string(doc.Data) {
		t.Errorf("the index by digest: %v", err)
	}
	e.wantTags(doc.Desc.Digest, tags...)

	// Learned: the next index goes the same way, its tags moved.
	e.Proxy.Reset()
	next := e.index("two")
	if got, err := e.c.PutTagged(ctx, e.repo, next, []string{"latest"}); err != nil || !slices.Equal(got, []string{"latest"}) {
		t.Errorf("second PutTagged: %v, %v; want [latest]", got, err)
	}
	if puts := e.manifestPuts(); len(puts) != 1 || puts[0].RawQuery != "tag=latest" {
		t.Errorf("want one manifest PUT with tag=latest; the proxy saw:\n%s", clitest.Requests(e.Proxy))
	}
	e.wantTags(next.Desc.Digest, "latest")
	e.wantTags(doc.Desc.Digest, "1.2", "stable_2024-01")
}

// TestTagParameterIgnored: plain distribution ignores the parameter: the
// first PutTagged sends it, the index is written by digest, no tag is
// confirmed (nor written); the second call, learned, sends no tag
// parameter.
func TestTagParameterIgnored(t *testing.T) {
	e := newTagParamEnv(t)
	ctx := context.Background()

	first, second := e.index("one"), e.index("two")
	for i, doc := range []registry.Document{first, second} {
		got, err := e.c.PutTagged(ctx, e.repo, doc, []string{"1", "latest"})
		if err != nil || got != nil {
			t.Errorf("PutTagged %d: %v, %v; want no tag confirmed, no error", i+1, got, err)
		}
		if _, _, _, err := imagetest.GetManifest(ctx, e.Client, e.Registry.URL(), "app/hello", doc.Desc.Digest.String()); err != nil {
			t.Errorf("index %d by digest: %v", i+1, err)
		}
	}
	puts := e.manifestPuts()
	if len(puts) != 2 || puts[0].RawQuery != "tag=1&tag=latest" || puts[1].RawQuery != "" ||
		puts[1].Path != "/v2/app/hello/manifests/"+second.Desc.Digest.String() {
		t.Errorf("want the tag parameter on the first PUT only; the proxy saw:\n%s", clitest.Requests(e.Proxy))
	}
	e.wantTags("", "1", "latest")
}

// TestTagParameterRefused: a registry that answers 400 to a PUT with the
// parameter gets the index again by digest, without it, and no tag is
// confirmed; learned once: the next PutTagged is a plain PUT by digest.
func TestTagParameterRefused(t *testing.T) {
	e := newTagParamEnv(t)
	prof := proxy.TagParameterRefused(proxy.ProfileOptions{})
	defer prof.Close()
	e.Proxy.SetFault(prof.Fault)
	ctx := context.Background()

	first, second := e.index("one"), e.index("two")
	for i, doc := range []registry.Document{first, second} {
		got, err := e.c.PutTagged(ctx, e.repo, doc, []string{"latest"})
		if err != nil || got != nil {
			t.Errorf("PutTagged %d: %v, %v; want no tag confirmed, no error", i+1, got, err)
		}
		if _, _, _, err := imagetest.GetManifest(ctx, e.Client, e.Registry.URL(), "app/hello", doc.Desc.Digest.String()); err != nil {
			t.Errorf("index %d by digest: %v", i+1, err)
		}
	}
	puts := e.manifestPuts()
	want := []string{
		"PUT /v2/app/hello/manifests/" + first.Desc.Digest.String() + "?tag=latest 400",
		"PUT /v2/app/hello/manifests/" + first.Desc.Digest.String() + " 201",
		"PUT /v2/app/hello/manifests/" + second.Desc.Digest.String() + " 201",
	}
	var got []string
	for _, r := range puts {
		got = append(got, r.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifest PUTs (-want +got):\n%s", diff)
	}
	e.wantTags("", "latest")
}

// TestTagParameterLearnedOnceConcurrently: PutTagged calls to one host
// made at once, before anything is known, send the parameter once: one
// request learns, the others wait for it.
func TestTagParameterLearnedOnceConcurrently(t *testing.T) {
	e := newTagParamEnv(t)
	ctx := context.Background()
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.c.PutTagged(ctx, e.repo, e.index(string(rune('a'+i))), []string{"latest"})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("PutTagged %d: %v", i, err)
		}
	}
	withParam := 0
	puts := e.manifestPuts()
	for _, r := range puts {
		if strings.Contains(r.RawQuery, "tag=") {
			withParam++
		}
	}
	if withParam != 1 || len(puts) != n {
		t.Errorf("%d PUTs, %d with the tag parameter; want %d and 1:\n%s", len(puts), withParam, n, clitest.Requests(e.Proxy))
	}
}
