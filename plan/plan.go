// Package plan turns resolved sources into the exact bytes of the index to
// push and the list of manifests it refers to, applying the platform rules
// (P1–P6) and the media type rules of docs/rules.md. It is pure: it takes
// plain values (what each source asked for and what the registry said) and
// returns values; the publish package feeds it what it read and writes what
// it returns.
package plan

import (
	"time"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Input is what an index is built from.
type Input struct {
	// Type is spec.TypeAuto, spec.TypeOCI or spec.TypeDocker; empty means
	// auto.
	Type spec.IndexType
	// Annotations are the index annotations (OCI only).
	Annotations map[string]string
	// Sources are the resolved sources, in the order of the index.
	Sources []Source
	// Select, when not empty, keeps only the entries of these platforms
	// (spec.Request.Select); one that no source gives is an error.
	Select []ocispec.Platform
	// Current, when set, is what the target tag holds now, to be updated
	// (spec.Request.Append): an index (Children) or a single image (Config).
	// Its entries stay for every platform the sources do not give, in its
	// order; the sources' entries replace those of the same platform, in
	// place, and the others come after; attestations follow their image.
	Current *Source
	// Remove are platforms whose entries, and their attestations, are left
	// out (fields left empty match any value). One that no entry has is a
	// warning; removing every entry is an error.
	Remove []ocispec.Platform
	// ArtifactType and Subject make the index an artifact index (OCI
	// only): its artifactType, and the manifest it refers to (media type,
	// digest, size). Empty and nil: none, unless Current has them (an
	// update keeps them).
	ArtifactType string
	Subject      *ocispec.Descriptor
	// Created, when set, is the time an OCI index records as its
	// annotation org.opencontainers.image.created (RFC 3339, UTC), unless
	// Annotations give that annotation already; it never changes the
	// index's media type, and a Docker manifest list, which carries no
	// annotations, leaves it out with a warning. Nil adds nothing.
	Created *time.Time
}

// Source is one source after resolution: what was asked of it, and what the
// registry holds.
type Source struct {
	// Ref is the source's normalised reference (its registry, repository,
	// and tag or digest); nil for a source in an OCI image layout.
	Ref reference.Named
	// Layout is the source when it is an OCI image layout; nil otherwise.
	Layout *spec.LayoutRef
	// Pos is where the source is given (a spec file position), for
	// messages; zero when unknown.
	Pos spec.Pos
	// Platform is the platform asked for (normalised), nil when none; its
	// os and architecture may be empty, to be filled from the config (P1).
	Platform *ocispec.Platform
	// Features is the platform's "features" asked for (spec.Entry.Features):
	// part of the duplicate-platform key of rule P5, and written into a
	// Docker manifest list's platform (an OCI index has no such field and
	// leaves it out with a warning).
	Features []string
	// Annotations are the descriptor annotations asked for (OCI only).
	Annotations map[string]string
	// Missing is set when the registry said the source does not exist and
	// missing sources are ignored; the entry is then left out.
	Missing bool
	// Descriptor is what the source reference resolved to: media type,
	// digest and size of a manifest or an index.
	Descriptor ocispec.Descriptor
	// Config is the platform that an image manifest's config declares
	// (os, architecture, variant, os.version, os.features); nil for an index.
	Config *ocispec.Platform
	// Children are an index source's entries in its order, nested indexes
	// already flattened, attestation manifests included; nil for a manifest.
	Children []ocispec.Descriptor
	// Inner, for an index source that nests indexes, gives for each child
	// listed by one of its inner indexes (not by the source itself) the
	// digest of the inner index that lists it. Two entries of one platform
	// from two inner indexes are refused naming them (rule P5); nil when
	// the source nests none.
	Inner map[digest.Digest]digest.Digest
	// IndexAnnotations are an index's own annotations; used for
	// Input.Current only, whose annotations an update keeps unless the
	// spec gives its own.
	IndexAnnotations map[string]string
	// IndexArtifactType and IndexSubject are an index's own artifactType
	// and subject; used for Input.Current only, as IndexAnnotations.
	IndexArtifactType string
	IndexSubject      *ocispec.Descriptor
}

// Options controls Build. The zero value is useful.
type Options struct {
	// StrictPlatform turns the platform warnings of rules P2 and P5 into
	// errors.
	StrictPlatform bool
	// DropAttestations leaves attestation manifests out, from the sources
	// and from Input.Current alike.
	DropAttestations bool
	// Names are what errors and warnings call the options of the run
	// (spec.Option) that would change them; nil calls them by their
	// fields.
	Names spec.Names
}

// Plan is the index to push.
type Plan struct {
	// Bytes is the index document, deterministic for the same inputs.
	Bytes []byte
	// Descriptor describes Bytes: its media type (an OCI index or a Docker
	// manifest list), digest and size.
	Descriptor ocispec.Descriptor
	// Entries are the index entries in order.
	Entries []Entry
	// Warnings are human-readable warnings (P2 mismatches, P3 config values
	// left out, P5 same digest, dropped attestations).
	Warnings []string
	// ArtifactType and Subject are what Bytes says of them (an artifact
	// index): empty and nil for an image index.
	ArtifactType string
	Subject      *ocispec.Descriptor
}

// Entry is one descriptor of the index and where its manifest comes from.
type Entry struct {
	// Source is the resolved source the entry came from.
	Source *Source
	// Descriptor is the descriptor as written into the index, platform and
	// annotations included.
	Descriptor ocispec.Descriptor
	// Attestation is set for an attestation manifest carried along (P4).
	Attestation bool
	// Kept is set for an entry kept from Input.Current: it is in the
	// target repository already.
	Kept bool
}

// Name names the source in messages: its reference, or its oci-layout:
// form.
func (s *Source) Name() string {
	switch {
	case s.Layout != nil:
		return s.Layout.String()
	case s.Ref != nil:
		return s.Ref.String()
	}
	return "no source"
}

// nameAt names manifest d in the source's repository or layout, as a
// source reference: REPOSITORY@DIGEST, or oci-layout:PATH@DIGEST.
func (s *Source) nameAt(d digest.Digest) string {
	switch {
	case s.Layout != nil:
		return (&spec.LayoutRef{Path: s.Layout.Path, Digest: d}).String()
	case s.Ref != nil:
		return reference.TrimNamed(s.Ref).String() + "@" + d.String()
	}
	return d.String()
}
