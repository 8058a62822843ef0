package registry

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/platform"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Inspect reads a manifest or an index, verified against its digest. For an
// index it lists the entries; for a single manifest it reads the image
// config and reports its platform as the one entry.
func Inspect(ctx context.Context, ref string, opts HostOptions) (*Inspection, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", ref, ErrInvalidReference, err)
	}
	named = reference.TagNameOnly(named)
	r := repoOf(named)
	c := newClient(newHosts(opts, r.domain, DefaultJobs), DefaultJobs)
	rd := &reader{c: c}
	ctx = docker.WithScope(ctx, "repository:"+r.path+":pull")

	doc, err := rd.document(ctx, named)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", named, err)
	}
	in := &Inspection{
		Ref:       named.String(),
		Digest:    doc.desc.Digest,
		MediaType: doc.desc.MediaType,
		Size:      doc.desc.Size,
		Raw:       doc.data,
		Manifests: []InspectEntry{},
	}
	if plan.IsIndex(doc.desc.MediaType) {
		var idx ocispec.Index
		if err := json.Unmarshal(doc.data, &idx); err != nil {
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
	if err := json.Unmarshal(doc.data, &m); err != nil {
		return nil, fmt.Errorf("%s: reading the manifest: %w", named, err)
	}
	in.Annotations = m.Annotations
	p, err := rd.platform(ctx, r, m.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", named, err)
	}
	e := InspectEntry{Digest: doc.desc.Digest, MediaType: doc.desc.MediaType, Size: doc.desc.Size}
	if p.OS != "" || p.Architecture != "" {
		e.Platform = platform.Format(*p)
	}
	in.Manifests = append(in.Manifests, e)
	return in, nil
}
