package publish

import (
	"fmt"
	"github.com/distribution/reference"
	"strings"
	"time"

	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Options controls Push: the request of one run. The zero value is
// useful. Its spec.Request (append, remove, require, staging tag, select,
// mirrors, by digest) is checked with the spec by spec.Check, first thing.
type Options struct {
	spec.Request
	// Type overrides the spec's type (auto, oci, docker); empty keeps it.
	Type spec.IndexType
	// IgnoreMissing skips sources the registry says do not exist.
	IgnoreMissing bool
	// DryRun resolves and builds the index, and writes nothing.
	DryRun bool
	// Force writes even when every tag already points at the index.
	Force bool
	// StrictPlatform turns platform warnings into errors.
	StrictPlatform bool
	// SkipReferrers leaves behind what refers to the entries (signatures,
	// SBOMs, attestations as OCI referrers or cosign tags). Zero means they
	// are brought along (see docs/rules.md, "Referrers").
	SkipReferrers bool
	// DropAttestations leaves Docker attestation manifests out of the index
	// (an OCI index carries them otherwise, rule P4).
	DropAttestations bool
	// Settle is how long an update (spec.Request.Append) waits after writing
	// the target tag before it reads the tag back to see whether another
	// writer replaced it (see converge). Zero means DefaultSettle, raised to
	// twice the time the write took when that is longer.
	Settle time.Duration
	// Configs, when set, remembers the platforms of the image configs a
	// push reads, so that a rerun describes a source the target's index
	// holds already without reading it (see ConfigCache). Nil means none:
	// a rerun then reads every source whose platform the spec does not
	// give field by field.
	Configs ConfigCache
	// Progress, when set, hears how far the blobs of each source are in
	// being brought into the target repository (see Progress). It is
	// called from the push's goroutines, one call at a time, and should
	// return quickly. Nil means no reports.
	Progress func(Progress)
	// Created, when set, is the time the index records as its annotation
	// org.opencontainers.image.created (RFC 3339, UTC), unless the spec's
	// index annotations give it: a reproducible build's time (the CLI
	// reads SOURCE_DATE_EPOCH). An OCI index only: a Docker manifest list
	// is left as it is, with a warning. Nil adds nothing: the index is the
	// same as without the field.
	Created *time.Time
	// Names are what errors and warnings call the options of the run
	// (spec.Option) that would change them: a command line gives its
	// flags. Nil calls them by their fields (Request.Append, Type, ...).
	Names spec.Names
	// Signing, when set, signs the index and its children (or the index
	// only) in each target before any tag moves there (see Signing); the
	// staging tag of the completeness gate is not signed, the index the
	// public tags get is. Nil means nothing is signed.
	Signing *Signing
}

// TagStatus is what a push did to one tag (TagResult.Status); its text is
// what the text and JSON output print.
type TagStatus string

// Tag statuses reported in TagResult.Status.
const (
	TagUpdated     TagStatus = "updated"
	TagUnchanged   TagStatus = "unchanged"
	TagWouldUpdate TagStatus = "would update"
	TagNotUpdated  TagStatus = "not updated"
)

// Result is the outcome of one Push.
type Result struct {
	// Ref is the target reference; Target is its normalised text.
	Ref       reference.NamedTagged `json:"-"`
	Target    string                `json:"target"`
	Digest    digest.Digest         `json:"digest"`
	Size      int64                 `json:"size"`
	MediaType string                `json:"mediaType"`
	// Changed is set when the push wrote something; with DryRun, when a
	// push would.
	Changed   bool             `json:"changed"`
	DryRun    bool             `json:"dryRun"`
	Tags      []TagResult      `json:"tags"`
	Manifests []ManifestResult `json:"manifests"`
	// Changes are the platforms the push changes (or, with DryRun, would
	// change) against what the target tag held: every platform when the
	// tag is new, none when it held the index already.
	Changes  []Change `json:"changes"`
	Warnings []string `json:"warnings"`
	// Rounds is, for an update (spec.Request.Append) that wrote, how many
	// times the target tag was written before it held an index with this
	// update's entries: 1 unless another writer replaced it meanwhile.
	Rounds int `json:"rounds,omitempty"`
	// ByDigest is set when the index was pushed by digest only
	// (Request.ByDigest): Tags is empty.
	ByDigest bool `json:"byDigest,omitempty"`
	// Staging is what the completeness gate did (spec.Request.Require); nil
	// without it.
	Staging *Staging `json:"staging,omitempty"`
	// Signatures say, with Options.Signing, what was done about each
	// artifact's signature in the target (signed now, signed already, or
	// in a dry run would be signed); nil without signing.
	Signatures []SignResult `json:"signatures,omitempty"`
	// Mirrors are the outcomes of publishing the same index to each mirror
	// (spec.Spec.Mirrors), in order.
	Mirrors []*MirrorResult `json:"-"`
	// Index is the index document that was (or, with DryRun, would be)
	// pushed.
	Index []byte `json:"-"`
	// wrote is the last index this push wrote (by digest); empty when it
	// wrote none.
	wrote digest.Digest
}

// TagResult is what happened to one tag. Previous is the digest the tag
// pointed at before the push, empty when it did not exist.
type TagResult struct {
	Tag      string        `json:"tag"`
	Status   TagStatus     `json:"status"`
	Previous digest.Digest `json:"previous,omitempty"`
}

// ManifestResult is one entry of the pushed index.
type ManifestResult struct {
	Source    string        `json:"source"`
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	Size      int64         `json:"size"`
	Platform  string        `json:"platform,omitempty"`
	// Copied is set when this push wrote the manifest into the target
	// repository (its blobs mounted, its bytes PUT by digest). A manifest
	// from the target repository itself is not copied, nor is anything when
	// every tag points at the index already. When some tag exists already
	// (or with Force), each child is looked for first and only the missing
	// ones are copied; into a target none of whose tags exists, every child
	// is copied without looking (see write).
	Copied bool `json:"copied"`
	// Referrers are what refers to this entry (and to its referrers) in
	// its source repository, brought along into the target.
	Referrers []ReferrerResult `json:"referrers"`
}

// Inspection describes a manifest or an index in a registry.
type Inspection struct {
	Ref         string            `json:"ref"`
	Digest      digest.Digest     `json:"digest"`
	MediaType   string            `json:"mediaType"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// ArtifactType and Subject are what the document says of them (an
	// artifact index, or an artifact); empty and nil when it has none.
	ArtifactType string              `json:"artifactType,omitempty"`
	Subject      *ocispec.Descriptor `json:"subject,omitempty"`
	// Manifests are an index's entries; for a single manifest, one entry
	// describing it, with the platform read from its config.
	Manifests []InspectEntry `json:"manifests"`
	// Warnings are what could not be looked at (a repository whose
	// referrers could not be listed).
	Warnings []string `json:"warnings,omitempty"`
	// Signed says, with InspectOptions.Referrers, whether a signature of
	// the manifest or index itself is in the repository; nil when not
	// looked at.
	Signed *bool `json:"signed,omitempty"`
	// Child is the entry InspectOptions.Platform asked for, nil otherwise.
	Child *ChildInspection `json:"child,omitempty"`
	// Raw is the manifest or index document.
	Raw []byte `json:"-"`
}

// ChildInspection describes one entry: its manifest, the platform its
// descriptor and its config give, its config and layers.
type ChildInspection struct {
	Digest         digest.Digest        `json:"digest"`
	MediaType      string               `json:"mediaType"`
	Size           int64                `json:"size"`
	Platform       string               `json:"platform,omitempty"`
	ConfigPlatform string               `json:"configPlatform"`
	Config         ocispec.Descriptor   `json:"config"`
	Layers         []ocispec.Descriptor `json:"layers"`
	Annotations    map[string]string    `json:"annotations,omitempty"`
}

// InspectEntry is one entry of an inspected index.
type InspectEntry struct {
	Digest      digest.Digest     `json:"digest"`
	MediaType   string            `json:"mediaType"`
	Size        int64             `json:"size"`
	Platform    string            `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Referrers are what refers to the entry, with InspectOptions.Referrers.
	Referrers []ReferrerResult `json:"referrers,omitempty"`
	// Signed says, with InspectOptions.Referrers, whether a signature of
	// the entry is in the repository (see IsSignature); nil when not looked
	// at.
	Signed *bool `json:"signed,omitempty"`
}

// TagsError is a push that failed while writing: it says which tags were
// updated, which were not, and where each pointed before. A rerun completes
// the job.
type TagsError struct {
	// Target is the target repository.
	Target string
	// Updated are the tags this push moved to Digest.
	Updated []TagResult
	// NotUpdated are the tags left where they were (Previous; empty when
	// the tag did not exist).
	NotUpdated []TagResult
	// Digest is the index digest the tags were to point at.
	Digest digest.Digest
	// Err is the write that failed.
	Err error
}

func (e *TagsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pushing %s@%s: %v", e.Target, e.Digest, e.Err)
	if len(e.Updated) > 0 {
		b.WriteString("; updated:")
		for _, t := range e.Updated {
			fmt.Fprintf(&b, " %s", t.Tag)
		}
	}
	if len(e.NotUpdated) > 0 {
		b.WriteString("; not updated:")
		for _, t := range e.NotUpdated {
			if t.Previous == "" {
				fmt.Fprintf(&b, " %s (did not exist)", t.Tag)
			} else {
				fmt.Fprintf(&b, " %s (still %s)", t.Tag, t.Previous)
			}
		}
	}
	return b.String()
}

func (e *TagsError) Unwrap() error { return e.Err }
