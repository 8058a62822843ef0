package registrytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

func start(t *testing.T, opts registrytest.Options) *registrytest.Registry {
	t.Helper()
	reg, err := registrytest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	return reg
}

func TestPushImageAndIndex(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		format    imagetest.Format
		manifest  string
		index     string
		configMT  string
		platforms []ocispec.Platform
	}{
		{
			name:     "docker",
			format:   imagetest.Docker,
			manifest: imagetest.MediaTypeDockerManifest,
			index:    imagetest.MediaTypeDockerManifestList,
			configMT: imagetest.MediaTypeDockerConfig,
			platforms: []ocispec.Platform{
				{OS: "linux", Architecture: "amd64"},
				{OS: "linux", Architecture: "arm", Variant: "v7"},
				{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"},
			},
		},
		{
			name:     "oci",
			format:   imagetest.OCI,
			manifest: ocispec.MediaTypeImageManifest,
			index:    ocispec.MediaTypeImageIndex,
			configMT: ocispec.MediaTypeImageConfig,
			platforms: []ocispec.Platform{
				{OS: "linux", Architecture: "arm64", Variant: "v8"},
				{OS: "linux", Architecture: "s390x"},
				{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.2340", OSFeatures: []string{"win32k"}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			reg := start(t, registrytest.Options{})
			client := reg.Client()

			var children []ocispec.Descriptor
			for _, p := range tc.platforms {
				img := imagetest.Image{Platform: p, Format: tc.format}
				desc, err := imagetest.PushImage(ctx, client, reg.URL(), "src/hello", "v1-"+p.OS+"-"+p.Architecture, img)
				if err != nil {
					t.Fatal(err)
				}
				if desc.MediaType != tc.manifest {
					t.Errorf("media type %s, want %s", desc.MediaType, tc.manifest)
				}
				// Deterministic: the same image pushed elsewhere has the same digest.
				again, err := imagetest.PushImage(ctx, client, reg.URL(), "elsewhere", "", img)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(desc, again); diff != "" {
					t.Errorf("second push differs (-first +second):\n%s", diff)
				}

				// GET by tag and by digest return the same bytes, with the
				// pushed digest, size and media type.
				mt, body, dgst, err := imagetest.GetManifest(ctx, client, reg.URL(), "src/hello", "v1-"+p.OS+"-"+p.Architecture)
				if err != nil {
					t.Fatal(err)
				}
				if mt != tc.manifest || dgst != desc.Digest || int64(len(body)) != desc.Size {
					t.Errorf("GET by tag: %s %s %d, want %s %s %d", mt, dgst, len(body), tc.manifest, desc.Digest, desc.Size)
				}
				_, body2, _, err := imagetest.GetManifest(ctx, client, reg.URL(), "src/hello", desc.Digest.String())
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(body, body2) {
					t.Error("GET by digest returned other bytes than GET by tag")
				}

				// The config carries the platform.
				var m ocispec.Manifest
				if err := json.Unmarshal(body, &m); err != nil {
					t.Fatal(err)
				}
				if m.Config.MediaType != tc.configMT {
					t.Errorf("config media type %s, want %s", m.Config.MediaType, tc.configMT)
				}
				configBytes, err := imagetest.GetBlob(ctx, client, reg.URL(), "src/hello", m.Config.Digest)
				if err != nil {
					t.Fatal(err)
				}
				var config ocispec.Image
				if err := json.Unmarshal(configBytes, &config); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(p, config.Platform); diff != "" {
					t.Errorf("config platform (-want +got):\n%s", diff)
				}
				if len(m.Layers) != 1 || len(config.RootFS.DiffIDs) != 1 {
					t.Errorf("layers %d, diff IDs %d, want 1 and 1", len(m.Layers), len(config.RootFS.DiffIDs))
				}
				children = append(children, desc)
			}

			opts := imagetest.IndexOptions{Format: tc.format}
			if tc.format == imagetest.OCI {
				opts.Annotations = map[string]string{"org.opencontainers.image.source": "https://example.com/hello"}
			}
			idx, err := imagetest.PushIndex(ctx, client, reg.URL(), "src/hello", "v1", children, opts)
			if err != nil {
				t.Fatal(err)
			}
			want, wantMT, err := imagetest.IndexBytes(children, opts)
			if err != nil {
				t.Fatal(err)
			}
			mt, body, dgst, err := imagetest.GetManifest(ctx, client, reg.URL(), "src/hello", "v1")
			if err != nil {
				t.Fatal(err)
			}
			if mt != tc.index || wantMT != tc.index || dgst != idx.Digest || !bytes.Equal(body, want) {
				t.Errorf("GET index: %s %s, want %s %s with the pushed bytes", mt, dgst, tc.index, idx.Digest)
			}
			var index ocispec.Index
			if err := json.Unmarshal(body, &index); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(children, index.Manifests); diff != "" {
				t.Errorf("index entries (-pushed +read):\n%s", diff)
			}

			tags, err := imagetest.Tags(ctx, client, reg.URL(), "src/hello")
			if err != nil {
				t.Fatal(err)
			}
			if len(tags) != len(tc.platforms)+1 || !slices.Contains(tags, "v1") {
				t.Errorf("tags %v", tags)
			}
		})
	}
}

func TestIndexChildMustExist(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := start(t, registrytest.Options{})
	client := reg.Client()
	desc, err := imagetest.PushImage(ctx, client, reg.URL(), "a", "", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	// Distribution checks that an index's children are in the same repository.
	_, err = imagetest.PushIndex(ctx, client, reg.URL(), "b", "v1", []ocispec.Descriptor{desc}, imagetest.IndexOptions{})
	var herr *imagetest.HTTPError
	if !errors.As(err, &herr) || herr.Status != http.StatusBadRequest || !strings.Contains(herr.Body, "MANIFEST_BLOB_UNKNOWN") {
		t.Fatalf("index with a child in another repository: %v, want 400 MANIFEST_BLOB_UNKNOWN", err)
	}
}

func TestBuildx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := start(t, registrytest.Options{})
	client := reg.Client()
	out, err := imagetest.PushBuildx(ctx, client, reg.URL(), "buildx", "latest", []imagetest.Image{
		{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, Format: imagetest.OCI},
		{Platform: ocispec.Platform{OS: "linux", Architecture: "arm64"}, Format: imagetest.OCI},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, body, dgst, err := imagetest.GetManifest(ctx, client, reg.URL(), "buildx", "latest")
	if err != nil {
		t.Fatal(err)
	}
	if dgst != out.Index.Digest {
		t.Errorf("index digest %s, want %s", dgst, out.Index.Digest)
	}
	var index ocispec.Index
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 4 {
		t.Fatalf("%d entries, want 4", len(index.Manifests))
	}
	for i, img := range out.Images {
		att := index.Manifests[2+i]
		if att.Platform == nil || att.Platform.OS != "unknown" || att.Platform.Architecture != "unknown" {
			t.Errorf("attestation %d platform %v, want unknown/unknown", i, att.Platform)
		}
		if att.Annotations[imagetest.AnnotationReferenceType] != imagetest.ReferenceTypeAttestation ||
			att.Annotations[imagetest.AnnotationReferenceDigest] != img.Digest.String() {
			t.Errorf("attestation %d annotations %v", i, att.Annotations)
		}
		mt, _, _, err := imagetest.GetManifest(ctx, client, reg.URL(), "buildx", att.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		if mt != ocispec.MediaTypeImageManifest {
			t.Errorf("attestation media type %s", mt)
		}
	}
}

func TestCrossRepositoryMount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := start(t, registrytest.Options{})
	client := reg.Client()
	desc, err := imagetest.PushImage(ctx, client, reg.URL(), "team/src", "v1", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	_, body, _, err := imagetest.GetManifest(ctx, client, reg.URL(), "team/src", "v1")
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for _, blob := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		mounted, err := imagetest.Mount(ctx, client, reg.URL(), "other/target", "team/src", blob.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if !mounted {
			t.Errorf("mount %s: 202, want 201", blob.Digest)
		}
		ok, err := imagetest.BlobExists(ctx, client, reg.URL(), "other/target", blob.Digest)
		if err != nil || !ok {
			t.Errorf("blob %s in the target after mount: %v %v", blob.Digest, ok, err)
		}
	}
	// With its blobs mounted, the manifest can be put by digest.
	if _, err := imagetest.PushManifest(ctx, client, reg.URL(), "other/target", "", desc.MediaType, body); err != nil {
		t.Fatal(err)
	}

	// A mount from a repository that lacks the blob opens an upload instead (202).
	mounted, err := imagetest.Mount(ctx, client, reg.URL(), "third", "nowhere", m.Config.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if mounted {
		t.Error("mount from a repository without the blob: 201, want 202")
	}

	// The raw answer: 201 Created, Location of the blob, its digest.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		reg.URL()+"/v2/raw/blobs/uploads/?mount="+m.Layers[0].Digest.String()+"&from=team/src", http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Docker-Content-Digest") != m.Layers[0].Digest.String() ||
		!strings.HasSuffix(resp.Header.Get("Location"), "/v2/raw/blobs/"+m.Layers[0].Digest.String()) {
		t.Errorf("mount answer: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestLayers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := start(t, registrytest.Options{ManifestURLsAllow: []string{`^https://example\.com/`}})
	client := reg.Client()
	img := imagetest.Image{
		Platform: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"},
		Files:    map[string][]byte{"b.txt": []byte("b"), "a.txt": []byte("a")},
		Layers: []imagetest.Layer{
			{Files: []imagetest.File{{Name: "bin/run", Content: []byte("#!/bin/sh\n"), Mode: 0o755}}},
			{Size: 3 << 20, Seed: "big"}, // streamed
			{Size: 1000, Seed: "small"},
			{Size: 2000, Seed: "foreign", URLs: []string{"https://example.com/layer.tar.gz"}},
		},
	}
	for _, format := range []imagetest.Format{imagetest.Docker, imagetest.OCI} {
		img.Format = format
		desc, err := imagetest.PushImage(ctx, client, reg.URL(), "layers", format.String(), img)
		if err != nil {
			t.Fatal(err)
		}
		_, body, _, err := imagetest.GetManifest(ctx, client, reg.URL(), "layers", desc.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Layers) != 5 {
			t.Fatalf("%s: %d layers, want 5", format, len(m.Layers))
		}
		big, err := imagetest.GetBlob(ctx, client, reg.URL(), "layers", m.Layers[2].Digest)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(big)) != m.Layers[2].Size || len(big) < 3<<20 {
			t.Errorf("%s: big layer %d bytes, descriptor says %d", format, len(big), m.Layers[2].Size)
		}
		foreign := m.Layers[4]
		if len(foreign.URLs) != 1 {
			t.Errorf("%s: foreign layer %+v", format, foreign)
		}
		if ok, err := imagetest.BlobExists(ctx, client, reg.URL(), "layers", foreign.Digest); err != nil || ok {
			t.Errorf("%s: foreign layer blob pushed: %v %v", format, ok, err)
		}
	}

	// Distribution's default refuses any foreign layer URL, with a 500
	// UNKNOWN error whose detail is "invalid URL on layer".
	strict := start(t, registrytest.Options{})
	img.Format = imagetest.Docker
	img.Layers = img.Layers[3:]
	_, err := imagetest.PushImage(ctx, strict.Client(), strict.URL(), "layers", "", img)
	var herr *imagetest.HTTPError
	if !errors.As(err, &herr) || herr.Status != http.StatusInternalServerError || !strings.Contains(herr.Body, "invalid URL on layer") {
		t.Errorf("foreign layer on a default registry: %v, want 500 invalid URL on layer", err)
	}
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := start(t, registrytest.Options{Username: "alice", Password: "s3cret!"})
	img := imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}}
	if _, err := imagetest.PushImage(ctx, reg.Client(), reg.URL(), "private", "v1", img); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
	}{
		{"no credentials", &http.Client{}},
		{"wrong password", imagetest.WithBasicAuth(nil, "alice", "wrong")},
		{"unknown user", imagetest.WithBasicAuth(nil, "bob", "s3cret!")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, _, err := imagetest.GetManifest(ctx, tc.client, reg.URL(), "private", "v1")
			var herr *imagetest.HTTPError
			if !errors.As(err, &herr) || herr.Status != http.StatusUnauthorized {
				t.Fatalf("got %v, want 401", err)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.URL()+"/v2/", http.NoBody)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tc.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got, want := resp.Header.Get("WWW-Authenticate"), `Basic realm="`+registrytest.Realm+`"`; resp.StatusCode != http.StatusUnauthorized || got != want {
				t.Errorf("GET /v2/: %d %q, want 401 %q", resp.StatusCode, got, want)
			}
		})
	}
	if _, _, _, err := imagetest.GetManifest(ctx, imagetest.WithBasicAuth(nil, "alice", "s3cret!"), reg.URL(), "private", "v1"); err != nil {
		t.Errorf("right credentials: %v", err)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := start(t, registrytest.Options{TLS: true})
	if !strings.HasPrefix(reg.URL(), "https://127.0.0.1:") || !reg.TLS() {
		t.Fatalf("URL %s", reg.URL())
	}
	img := imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}}
	if _, err := imagetest.PushImage(ctx, reg.Client(), reg.URL(), "secure", "v1", img); err != nil {
		t.Fatal(err)
	}

	// A client that does not trust the test CA fails verification.
	_, _, _, err := imagetest.GetManifest(ctx, &http.Client{Transport: &http.Transport{}}, reg.URL(), "secure", "v1")
	if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("untrusting client: %v, want an unknown-authority error", err)
	}

	// The CA written as a certs.d directory is what a client needs.
	dir := t.TempDir()
	path, err := reg.CA().WriteCertsDir(dir, reg.Host())
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, reg.Host(), "ca.crt") {
		t.Errorf("certs.d path %s", path)
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pem, reg.CACertPEM()) || !bytes.HasPrefix(pem, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Error("ca.crt differs from CACertPEM")
	}
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	rw := start(t, registrytest.Options{Dir: dir})
	desc, err := imagetest.PushImage(ctx, rw.Client(), rw.URL(), "frozen", "v1", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	rw.Close()

	ro := start(t, registrytest.Options{Dir: dir, ReadOnly: true})
	client := ro.Client()
	if _, _, dgst, err := imagetest.GetManifest(ctx, client, ro.URL(), "frozen", "v1"); err != nil || dgst != desc.Digest {
		t.Fatalf("read from the read-only registry: %s %v", dgst, err)
	}

	// Read-only mode drops the write methods from distribution's routes:
	// gorilla's MethodHandler answers 405 Method Not Allowed, an Allow header
	// listing the read methods, and a plain-text body (no registry error
	// JSON, no UNSUPPORTED code).
	for _, tc := range []struct {
		method, path string
		allow        string
	}{
		{http.MethodPost, "/v2/frozen/blobs/uploads/", "GET, HEAD"},
		{http.MethodPut, "/v2/frozen/manifests/v2", "GET, HEAD"},
		{http.MethodDelete, "/v2/frozen/manifests/" + desc.Digest.String(), "GET, HEAD"},
		{http.MethodDelete, "/v2/frozen/blobs/" + desc.Digest.String(), "GET, HEAD"},
	} {
		req, err := http.NewRequestWithContext(ctx, tc.method, ro.URL()+tc.path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != tc.allow ||
			strings.TrimSpace(string(body)) != "Method not allowed" {
			t.Errorf("%s %s: %d Allow=%q %q, want 405 Allow=%q", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Allow"), body, tc.allow)
		}
	}
}

func TestLogGoesToOptionsLog(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	reg := start(t, registrytest.Options{Log: &buf})
	if _, _, _, err := imagetest.GetManifest(context.Background(), reg.Client(), reg.URL(), "nothing", "here"); !errors.Is(err, imagetest.ErrNotFound) {
		t.Fatalf("got %v, want not found", err)
	}
	reg.Close()
	if !strings.Contains(buf.String(), "manifest unknown") {
		t.Errorf("registry log does not mention the request:\n%s", buf.String())
	}
}

func TestFixedAddr(t *testing.T) {
	t.Parallel()
	reg := start(t, registrytest.Options{Addr: "127.0.0.1:0"})
	if !strings.HasPrefix(reg.Host(), "127.0.0.1:") {
		t.Errorf("host %s", reg.Host())
	}
	if _, err := registrytest.Start(registrytest.Options{Addr: reg.Host()}); err == nil {
		t.Error("second registry on the same address started")
	}
}
