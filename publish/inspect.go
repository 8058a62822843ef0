package publish

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Inspect reads a manifest or an index, verified against its digest. For an
// index it lists the entries; for a single manifest it reads the image
// config and reports its platform as the one entry.
func Inspect(ctx context.Context, reg Registry, ref string) (*Inspection, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", ref, registry.ErrInvalidReference, err)
	}
	named = reference.TagNameOnly(named)
	r := registry.RepoOf(named)
	rd := &reader{reg: reg}
	ctx = registry.WithScope(ctx, r, false)

	doc, err := rd.document(ctx, named)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", named, err)
	}
	in := &Inspection{
		Ref:       named.String(),
		Digest:    doc.Desc.Digest,
		MediaType: doc.Desc.MediaType,
		Size:      doc.Desc.Size,
		Raw:       doc.Data,
		Manifests: []InspectEntry{},
	}
	if plan.IsIndex(doc.Desc.MediaType) {
		var idx ocispec.Index
		if err := json.Unmarshal(doc.Data, &idx); err != nil {
			return nil, fmt.Errorf("%s: reading the index: %w", named, err)
		}
		in.Annotations = idx.Annotations
		for _, d := range idx.Manifests {
			e := InspectEntry{Digest: d.Digest, MediaType: d.MediaType, Size: d.Size, Annotations: d.Annotations}
			if d.Platform != nil {
				e.Platform = platform.Format(*d.Platform)
			}
			in.Manifests = append(in.Manifests, e)
		}
		return in, nil
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(doc.Data, &m); err != nil {
		return nil, fmt.Errorf("%s: reading the manifest: %w", named, err)
	}
	in.Annotations = m.Annotations
	p, err := rd.platform(ctx, r, m.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", named, err)
	}
	e := InspectEntry{Digest: doc.Desc.Digest, MediaType: doc.Desc.MediaType, Size: doc.Desc.Size}
	if p.OS != "" || p.Architecture != "" {
		e.Platform = platform.Format(*p)
	}
	in.Manifests = append(in.Manifests, e)
	return in, nil
}
