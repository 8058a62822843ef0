package crossimage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/manifest-push/manifest-push/integration/internal/crossimage"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestGoEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p       ocispec.Platform
		want    []string
		wantErr error
	}{
		{ocispec.Platform{OS: "linux", Architecture: "amd64"}, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}, nil},
		{ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOARM=7"}, nil},
		{ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v3"}, nil},
		{ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}, []string{"CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64"}, nil},
		{ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, nil, crossimage.ErrUnsupportedPlatform},
		{ocispec.Platform{OS: "linux"}, nil, crossimage.ErrUnsupportedPlatform},
	}
	for _, tc := range tests {
		t.Run(crossimage.Name(tc.p), func(t *testing.T) {
			t.Parallel()
			got, err := crossimage.GoEnv(tc.p)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("GoEnv (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLayerRoundTrip(t *testing.T) {
	t.Parallel()
	img := crossimage.Image{
		Path:   "/usr/local/bin/tool",
		Binary: []byte("\x7fELF pretend"),
		Files:  map[string][]byte{"etc/ssl/certs/ca-certificates.crt": []byte("PEM")},
	}
	layer, diffID, err := crossimage.Layer(img)
	if err != nil {
		t.Fatal(err)
	}
	again, diffID2, err := crossimage.Layer(img)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(layer, again) || diffID != diffID2 {
		t.Error("Layer is not deterministic")
	}
	for _, tc := range []struct {
		name    string
		content string
		mode    int64
	}{
		{"usr/local/bin/tool", "\x7fELF pretend", 0o755},
		{"/etc/ssl/certs/ca-certificates.crt", "PEM", 0o644},
	} {
		content, mode, err := crossimage.ReadFile(layer, tc.name)
		if err != nil {
			t.Fatalf("ReadFile(%s): %v", tc.name, err)
		}
		if string(content) != tc.content || mode != tc.mode {
			t.Errorf("ReadFile(%s) = %q, %o; want %q, %o", tc.name, content, mode, tc.content, tc.mode)
		}
	}
	if _, _, err := crossimage.ReadFile(layer, "usr/local/bin"); !errors.Is(err, crossimage.ErrFileNotFound) {
		t.Errorf("ReadFile of a directory: err = %v, want ErrFileNotFound", err)
	}
}

func TestPush(t *testing.T) {
	t.Parallel()
	reg, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	ctx := context.Background()
	for _, format := range []imagetest.Format{imagetest.Docker, imagetest.OCI} {
		t.Run(format.String(), func(t *testing.T) {
			p := ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
			desc, err := crossimage.Push(ctx, reg.Client(), reg.URL(), "tool", "1-"+format.String(), crossimage.Image{
				Platform:   p,
				Format:     format,
				Path:       "usr/local/bin/tool",
				Binary:     []byte("binary"),
				Entrypoint: []string{"/usr/local/bin/tool"},
				User:       "65532:65532",
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&p, desc.Platform); diff != "" {
				t.Errorf("descriptor platform (-want +got):\n%s", diff)
			}
			mediaType, body, _, err := imagetest.GetManifest(ctx, reg.Client(), reg.URL(), "tool", "1-"+format.String())
			if err != nil {
				t.Fatal(err)
			}
			if mediaType != desc.MediaType {
				t.Errorf("media type %q, descriptor says %q", mediaType, desc.MediaType)
			}
			var m ocispec.Manifest
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			raw, err := imagetest.GetBlob(ctx, reg.Client(), reg.URL(), "tool", m.Config.Digest)
			if err != nil {
				t.Fatal(err)
			}
			var config ocispec.Image
			if err := json.Unmarshal(raw, &config); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, config.Platform); diff != "" {
				t.Errorf("config platform (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"/usr/local/bin/tool"}, config.Config.Entrypoint); diff != "" {
				t.Errorf("entrypoint (-want +got):\n%s", diff)
			}
			layer, err := imagetest.GetBlob(ctx, reg.Client(), reg.URL(), "tool", m.Layers[0].Digest)
			if err != nil {
				t.Fatal(err)
			}
			if got, _, err := crossimage.ReadFile(layer, "usr/local/bin/tool"); err != nil || string(got) != "binary" {
				t.Errorf("binary in layer = %q, %v", got, err)
			}
		})
	}
}
