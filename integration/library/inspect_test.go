package library

import (
	"context"
	"errors"
	"testing"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/libtest"
	"github.com/manifest-push/manifest-push/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func mustRef(t *testing.T, s string) reference.Named {
	t.Helper()
	n, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		t.Fatal(err)
	}
	return reference.TagNameOnly(n)
}

func TestInspect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	amd := e.image("src/amd64", "v1", *linux("amd64", ""), imagetest.OCI)
	e.image("src/arm", "v1", *linux("arm", "v6"), imagetest.OCI)
	s := e.spec("dst/img:1", nil, e.entry("src/amd64:v1", nil), e.entry("src/arm:v1", nil))
	s.Annotations = map[string]string{"org.opencontainers.image.source": "https://example.com"}
	res, err := libtest.Push(ctx, s, e.opts())
	if err != nil {
		t.Fatal(err)
	}
	ho := e.opts().ClientOptions

	in, err := libtest.Inspect(ctx, e.Proxy.Host()+"/dst/img:1", ho)
	if err != nil {
		t.Fatal(err)
	}
	if in.Digest != res.Digest || in.MediaType != ocispec.MediaTypeImageIndex || string(in.Raw) != string(res.Index) ||
		in.Annotations["org.opencontainers.image.source"] != "https://example.com" || len(in.Manifests) != 2 ||
		in.Manifests[0].Platform != "linux/amd64" || in.Manifests[1].Platform != "linux/arm/v6" || in.Manifests[0].Digest != amd.Digest {
		t.Errorf("inspection %+v", in)
	}

	one, err := libtest.Inspect(ctx, e.Proxy.Host()+"/src/amd64:v1", ho)
	if err != nil {
		t.Fatal(err)
	}
	if one.Digest != amd.Digest || len(one.Manifests) != 1 || one.Manifests[0].Platform != "linux/amd64" {
		t.Errorf("inspection %+v", one)
	}

	byDigest, err := libtest.Inspect(ctx, e.Proxy.Host()+"/dst/img@"+res.Digest.String(), ho)
	if err != nil || byDigest.Digest != res.Digest {
		t.Errorf("by digest: %+v, %v", byDigest, err)
	}

	if _, err := libtest.Inspect(ctx, e.Proxy.Host()+"/dst/img:nope", ho); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if _, err := libtest.Inspect(ctx, e.Proxy.Host()+"/img:bad!tag", ho); !errors.Is(err, registry.ErrInvalidReference) {
		t.Errorf("bad reference: %v", err)
	}
}
