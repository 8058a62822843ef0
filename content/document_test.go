package content

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestMediaTypeOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, contentType, want string
		wantErr                      error
	}{
		{"stated in the document", `{"schemaVersion":2,"mediaType":"` + MediaTypeDockerManifest + `","config":{}}`, "text/plain", MediaTypeDockerManifest, nil},
		{"from content type", `{"schemaVersion":2,"manifests":[]}`, MediaTypeDockerManifestList + "; charset=utf-8", MediaTypeDockerManifestList, nil},
		{"oci index without media type", `{"schemaVersion":2,"manifests":[]}`, "application/json", ocispec.MediaTypeImageIndex, nil},
		{"oci manifest without media type", `{"schemaVersion":2,"config":{},"layers":[]}`, "", ocispec.MediaTypeImageManifest, nil},
		{"schema 1", `{"schemaVersion":1,"name":"x"}`, "application/vnd.docker.distribution.manifest.v1+prettyjws", "", ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := MediaTypeWith([]byte(tc.doc), tc.contentType)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("got %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
	if _, err := MediaTypeWith([]byte("<html>"), "text/html"); err == nil {
		t.Error("not JSON: no error")
	}
}

func TestVerifier(t *testing.T) {
	t.Parallel()
	text := "layer content"
	good := ocispec.Descriptor{Digest: digest.FromString(text), Size: int64(len(text))}
	tests := []struct {
		name string
		desc ocispec.Descriptor
		ok   bool
	}{
		{"matches", good, true},
		{"wrong digest", ocispec.Descriptor{Digest: digest.FromString("other"), Size: good.Size}, false},
		{"short", ocispec.Descriptor{Digest: good.Digest, Size: good.Size + 1}, false},
		{"long", ocispec.Descriptor{Digest: good.Digest, Size: good.Size - 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := io.ReadAll(VerifyingReader(strings.NewReader(text), tc.desc))
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrDigestMismatch)) {
				t.Errorf("error %v", err)
			}
		})
	}
}
