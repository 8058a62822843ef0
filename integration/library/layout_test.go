package library

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/layout"
	"github.com/manifest-push/manifest-push/registry"
)

// TestLayoutWrittenByGoContainerregistry: a layout that
// go-containerregistry's layout package writes (an image, and an index of
// two, tagged) is read by package layout: Resolve by tag, by digest and
// without either, every blob streamed and verified. Its blobs are then
// pushed with Client.PushBlob into the real registry, which checks their
// digests, a second push of each uploads nothing, and crane pulls the
// image back whole.
func TestLayoutWrittenByGoContainerregistry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	p, err := ggcrlayout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(512, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, ggcrlayout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: "img"})); err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx, ggcrlayout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: "idx"})); err != nil {
		t.Fatal(err)
	}

	l, err := layout.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}()
	if _, err := l.Resolve(ctx, ""); !errors.Is(err, layout.ErrAmbiguous) {
		t.Errorf("no tag in a layout of two: %v, want ErrAmbiguous", err)
	}
	imgDigest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	idxDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := l.Resolve(ctx, "img")
	if err != nil || doc.Desc.Digest.String() != imgDigest.String() {
		t.Fatalf("Resolve(img) = %v, %v; want %s", doc.Desc.Digest, err, imgDigest)
	}
	if d, err := l.Resolve(ctx, "idx"); err != nil || d.Desc.Digest.String() != idxDigest.String() || d.Desc.MediaType != ocispec.MediaTypeImageIndex {
		t.Errorf("Resolve(idx) = %+v, %v; want the index %s", d.Desc, err, idxDigest)
	}
	if d, err := l.Resolve(ctx, idxDigest.String()); err != nil || d.Desc.Digest.String() != idxDigest.String() {
		t.Errorf("Resolve(digest) = %v, %v", d.Desc.Digest, err)
	}

	var m ocispec.Manifest
	if err := json.Unmarshal(doc.Data, &m); err != nil {
		t.Fatal(err)
	}
	c := registry.NewClient(registry.Options{PlainHTTP: true, DockerConfig: t.TempDir()})
	repo := registry.Repo{Domain: e.Proxy.Host(), Path: "from/layout"}
	blobs := append([]ocispec.Descriptor{m.Config}, m.Layers...)
	for _, b := range blobs {
		n, err := c.PushBlob(ctx, repo, b, func(ctx context.Context) (io.ReadCloser, error) { return l.OpenBlob(ctx, b) }, nil)
		if err != nil {
			t.Fatalf("PushBlob %s: %v", b.Digest, err)
		}
		if n != b.Size {
			t.Errorf("PushBlob %s sent %d bytes, want %d", b.Digest, n, b.Size)
		}
	}
	if err := c.PutManifest(ctx, repo, doc.Desc.Digest.String(), doc); err != nil {
		t.Fatal(err)
	}
	e.hasImage("from/layout", doc.Desc.Digest)

	e.Proxy.Reset()
	for _, b := range blobs {
		n, err := c.PushBlob(ctx, repo, b, func(ctx context.Context) (io.ReadCloser, error) {
			t.Errorf("blob %s opened again, though the repository has it", b.Digest)
			return l.OpenBlob(ctx, b)
		}, nil)
		if err != nil || n != 0 {
			t.Errorf("PushBlob again: %d bytes, %v; want none", n, err)
		}
	}
	if w := e.Proxy.Writes(); w != 0 {
		t.Errorf("pushing blobs the repository has: %d writes, want none", w)
	}

	pulled, err := crane.Pull(e.Registry.URL()[len("http://"):]+"/from/layout@"+doc.Desc.Digest.String(), crane.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := crane.Export(pulled, io.Discard); err != nil {
		t.Errorf("crane reads the pushed image back: %v", err)
	}
	if got, err := pulled.Digest(); err != nil || got != v1.Hash(imgDigest) {
		t.Errorf("crane pulls %v (%v), want %s", got, err, imgDigest)
	}
}

// TestPushBlobRefusesACorruptStream: a layout blob whose bytes do not match
// its digest never lands in the registry: the stream fails at its end and
// the registry's digest check refuses it; the error names the file.
func TestPushBlobRefusesACorruptStream(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := registry.NewClient(registry.Options{PlainHTTP: true, DockerConfig: t.TempDir()})
	repo := registry.Repo{Domain: e.Proxy.Host(), Path: "from/corrupt"}
	dir := t.TempDir()
	p, err := ggcrlayout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ld, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	size, err := layers[0].Size()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "blobs", ld.Algorithm, ld.Hex)
	corruptFile(t, file)

	l, err := layout.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}()
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.Digest(ld.String()), Size: size}
	_, err = c.PushBlob(ctx, repo, d, func(ctx context.Context) (io.ReadCloser, error) { return l.OpenBlob(ctx, d) }, nil)
	if !errors.Is(err, registry.ErrDigestMismatch) {
		t.Fatalf("PushBlob of a corrupt blob: %v, want ErrDigestMismatch", err)
	}
	if ok, err := c.HasBlob(ctx, repo, d.Digest); err != nil || ok {
		t.Errorf("the registry has the corrupt blob (%v, %v)", ok, err)
	}
}

// corruptFile flips one byte in the middle of file: same size, other bytes.
func corruptFile(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
