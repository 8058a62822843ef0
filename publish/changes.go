package publish

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Change kinds reported in Change.Change.
const (
	ChangeAdded   = "added"
	ChangeUpdated = "updated"
	ChangeRemoved = "removed"
)

// Change is one platform whose image differs between what the target tag
// held before the push and the index pushed: added (From empty), updated,
// or removed (To empty). Attestation manifests are not platforms and are
// not reported.
type Change struct {
	Platform string        `json:"platform"`
	Change   string        `json:"change"`
	From     digest.Digest `json:"from,omitempty"`
	To       digest.Digest `json:"to,omitempty"`
}

// current is what the target tag holds before the push, as platform
// entries: an index's image entries (attestations and entries without a
// platform left out), or a single image as one entry with its config's
// platform. Platforms are normalised as a source's are (P3).
func (rd *reader) current(ctx context.Context, r registry.Repo, doc registry.Document) ([]ocispec.Descriptor, error) {
	if plan.IsIndex(doc.Desc.MediaType) {
		var idx ocispec.Index
		if err := json.Unmarshal(doc.Data, &idx); err != nil {
			return nil, fmt.Errorf("%s@%s: reading the index: %w", r, doc.Desc.Digest, err)
		}
		var out []ocispec.Descriptor
		for _, d := range idx.Manifests {
			if d.Platform == nil || plan.IsAttestation(d) || !plan.IsManifest(d.MediaType) {
				continue
			}
			p, _ := platform.NormalizeConfig(*d.Platform) // a refused field is left out, as for a source
			d.Platform = &p
			out = append(out, d)
		}
		return out, nil
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(doc.Data, &m); err != nil {
		return nil, fmt.Errorf("%s@%s: reading the manifest: %w", r, doc.Desc.Digest, err)
	}
	cfg, err := rd.platform(ctx, r, m.Config)
	if err != nil {
		return nil, err
	}
	p, _ := platform.NormalizeConfig(*cfg)
	d := doc.Desc
	d.Platform = &p
	return []ocispec.Descriptor{d}, nil
}

// changes compares the platform entries before (current) with the index's
// image entries: first the platforms of the index in its order (added or
// updated), then those it no longer has (removed), in their old order.
func changes(before []ocispec.Descriptor, after []plan.Entry) []Change {
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
