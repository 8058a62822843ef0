package imagetest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

func TestRandomReaderIsDeterministic(t *testing.T) {
	t.Parallel()
	read := func(seed string) []byte {
		b := make([]byte, 1000)
		if _, err := io.ReadFull(imagetest.NewRandomReader(seed), b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !bytes.Equal(read("a"), read("a")) {
		t.Error("same seed, different bytes")
	}
	if bytes.Equal(read("a"), read("b")) {
		t.Error("different seeds, same bytes")
	}
}

func TestIndexBytes(t *testing.T) {
	t.Parallel()
	child := ocispec.Descriptor{MediaType: imagetest.MediaTypeDockerManifest, Digest: digest.Digest("sha256:" + strings.Repeat("a", 64)), Size: 10,
		Platform: &ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}}
	body, mt, err := imagetest.IndexBytes([]ocispec.Descriptor{child}, imagetest.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":10,"platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}`
	if mt != imagetest.MediaTypeDockerManifestList || string(body) != want {
		t.Errorf("got %s %s\nwant %s", mt, body, want)
	}
	if _, _, err := imagetest.IndexBytes(nil, imagetest.IndexOptions{Annotations: map[string]string{"a": "b"}}); err == nil {
		t.Error("Docker list with annotations accepted")
	}
	body, mt, err = imagetest.IndexBytes(nil, imagetest.IndexOptions{Format: imagetest.OCI, Annotations: map[string]string{"a": "b"}})
	if err != nil || mt != ocispec.MediaTypeImageIndex {
		t.Fatal(mt, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil || idx.Manifests == nil || idx.Annotations["a"] != "b" {
		t.Errorf("empty OCI index %s: %v", body, err)
	}
}

func TestDockerImageRefusesAnnotations(t *testing.T) {
	t.Parallel()
	_, err := imagetest.PushImage(context.Background(), http.DefaultClient, "http://127.0.0.1:1", "r", "t",
		imagetest.Image{Annotations: map[string]string{"a": "b"}})
	if err == nil {
		t.Error("Docker image with annotations accepted")
	}
}

func TestDigestsAreStableAcrossRegistries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	img := imagetest.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: "ppc64le"},
		Format:   imagetest.OCI,
		Layers:   []imagetest.Layer{{Size: 2 << 20, Seed: "stable"}},
		Labels:   map[string]string{"org.example": "x"},
	}
	var digests []string
	for range 2 {
		reg, err := registrytest.Start(registrytest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		desc, err := imagetest.PushImage(ctx, reg.Client(), reg.URL(), "stable", "v1", img)
		reg.Close()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, desc.Digest.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("digests %v differ", digests)
	}
}
