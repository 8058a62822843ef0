package publish

import (
	"context"
	"fmt"
	"github.com/manifest-push/manifest-push/content"

	"github.com/distribution/reference"

	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
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

// currentSource is what the target tag holds now, as a plan source for an
// update (plan.Input.Current): an index with its entries (nested indexes
// flattened) and its annotations, or a single image with its config's
// platform (describe).
func (rd *reader) currentSource(ctx context.Context, target reference.Named, doc registry.Document) (*plan.Source, error) {
	src := &plan.Source{Ref: target}
	if err := rd.describe(ctx, rd.at(registry.RepoOf(target)), doc, src); err != nil {
		return nil, fmt.Errorf("%s@%s: %w", registry.RepoOf(target), doc.Desc.Digest, err)
	}
	return src, nil
}

// platforms lists cur's platform entries: an index's image entries
// (attestations and entries without a platform left out), or the single
// image with its config's platform; each normalised as a source's is (P3).
func platforms(cur *plan.Source) []ocispec.Descriptor {
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

// changes compares the platform entries of cur (what the tag held) with the index's
// image entries: first the platforms of the index in its order (added or
// updated), then those it no longer has (removed), in their old order.
func changes(cur *plan.Source, after []plan.Entry) []Change {
	before := platforms(cur)
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
