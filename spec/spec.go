// Package spec holds the description of a multi-platform image: it loads it
// from manifest-tool's YAML format (strictly, with positions), builds it from
// from-args flags with template expansion, and validates it. It is pure: it
// never touches the network.
//
// Rules beyond manifest-tool's format:
//
//   - References are normalised as docker does (hello →
//     docker.io/library/hello:latest). The target must be a tag; sources may
//     be tagged or by digest.
//   - Extra tags keep their order; repeats and the target's own tag are
//     dropped silently.
//   - A platform may leave out os and architecture (they come from the image
//     config later), but not give a variant without an architecture, and an
//     empty platform mapping is an error. Aliases are normalised without
//     inventing a variant (see package platform).
//   - Two entries whose platforms both give os and architecture and are
//     equal once normalised (os.version, os.features and features included,
//     as sets) are an error (rule P5).
//   - Annotations, at index or entry level, with type docker are an error.
//   - ${VAR} and ${VAR:-default} are expanded in values, never in keys; "$$"
//     is "$" and a "$" not followed by "{" stays as it is.
//   - Anchors, aliases, merge keys and YAML tags other than !!str, !!map and
//     !!seq are rejected; scalars are taken as written (tags: [1.0] is the
//     tag "1.0").
//   - Errors are sorted by position; at most MaxErrors are reported.
package spec

import (
	"fmt"
	"slices"

	"github.com/distribution/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// IndexType is the kind of index to push: auto, oci or docker (the spec's
// type key, the --type flag). Empty means TypeAuto.
type IndexType string

// Type values for Spec.Type.
const (
	TypeAuto   IndexType = "auto"
	TypeOCI    IndexType = "oci"
	TypeDocker IndexType = "docker"
)

// Spec is a validated description of one multi-platform image.
type Spec struct {
	// Name is where the spec came from: a file name, "-" for standard input,
	// or "from-args".
	Name string
	// Target is the normalised target reference; a missing tag is "latest".
	Target reference.NamedTagged
	// Tags are the extra tags, in order, without duplicates and without the
	// target's own tag.
	Tags []string
	// Type is TypeAuto, TypeOCI or TypeDocker; empty means TypeAuto.
	Type IndexType
	// Annotations are the index annotations (OCI only); nil when none.
	Annotations map[string]string
	// Manifests are the entries, in spec order.
	Manifests []Entry
	// Mirrors are more targets that get the same index, its children and
	// referrers, and the extra tags, each in its own repository under its
	// own tag (see docs/rules.md, "Mirrors"): the file's mirrors key. A
	// run may name more (Request.Mirrors).
	Mirrors []reference.NamedTagged
	// ArtifactType, when set, makes the index an artifact index of that
	// type (OCI only): the file's artifactType key, --artifact-type.
	ArtifactType string
	// Subject, when set, is the manifest the index refers to (OCI only):
	// the index is written after the subject is in the target repository,
	// and listed among its referrers. The file's subject key, --subject.
	Subject reference.Named
	// Sign is the file's sign key: how a push signs the index and its
	// children before any tag moves (docs/rules.md, "Signing"). Nil when
	// the file has none; a run may ask for signing all the same
	// (Request.Sign).
	Sign *Signing
}

// Request is what one run asks of a push beyond what its spec says: the
// run's choices, from the command line or a Go caller (publish.Options
// carries it). Nothing in it is written into the Spec; Check validates
// the two together, in one place.
type Request struct {
	// Select, when not empty, chooses among the platforms the sources give:
	// only entries of these platforms go into the index, and a platform no
	// source gives is an error (from-args with source arguments and
	// --platforms). Each is normalised; fields left empty match any value.
	Select []ocispec.Platform
	// Append makes the index an update of what the target tag holds now:
	// its entries stay for every platform the spec's entries do not give,
	// and the spec's entries replace those of the same platform (see
	// docs/rules.md, "Updating an index"). With no target tag yet it is a
	// normal push. The spec's manifests may then be empty if Remove is not.
	Append bool
	// Remove are platforms whose entries (and their attestations) are left
	// out of the index, normalised; fields left empty match any value
	// (linux/arm removes every arm variant).
	Remove []ocispec.Platform
	// Require, with Append and StagingTag, is the completeness gate (see
	// docs/rules.md, "Completeness gate"): the update is merged into the
	// index StagingTag holds, and the target tag and the extra tags are
	// written only once that index gives every one of these platforms,
	// and then with exactly that index. Normalised; fields left empty
	// match any value, as for Remove.
	Require []ocispec.Platform
	// StagingTag is the tag of the target repository that the jobs of one
	// pipeline run merge into (e.g. 1.0-run-1234); required with Require.
	StagingTag string
	// Mirrors are more targets than the spec's own (Spec.Mirrors).
	Mirrors []reference.NamedTagged
	// ByDigest writes the children and the index by digest and moves no
	// tag (sign first, tag later); a rerun writes nothing when the index
	// is there already.
	ByDigest bool
	// Sign, when set, signs what the push writes (--sign): its fields
	// override the spec's sign key, those left empty are taken from it
	// (see Request.Signing). Nil: signing as the spec says (none without
	// its sign key).
	Sign *Signing
}

// AllMirrors are the spec's mirrors, then the request's.
func (r Request) AllMirrors(s *Spec) []reference.NamedTagged {
	return append(slices.Clip(s.Mirrors), r.Mirrors...)
}

// Entry is one source image of the index.
type Entry struct {
	// Image is the normalised source reference (tagged, or by digest); a
	// missing tag is "latest". Nil when the source is an OCI layout.
	Image reference.Named
	// Layout is the source when it is an OCI image layout
	// (oci-layout:PATH[:TAG|@DIGEST]); nil for a registry source. Exactly
	// one of Image and Layout is set.
	Layout *LayoutRef
	// Platform is nil when the spec gives none. When set, its fields are
	// normalised; OS and Architecture may still be empty, to be filled from
	// the image config.
	Platform *ocispec.Platform
	// Features is the platform's "features" list, kept for manifest-tool
	// compatibility (Docker manifest list v2.2 reserves the field; OCI
	// image-spec v1.1 dropped it from Platform, so it has no place there).
	// Nil when none.
	Features []string
	// Annotations are the descriptor annotations (OCI only); nil when none.
	Annotations map[string]string
	// Pos is where the entry starts in the spec.
	Pos Pos
}

// Source names an entry's source in messages: its reference, or its
// oci-layout: form.
func (e Entry) Source() string {
	switch {
	case e.Layout != nil:
		return e.Layout.String()
	case e.Image != nil:
		return reference.FamiliarString(e.Image)
	}
	return "an entry with no image"
}

// Pos is a position in a spec file. Line and Col are 1-based; zero means
// unknown.
type Pos struct {
	File string
	Line int
	Col  int
}

// String renders FILE:LINE[:COL], or FILE alone when the line is unknown.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}
