package library

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Defect: two pushes add referrers to one subject at once on a registry
// without the referrers API (the tag-schema index, read, merged and
// written back). B reads the index, and its write lands 200 ms later; A,
// fast, reads and writes meanwhile. Both calls return nil, and the index
// must end listing both referrers: a writer reads the index back after a
// settle time and merges again when another write dropped its entries.
func TestConcurrentReferrersBothListed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	img := e.image("app/hello", "v1", *linux("amd64", ""), imagetest.OCI)
	empty, err := imagetest.PushBlob(ctx, e.Client, e.Registry.URL(), "app/hello", ocispec.MediaTypeEmptyJSON, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	artifact := func(kind string) registry.Document {
		subject := img
		data, err := json.Marshal(ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
			ArtifactType: kind, Config: empty, Layers: []ocispec.Descriptor{empty}, Subject: &subject,
		})
		if err != nil {
			t.Fatal(err)
		}
		return registry.Document{Desc: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(data), Size: int64(len(data))}, Data: data}
	}
	sigA, sigB := artifact("application/vnd.example.signature-a"), artifact("application/vnd.example.signature-b")
	schemaPath := "/manifests/sha256-" + img.Digest.Encoded()

	// B goes through the proxy: its first read of the index is announced,
	// its first write of the index held 200 ms.
	read := make(chan struct{})
	var once, held sync.Once
	e.Proxy.SetFault(func(r *http.Request, _ int) proxy.Action {
		if !strings.HasSuffix(r.URL.Path, schemaPath) {
			return proxy.Pass()
		}
		if r.Method == http.MethodGet {
			return proxy.Action{ModifyResponse: func(*http.Response) error { once.Do(func() { close(read) }); return nil }}
		}
		stall := proxy.Pass()
		held.Do(func() { stall = proxy.Stall(200 * time.Millisecond) })
		return stall
	})
	add := func(host string, doc registry.Document) error {
		c := registry.NewClient(registry.Options{PlainHTTP: true, DockerConfig: t.TempDir()})
		repo := registry.Repo{Domain: host, Path: "app/hello"}
		return c.AddReferrers(ctx, repo, img.Digest, []registry.Attachment{{Doc: doc}})
	}
	u, err := url.Parse(e.Registry.URL())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var errA, errB error
	wg.Go(func() { errB = add(e.Proxy.Host(), sigB) })
	wg.Go(func() {
		<-read
		errA = add(u.Host, sigA)
	})
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("A: %v, B: %v", errA, errB)
	}
	_, body, _, err := imagetest.GetManifest(ctx, e.Client, e.Registry.URL(), "app/hello", "sha256-"+img.Digest.Encoded())
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatal(err)
	}
	listed := map[digest.Digest]bool{}
	for _, d := range idx.Manifests {
		listed[d.Digest] = true
	}
	if !listed[sigA.Desc.Digest] || !listed[sigB.Desc.Digest] {
		t.Errorf("the referrers index lists %d of the 2 referrers (A %v, B %v):\n%s", len(idx.Manifests), listed[sigA.Desc.Digest], listed[sigB.Desc.Digest], body)
	}
}
