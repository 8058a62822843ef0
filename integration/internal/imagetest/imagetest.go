// Package imagetest makes container images and pushes them to a registry
// over plain HTTP calls of the OCI distribution API, independently of the
// product under test: per-platform images (Docker schema2 or OCI, with any
// config platform), image indexes and Docker manifest lists, and buildx-style
// attestation manifests. It also reads manifests, blobs and tags back for
// assertions.
//
// Images are deterministic: the same Image gives the same digests on every
// run (fixed timestamps and owners in layers, no creation time in configs).
package imagetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"time"

	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker media types (Docker image manifest v2, schema 2).
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
)

// Attestation constants, as buildx writes them.
const (
	MediaTypeInToto           = "application/vnd.in-toto+json"
	AnnotationReferenceType   = "vnd.docker.reference.type"
	AnnotationReferenceDigest = "vnd.docker.reference.digest"
	ReferenceTypeAttestation  = "attestation-manifest"
	AnnotationPredicateType   = "in-toto.io/predicate-type"
	PredicateSLSAProvenance02 = "https://slsa.dev/provenance/v0.2"
)

// streamThreshold is the layer data size above which a layer is streamed
// (chunked PATCH upload) instead of built in memory.
const streamThreshold = 1 << 20

// Format is the media-type flavour of a manifest or index.
type Format int

const (
	// Docker is the Docker image manifest v2 schema 2 (and manifest list).
	Docker Format = iota
	// OCI is the OCI image manifest (and image index).
	OCI
)

func (f Format) String() string {
	if f == OCI {
		return "oci"
	}
	return "docker"
}

// File is one regular file in a layer.
type File struct {
	Name    string
	Content []byte
	// Mode is the permission bits; zero means 0644.
	Mode int64
}

// Layer describes one layer: a gzip-compressed tar archive.
type Layer struct {
	// Files are the archive's entries, in this order.
	Files []File

	// Size, when positive, adds one more file, "data-<Seed>", holding Size
	// pseudo-random bytes derived from Seed. Such a layer is stored, not
	// compressed, and above 1 MiB it is generated while it is uploaded, so a
	// large layer is never held in memory.
	Size int64
	Seed string

	// URLs makes the layer foreign (Docker) or non-distributable (OCI): its
	// descriptor carries these URLs and its blob is not pushed, as with
	// Windows base layers.
	URLs []string
}

// Image describes a single-platform image.
type Image struct {
	// Platform is written into the image config: os, architecture, variant,
	// os.version and os.features. It is also the platform of the returned
	// descriptor.
	Platform ocispec.Platform

	// Format chooses Docker (the zero value) or OCI media types.
	Format Format

	// Files is the first layer's content, path → bytes (mode 0644, in path
	// order). With neither Files nor Layers, the image has one layer holding
	// a file "platform" with the platform's name.
	Files map[string][]byte

	// Layers come after the Files layer.
	Layers []Layer

	// Labels are the config's labels.
	Labels map[string]string

	// Annotations are the manifest's annotations (OCI only).
	Annotations map[string]string
}

// PushImage pushes the image's layers, config and manifest to repo at
// baseURL ("http://host:port"), and tags it with tag (none when tag is
// empty). It returns the manifest's descriptor with the config's platform.
func PushImage(ctx context.Context, client *http.Client, baseURL, repo, tag string, img Image) (ocispec.Descriptor, error) {
	if img.Format == Docker && len(img.Annotations) > 0 {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: a Docker manifest cannot carry annotations")
	}
	layers := img.Layers
	switch {
	case len(img.Files) > 0:
		names := make([]string, 0, len(img.Files))
		for name := range img.Files {
			names = append(names, name)
		}
		sort.Strings(names)
		first := Layer{}
		for _, name := range names {
			first.Files = append(first.Files, File{Name: name, Content: img.Files[name]})
		}
		layers = append([]Layer{first}, layers...)
	case len(layers) == 0:
		layers = []Layer{{Files: []File{{Name: "platform", Content: []byte(platforms.FormatAll(img.Platform) + "\n")}}}}
	}

	config := ocispec.Image{
		Platform: img.Platform,
		Config:   ocispec.ImageConfig{Labels: img.Labels},
		RootFS:   ocispec.RootFS{Type: "layers"},
	}
	manifest := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		Annotations: img.Annotations,
		Layers:      []ocispec.Descriptor{},
	}
	for _, l := range layers {
		desc, diffID, err := pushLayer(ctx, client, baseURL, repo, img.Format, l)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		manifest.Layers = append(manifest.Layers, desc)
		config.RootFS.DiffIDs = append(config.RootFS.DiffIDs, diffID)
	}

	configBytes, err := json.Marshal(config)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: %w", err)
	}
	configType, manifestType := MediaTypeDockerConfig, MediaTypeDockerManifest
	if img.Format == OCI {
		configType, manifestType = ocispec.MediaTypeImageConfig, ocispec.MediaTypeImageManifest
	}
	manifest.MediaType = manifestType
	manifest.Config, err = PushBlob(ctx, client, baseURL, repo, configType, configBytes)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	body, err := json.Marshal(manifest)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: %w", err)
	}
	desc, err := PushManifest(ctx, client, baseURL, repo, tag, manifestType, body)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	p := img.Platform
	p.OSFeatures = append([]string(nil), p.OSFeatures...)
	desc.Platform = &p
	return desc, nil
}

// IndexOptions configures PushIndex. The zero value makes a Docker manifest
// list without annotations.
type IndexOptions struct {
	// Format chooses a Docker manifest list (the zero value) or an OCI image
	// index.
	Format Format
	// Annotations are the index's annotations (OCI only).
	Annotations map[string]string
}

// PushIndex pushes an index of manifests (descriptors as PushImage and
// PushAttestation return them, in this order) and tags it with tag (none
// when empty). The children must already be in repo.
func PushIndex(ctx context.Context, client *http.Client, baseURL, repo, tag string, manifests []ocispec.Descriptor, opts IndexOptions) (ocispec.Descriptor, error) {
	body, mediaType, err := IndexBytes(manifests, opts)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return PushManifest(ctx, client, baseURL, repo, tag, mediaType, body)
}

// IndexBytes returns the bytes and media type of the index PushIndex would
// push.
func IndexBytes(manifests []ocispec.Descriptor, opts IndexOptions) ([]byte, string, error) {
	mediaType := MediaTypeDockerManifestList
	if opts.Format == OCI {
		mediaType = ocispec.MediaTypeImageIndex
	} else {
		if len(opts.Annotations) > 0 {
			return nil, "", fmt.Errorf("imagetest: a Docker manifest list cannot carry annotations")
		}
		for _, m := range manifests {
			if len(m.Annotations) > 0 {
				return nil, "", fmt.Errorf("imagetest: %s: a Docker manifest list entry cannot carry annotations", m.Digest)
			}
		}
	}
	index := ocispec.Index{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   mediaType,
		Manifests:   manifests,
		Annotations: opts.Annotations,
	}
	if index.Manifests == nil {
		index.Manifests = []ocispec.Descriptor{}
	}
	body, err := json.Marshal(index)
	if err != nil {
		return nil, "", fmt.Errorf("imagetest: %w", err)
	}
	return body, mediaType, nil
}

// PushAttestation pushes a buildx-style attestation manifest for subject (an
// image manifest already in repo): an OCI manifest whose layer is an in-toto
// SLSA provenance statement about subject. It returns the descriptor to put
// in an OCI index: platform unknown/unknown, annotated with
// vnd.docker.reference.type=attestation-manifest and
// vnd.docker.reference.digest=<subject digest>.
func PushAttestation(ctx context.Context, client *http.Client, baseURL, repo string, subject ocispec.Descriptor) (ocispec.Descriptor, error) {
	statement := map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": PredicateSLSAProvenance02,
		"subject": []map[string]any{{
			"name":   "_",
			"digest": map[string]string{subject.Digest.Algorithm().String(): subject.Digest.Encoded()},
		}},
		"predicate": map[string]any{
			"builder":   map[string]string{"id": "https://example.com/imagetest"},
			"buildType": "https://mobyproject.org/buildkit@v1",
		},
	}
	layerBytes, err := json.Marshal(statement)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: %w", err)
	}
	layer, err := PushBlob(ctx, client, baseURL, repo, MediaTypeInToto, layerBytes)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	layer.Annotations = map[string]string{AnnotationPredicateType: PredicateSLSAProvenance02}
	config := ocispec.Image{
		Platform: ocispec.Platform{OS: "unknown", Architecture: "unknown"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.Digest}},
	}
	configBytes, err := json.Marshal(config)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: %w", err)
	}
	configDesc, err := PushBlob(ctx, client, baseURL, repo, ocispec.MediaTypeImageConfig, configBytes)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    []ocispec.Descriptor{layer},
	}
	body, err := json.Marshal(manifest)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: %w", err)
	}
	desc, err := PushManifest(ctx, client, baseURL, repo, "", ocispec.MediaTypeImageManifest, body)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc.Platform = &ocispec.Platform{OS: "unknown", Architecture: "unknown"}
	desc.Annotations = map[string]string{
		AnnotationReferenceDigest: subject.Digest.String(),
		AnnotationReferenceType:   ReferenceTypeAttestation,
	}
	return desc, nil
}

// Buildx is the result of PushBuildx.
type Buildx struct {
	// Index is the OCI index's descriptor.
	Index ocispec.Descriptor
	// Images are the image entries, in the order given.
	Images []ocispec.Descriptor
	// Attestations are the attestation entries, Attestations[i] for Images[i].
	Attestations []ocispec.Descriptor
}

// PushBuildx pushes what `docker buildx build --platform ... --push` leaves
// in a registry: the images, an attestation manifest for each, and an OCI
// index listing the images and then the attestations, tagged with tag.
func PushBuildx(ctx context.Context, client *http.Client, baseURL, repo, tag string, images []Image) (Buildx, error) {
	var out Buildx
	for _, img := range images {
		desc, err := PushImage(ctx, client, baseURL, repo, "", img)
		if err != nil {
			return Buildx{}, err
		}
		att, err := PushAttestation(ctx, client, baseURL, repo, desc)
		if err != nil {
			return Buildx{}, err
		}
		out.Images = append(out.Images, desc)
		out.Attestations = append(out.Attestations, att)
	}
	entries := append(append([]ocispec.Descriptor(nil), out.Images...), out.Attestations...)
	index, err := PushIndex(ctx, client, baseURL, repo, tag, entries, IndexOptions{Format: OCI})
	if err != nil {
		return Buildx{}, err
	}
	out.Index = index
	return out, nil
}

// pushLayer builds and pushes one layer (unless it is foreign) and returns
// its descriptor and diff ID.
func pushLayer(ctx context.Context, client *http.Client, baseURL, repo string, format Format, l Layer) (ocispec.Descriptor, digest.Digest, error) {
	mediaType := MediaTypeDockerLayer
	switch {
	case format == OCI && len(l.URLs) > 0:
		//lint:ignore SA1019 the deprecated type is what old Windows images carry
		mediaType = ocispec.MediaTypeImageLayerNonDistributableGzip
	case format == OCI:
		mediaType = ocispec.MediaTypeImageLayerGzip
	case len(l.URLs) > 0:
		mediaType = MediaTypeDockerForeignLayer
	}

	if l.Size > streamThreshold {
		var desc ocispec.Descriptor
		var diffID digest.Digest
		if len(l.URLs) > 0 {
			d, dd, size, err := writeLayer(io.Discard, l)
			if err != nil {
				return ocispec.Descriptor{}, "", err
			}
			desc, diffID = ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: size}, dd
		} else {
			d, err := pushBlobStream(ctx, client, baseURL, repo, mediaType, func(w io.Writer) error {
				_, dd, _, err := writeLayer(w, l)
				diffID = dd
				return err
			})
			if err != nil {
				return ocispec.Descriptor{}, "", err
			}
			desc = d
		}
		desc.URLs = l.URLs
		return desc, diffID, nil
	}

	var buf bytes.Buffer
	_, diffID, _, err := writeLayer(&buf, l)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	if len(l.URLs) > 0 {
		desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(buf.Bytes()), Size: int64(buf.Len()), URLs: l.URLs}
		return desc, diffID, nil
	}
	desc, err := PushBlob(ctx, client, baseURL, repo, mediaType, buf.Bytes())
	return desc, diffID, err
}

// writeLayer writes the layer's tar.gz to w and returns its digest, its
// diff ID (the digest of the uncompressed tar) and its compressed size.
func writeLayer(w io.Writer, l Layer) (digest.Digest, digest.Digest, int64, error) {
	compressed := digest.Canonical.Digester()
	counter := &countWriter{}
	level := gzip.BestSpeed
	if l.Size > 0 {
		level = gzip.NoCompression // random data does not compress; storing it is fast
	}
	gz, err := gzip.NewWriterLevel(io.MultiWriter(w, compressed.Hash(), counter), level)
	if err != nil {
		return "", "", 0, fmt.Errorf("imagetest: %w", err)
	}
	uncompressed := digest.Canonical.Digester()
	tw := tar.NewWriter(io.MultiWriter(gz, uncompressed.Hash()))
	header := func(name string, mode, size int64) *tar.Header {
		if mode == 0 {
			mode = 0o644
		}
		return &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name,
			Mode:     mode,
			Size:     size,
			ModTime:  time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
			Uname:    "root",
			Gname:    "root",
		}
	}
	for _, f := range l.Files {
		if err := tw.WriteHeader(header(f.Name, f.Mode, int64(len(f.Content)))); err != nil {
			return "", "", 0, fmt.Errorf("imagetest: tar %s: %w", f.Name, err)
		}
		if _, err := tw.Write(f.Content); err != nil {
			return "", "", 0, fmt.Errorf("imagetest: tar %s: %w", f.Name, err)
		}
	}
	if l.Size > 0 {
		name := "data-" + l.Seed
		if err := tw.WriteHeader(header(name, 0, l.Size)); err != nil {
			return "", "", 0, fmt.Errorf("imagetest: tar %s: %w", name, err)
		}
		if _, err := io.CopyN(tw, NewRandomReader(l.Seed), l.Size); err != nil {
			return "", "", 0, fmt.Errorf("imagetest: tar %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return "", "", 0, fmt.Errorf("imagetest: tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return "", "", 0, fmt.Errorf("imagetest: gzip: %w", err)
	}
	return compressed.Digest(), uncompressed.Digest(), counter.n, nil
}

// NewRandomReader returns an endless reader of pseudo-random bytes that are
// the same for the same seed on every run and machine (ChaCha8 keyed by the
// SHA-256 of seed).
func NewRandomReader(seed string) io.Reader {
	return rand.NewChaCha8(sha256.Sum256([]byte(seed)))
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// NthPlatform is the i-th of a list of distinct platforms, for tests that
// need many images: eight Linux ones, then Windows releases (distinct by
// os.version), as many as needed.
func NthPlatform(i int) ocispec.Platform {
	linux := []ocispec.Platform{
		{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"},
		{OS: "linux", Architecture: "arm", Variant: "v7"}, {OS: "linux", Architecture: "s390x"},
		{OS: "linux", Architecture: "ppc64le"}, {OS: "linux", Architecture: "386"},
		{OS: "linux", Architecture: "riscv64"}, {OS: "linux", Architecture: "arm", Variant: "v6"},
	}
	if i < len(linux) {
		return linux[i]
	}
	return ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: fmt.Sprintf("10.0.20348.%d", i)}
}
