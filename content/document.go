package content

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	ctdimages "github.com/containerd/containerd/v2/core/images"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var (
	// ErrNotFound: a repository, manifest or blob does not exist where it
	// was read (a registry's 404, NAME_UNKNOWN, MANIFEST_UNKNOWN,
	// BLOB_UNKNOWN; a layout without that file or tag).
	ErrNotFound = errors.New("not found")
	// ErrDigestMismatch: content read does not match its digest or size.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrUnsupported: a manifest of a media type manifest-push cannot handle
	// (for example a schema 1 manifest).
	ErrUnsupported = errors.New("unsupported media type")
)

// MaxManifestSize is the largest manifest or index read, from a registry or
// a layout.
const MaxManifestSize = 4 << 20

// Document is a manifest or an index whose bytes were verified against its
// digest: Desc gives its media type, digest and size, all of them those of
// Data.
type Document struct {
	Desc ocispec.Descriptor
	Data []byte
}

// Fetcher reads one place's manifests and blobs, verified: a registry
// repository (registry.Client.Repository) and an OCI image layout
// (layout.Layout) are both one. The use cases read every source through it
// and never ask which it is.
type Fetcher interface {
	// ReadManifest reads the manifest or index d, at most MaxManifestSize
	// bytes, verified against d; one that is not there wraps ErrNotFound.
	ReadManifest(ctx context.Context, d digest.Digest) (Document, error)
	// ReadBlob reads a small blob (a config), verified against d; one
	// larger than limit bytes is refused unread.
	ReadBlob(ctx context.Context, d ocispec.Descriptor, limit int64) ([]byte, error)
	// OpenBlob streams blob d; the stream fails at its end unless it
	// matches d (VerifyingReader).
	OpenBlob(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error)
}

// Successors are what a document refers to, by kind: an index's manifests,
// a manifest's config and layers, and the subject of either.
type Successors struct {
	Manifests []ocispec.Descriptor
	Config    *ocispec.Descriptor
	Layers    []ocispec.Descriptor
	Subject   *ocispec.Descriptor
	// Annotations are the document's own annotations, and ArtifactType
	// its artifactType field (not successors, read with them).
	Annotations  map[string]string
	ArtifactType string
}

// Blobs are the config and the layers a registry hands out, each once:
// non-distributable (foreign) layers are left out.
func (s Successors) Blobs() []ocispec.Descriptor {
	var out []ocispec.Descriptor
	seen := map[digest.Digest]bool{}
	all := s.Layers
	if s.Config != nil {
		all = append([]ocispec.Descriptor{*s.Config}, s.Layers...)
	}
	for _, b := range all {
		if seen[b.Digest] || NonDistributable(b.MediaType) {
			continue
		}
		seen[b.Digest] = true
		out = append(out, b)
	}
	return out
}

// SuccessorsOf parses doc and says what it refers to: the one function
// that reads a document's links, for every walk of a graph.
func SuccessorsOf(doc Document) (Successors, error) {
	var s Successors
	if IsIndex(doc.Desc.MediaType) {
		var idx ocispec.Index
		if err := json.Unmarshal(doc.Data, &idx); err != nil {
			return s, fmt.Errorf("reading the index %s: %w", doc.Desc.Digest, err)
		}
		s.Manifests, s.Subject, s.Annotations, s.ArtifactType = idx.Manifests, idx.Subject, idx.Annotations, idx.ArtifactType
		return s, nil
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(doc.Data, &m); err != nil {
		return s, fmt.Errorf("reading the manifest %s: %w", doc.Desc.Digest, err)
	}
	s.Config, s.Layers, s.Subject, s.Annotations, s.ArtifactType = &m.Config, m.Layers, m.Subject, m.Annotations, m.ArtifactType
	return s, nil
}

// MediaTypeOf tells the media type of a manifest or an index read from
// elsewhere than a registry (an OCI layout): the one the document states,
// else what its fields say. A document that is neither is ErrUnsupported.
func MediaTypeOf(data []byte) (string, error) { return MediaTypeWith(data, "") }

// MediaTypeWith tells a manifest's media type: the one the document
// states, else contentType (a registry's Content-Type), else what its
// fields say.
func MediaTypeWith(data []byte, contentType string) (string, error) {
	var probe struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     string          `json:"mediaType"`
		Manifests     json.RawMessage `json:"manifests"`
		Config        json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return "", fmt.Errorf("not a manifest: %w", err)
	}
	mt := probe.MediaType
	if mt == "" {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.TrimSpace(mt)
	}
	if !ctdimages.IsIndexType(mt) && !ctdimages.IsManifestType(mt) {
		switch {
		case probe.SchemaVersion == 2 && probe.Manifests != nil:
			mt = ocispec.MediaTypeImageIndex
		case probe.SchemaVersion == 2 && probe.Config != nil:
			mt = ocispec.MediaTypeImageManifest
		default:
			return "", fmt.Errorf("manifest of media type %q (schema %d): %w", mt, probe.SchemaVersion, ErrUnsupported)
		}
	}
	return mt, nil
}

// VerifyingReader reads r and checks it against d as it goes: at its end, a
// wrong size or digest is an error wrapping ErrDigestMismatch. It reads at
// most d.Size+1 bytes of r.
func VerifyingReader(r io.Reader, d ocispec.Descriptor) io.Reader {
	return &verifier{r: io.LimitReader(r, d.Size+1), d: d, v: d.Digest.Verifier()}
}

// verifier checks a stream against a descriptor as it is read.
type verifier struct {
	r    io.Reader
	d    ocispec.Descriptor
	v    digest.Verifier
	read int64
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.read += int64(n)
	if _, werr := v.v.Write(p[:n]); werr != nil {
		return n, werr
	}
	if err == io.EOF && (v.read != v.d.Size || !v.v.Verified()) {
		return n, fmt.Errorf("blob %s: content read does not match the digest and size %d: %w", v.d.Digest, v.d.Size, ErrDigestMismatch)
	}
	return n, err
}
