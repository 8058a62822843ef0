package plan

import (
	"slices"

	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ChangeKind is how a platform changed (Change.Change); its text is what
// the JSON output prints.
type ChangeKind string

// Change kinds reported in Change.Change.
const (
	ChangeAdded   ChangeKind = "added"
	ChangeUpdated ChangeKind = "updated"
	ChangeRemoved ChangeKind = "removed"
)

// Change is one platform whose image differs between what the target tag
// held before the push and the index pushed: added (From empty), updated,
// or removed (To empty). Attestation manifests are not platforms and are
// not reported.
type Change struct {
	Platform string        `json:"platform"`
	Change   ChangeKind    `json:"change"`
	From     digest.Digest `json:"from,omitempty"`
	To       digest.Digest `json:"to,omitempty"`
}

// Platforms lists cur's platform entries: an index's image entries
// (attestations and entries without a platform left out), or the single
// image with its config's platform; each normalised as a source's is (P3).
func Platforms(cur *Source) []ocispec.Descriptor {
	if cur == nil {
		return nil
	}
	if content.IsIndex(cur.Descriptor.MediaType) {
		var out []ocispec.Descriptor
		for _, d := range cur.Children {
			if !content.IsImageEntry(d) {
				continue
			}
			p, _ := platform.NormalizeConfig(*d.Platform) // a refused field is left out, as for a source
			d.Platform = &p
			out = append(out, d)
		}
		return out
	}
	if cur.Config == nil {
		return nil
	}
	p, _ := platform.NormalizeConfig(*cur.Config)
	d := cur.Descriptor
	d.Platform = &p
	return []ocispec.Descriptor{d}
}

// Changes compares the platform entries of cur (what the tag held) with the index's
// image entries: first the platforms of the index in its order (added or
// updated), then those it no longer has (removed), in their old order.
func Changes(cur *Source, after []Entry) []Change {
	before := Platforms(cur)
	old := make(map[string]ocispec.Descriptor, len(before))
	for _, d := range before {
		key := platform.Key(*d.Platform)
		if _, dup := old[key]; !dup {
			old[key] = d
		}
	}
	seen := make(map[string]bool, len(after))
	out := []Change{}
	for _, e := range after {
		if e.Attestation || e.Descriptor.Platform == nil {
			continue
		}
		key := platform.Key(*e.Descriptor.Platform)
		if seen[key] {
			continue
		}
		seen[key] = true
		name := platform.Format(*e.Descriptor.Platform)
		prev, had := old[key]
		switch {
		case !had:
			out = append(out, Change{Platform: name, Change: ChangeAdded, To: e.Descriptor.Digest})
		case prev.Digest != e.Descriptor.Digest:
			out = append(out, Change{Platform: name, Change: ChangeUpdated, From: prev.Digest, To: e.Descriptor.Digest})
		}
	}
	for _, d := range before {
		key := platform.Key(*d.Platform)
		if !seen[key] {
			seen[key] = true
			out = append(out, Change{Platform: platform.Format(*d.Platform), Change: ChangeRemoved, From: d.Digest})
		}
	}
	return out
}

// Missing are the required platforms that no image entry of p gives
// (platform.Matches: fields left empty match any value): what the
// completeness gate still waits for.
func Missing(require []ocispec.Platform, p *Plan) []string {
	var have []ocispec.Platform
	for _, e := range p.Entries {
		if !e.Attestation && e.Descriptor.Platform != nil {
			have = append(have, *e.Descriptor.Platform)
		}
	}
	return MissingFrom(require, have)
}

// MissingFrom are the required platforms that none of have gives.
func MissingFrom(require, have []ocispec.Platform) []string {
	missing := []string{}
	for _, want := range require {
		if !slices.ContainsFunc(have, func(h ocispec.Platform) bool { return platform.Matches(want, h) }) {
			missing = append(missing, platform.Format(want))
		}
	}
	return missing
}
