// Package content names what a manifest graph is made of, for every package
// that reads or writes one (the planner, the use cases, the registry client
// and the CLI): the media types of manifests, indexes and layers, the
// annotation keys that mark Docker attestation manifests, the predicates
// over them, and the one deterministic encoding of an index document.
package content

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	ctdimages "github.com/containerd/containerd/v2/core/images"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types of the Docker image manifest v2.2 family, by containerd's
// names.
const (
	MediaTypeDockerManifest     = ctdimages.MediaTypeDockerSchema2Manifest
	MediaTypeDockerManifestList = ctdimages.MediaTypeDockerSchema2ManifestList
)

// Annotations that buildx puts on the attestation manifests of an index
// (rule P4): the kind of reference, and the digest of the image entry the
// attestation is about.
const (
	AnnotationReferenceType   = "vnd.docker.reference.type"
	AnnotationReferenceDigest = "vnd.docker.reference.digest"
	attestationManifest       = "attestation-manifest"
)

// Media types of layers that registries do not distribute (Windows base
// layers, pulled from the URLs in their descriptors).
const (
	mediaTypeDockerForeignLayer      = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	mediaTypeOCINonDistributablePref = "application/vnd.oci.image.layer.nondistributable."
)

// IsIndex reports whether mediaType is an OCI index or a Docker manifest list.
func IsIndex(mediaType string) bool { return ctdimages.IsIndexType(mediaType) }

// IsManifest reports whether mediaType is an OCI or Docker v2.2 image manifest.
func IsManifest(mediaType string) bool { return ctdimages.IsManifestType(mediaType) }

// IsAttestation reports whether d is a Docker attestation manifest of an
// index (rule P4).
func IsAttestation(d ocispec.Descriptor) bool {
	return d.Annotations[AnnotationReferenceType] == attestationManifest
}

// AttestationOf is the digest of the image entry an attestation manifest
// is about; empty for any other descriptor.
func AttestationOf(d ocispec.Descriptor) digest.Digest {
	if !IsAttestation(d) {
		return ""
	}
	return digest.Digest(d.Annotations[AnnotationReferenceDigest])
}

// IsImageEntry reports whether d, an index entry, is an image of a
// platform: an image manifest with a platform, not an attestation.
func IsImageEntry(d ocispec.Descriptor) bool {
	return d.Platform != nil && IsManifest(d.MediaType) && !IsAttestation(d)
}

// NonDistributable reports whether a layer of this media type lives outside
// registries: such layers are neither copied nor required.
func NonDistributable(mediaType string) bool {
	return mediaType == mediaTypeDockerForeignLayer || strings.HasPrefix(mediaType, mediaTypeOCINonDistributablePref)
}

// The wire forms of an index, with a fixed field order.
type (
	wireIndex struct {
		SchemaVersion int               `json:"schemaVersion"`
		MediaType     string            `json:"mediaType"`
		ArtifactType  string            `json:"artifactType,omitempty"`
		Manifests     []wireDescriptor  `json:"manifests"`
		Subject       *wireSubject      `json:"subject,omitempty"`
		Annotations   map[string]string `json:"annotations,omitempty"`
	}
	wireSubject struct {
		MediaType string        `json:"mediaType"`
		Digest    digest.Digest `json:"digest"`
		Size      int64         `json:"size"`
	}
	wireDescriptor struct {
		MediaType    string            `json:"mediaType"`
		Digest       digest.Digest     `json:"digest"`
		Size         int64             `json:"size"`
		Platform     *wirePlatform     `json:"platform,omitempty"`
		ArtifactType string            `json:"artifactType,omitempty"`
		Annotations  map[string]string `json:"annotations,omitempty"`
	}
	wirePlatform struct {
		Architecture string   `json:"architecture"`
		OS           string   `json:"os"`
		OSVersion    string   `json:"os.version,omitempty"`
		OSFeatures   []string `json:"os.features,omitempty"`
		Variant      string   `json:"variant,omitempty"`
		Features     []string `json:"features,omitempty"`
	}
)

// Index is an encoded index document.
type Index struct {
	Bytes      []byte
	Descriptor ocispec.Descriptor
}

// EncodeIndex renders an index deterministically: fixed field order,
// entries in the order given, map keys sorted, no HTML escaping, no
// timestamps, three-space indentation. The same inputs give the same bytes,
// and so the same digest, on every run and every machine. A Docker manifest
// list carries no annotations and no artifact types (its schema has no
// place for them): they are left out.
func EncodeIndex(mediaType string, annotations map[string]string, entries []ocispec.Descriptor) (Index, error) {
	return EncodeIndexFeatures(mediaType, annotations, entries, nil)
}

// EncodeIndexFeatures is EncodeIndex with each entry's platform "features"
// (features[i] for entries[i]; a short or nil features gives none): a
// Docker manifest list's platform has the field (schema v2.2), written last;
// an OCI index's has none, and they are left out of it.
func EncodeIndexFeatures(mediaType string, annotations map[string]string, entries []ocispec.Descriptor, features [][]string) (Index, error) {
	return EncodeIndexWith(mediaType, entries, IndexFields{Annotations: annotations, Features: features})
}

// IndexFields are what an index holds besides its entries: annotations
// and, for an artifact index, its artifactType and subject (OCI only: a
// Docker manifest list leaves them out), and each entry's platform
// "features" (Docker only).
type IndexFields struct {
	Annotations  map[string]string
	ArtifactType string
	// Subject, when set, makes the index a referrer of that manifest: its
	// media type, digest and size are written.
	Subject  *ocispec.Descriptor
	Features [][]string
}

// EncodeIndexWith is EncodeIndex with every field of f.
func EncodeIndexWith(mediaType string, entries []ocispec.Descriptor, f IndexFields) (Index, error) {
	annotations, features := f.Annotations, f.Features
	doc := wireIndex{SchemaVersion: 2, MediaType: mediaType, Manifests: make([]wireDescriptor, 0, len(entries))}
	oci := mediaType == ocispec.MediaTypeImageIndex
	if oci && len(annotations) > 0 {
		doc.Annotations = annotations
	}
	if oci {
		doc.ArtifactType = f.ArtifactType
		if s := f.Subject; s != nil {
			doc.Subject = &wireSubject{MediaType: s.MediaType, Digest: s.Digest, Size: s.Size}
		}
	}
	for i, d := range entries {
		w := wireDescriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
		if d.Platform != nil {
			w.Platform = &wirePlatform{
				Architecture: d.Platform.Architecture,
				OS:           d.Platform.OS,
				OSVersion:    d.Platform.OSVersion,
				OSFeatures:   d.Platform.OSFeatures,
				Variant:      d.Platform.Variant,
			}
			if !oci && i < len(features) {
				w.Platform.Features = features[i]
			}
		}
		if oci {
			w.ArtifactType = d.ArtifactType
			if len(d.Annotations) > 0 {
				w.Annotations = d.Annotations
			}
		}
		doc.Manifests = append(doc.Manifests, w)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "   ")
	if err := enc.Encode(doc); err != nil {
		return Index{}, fmt.Errorf("encoding the index: %w", err)
	}
	raw := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return Index{Bytes: raw, Descriptor: ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(raw), Size: int64(len(raw))}}, nil
}
