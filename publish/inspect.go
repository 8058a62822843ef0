package publish

import (
	"context"
	"fmt"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// InspectOptions controls Inspect. The zero value lists the entries only.
type InspectOptions struct {
	// Platform, when set, also describes the entry of that platform (every
	// field it gives must agree): its manifest, config platform and layers
	// (Inspection.Child). No such entry is an error.
	Platform *ocispec.Platform
	// Referrers lists what refers to each entry in the repository (OCI
	// referrers, through the API or the tag schema, and cosign tags),
	// recursively.
	Referrers bool
}

// Inspect reads a manifest or an index, verified against its digest. For an
// index it lists the entries; for a single manifest it reads the image
// config and reports its platform as the one entry.
func Inspect(ctx context.Context, reg Registry, ref string, opts InspectOptions) (*Inspection, error) {
	ctx, named, r, rd, doc, err := open(ctx, reg, ref)
	if err != nil {
		return nil, err
	}
	in := &Inspection{
		Ref:       named.String(),
		Digest:    doc.Desc.Digest,
		MediaType: doc.Desc.MediaType,
		Size:      doc.Desc.Size,
		Raw:       doc.Data,
		Manifests: []InspectEntry{},
	}
	if content.IsIndex(doc.Desc.MediaType) {
		idx, err := content.SuccessorsOf(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", named, err)
		}
		in.Annotations, in.ArtifactType, in.Subject = idx.Annotations, idx.ArtifactType, idx.Subject
		for _, d := range idx.Manifests {
			e := InspectEntry{Digest: d.Digest, MediaType: d.MediaType, Size: d.Size, Annotations: d.Annotations}
			if d.Platform != nil {
				e.Platform = platform.Format(*d.Platform)
			}
			in.Manifests = append(in.Manifests, e)
		}
		if opts.Platform != nil {
			var match *ocispec.Descriptor
			for i, d := range idx.Manifests {
				if d.Platform != nil && !content.IsAttestation(d) && platform.Matches(*opts.Platform, *d.Platform) {
					match = &idx.Manifests[i]
					break
				}
			}
			if match == nil {
				return nil, fmt.Errorf("%s has no entry for %s: %w", named, platform.Format(*opts.Platform), registry.ErrNotFound)
			}
			if in.Child, err = describeChild(ctx, rd, r, *match); err != nil {
				return nil, fmt.Errorf("%s: %w", named, err)
			}
		}
		return in, in.addReferrers(ctx, rd, r, opts)
	}
	m, err := content.SuccessorsOf(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", named, err)
	}
	in.Annotations, in.ArtifactType, in.Subject = m.Annotations, m.ArtifactType, m.Subject
	p, err := rd.platform(ctx, rd.at(r), *m.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", named, err)
	}
	e := InspectEntry{Digest: doc.Desc.Digest, MediaType: doc.Desc.MediaType, Size: doc.Desc.Size}
	if p.OS != "" || p.Architecture != "" {
		e.Platform = platform.Format(*p)
	}
	in.Manifests = append(in.Manifests, e)
	if opts.Platform != nil {
		if !platform.Matches(*opts.Platform, *p) {
			return nil, fmt.Errorf("%s is one image of %s, not %s: %w", named, e.Platform, platform.Format(*opts.Platform), registry.ErrNotFound)
		}
		d := doc.Desc
		d.Platform = p
		if in.Child, err = describeChild(ctx, rd, r, d); err != nil {
			return nil, fmt.Errorf("%s: %w", named, err)
		}
	}
	return in, in.addReferrers(ctx, rd, r, opts)
}

// open reads what ref names, for reading only: the reference parsed (a
// missing tag is latest), its repository, a reader for it, the document.
func open(ctx context.Context, reg Registry, ref string) (context.Context, reference.Named, registry.Repo, *reader, registry.Document, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ctx, nil, registry.Repo{}, nil, registry.Document{}, fmt.Errorf("%s: %w: %w", ref, registry.ErrInvalidReference, err)
	}
	named = reference.TagNameOnly(named)
	r := registry.RepoOf(named)
	rd := &reader{reg: reg}
	ctx = registry.WithReferrerScans(registry.WithScope(ctx, r, false))
	doc, err := rd.document(ctx, named)
	if err != nil {
		return ctx, named, r, rd, doc, fmt.Errorf("%s: %w", named, err)
	}
	return ctx, named, r, rd, doc, nil
}

// describeChild reads an entry's manifest and config.
func describeChild(ctx context.Context, rd *reader, r registry.Repo, d ocispec.Descriptor) (*ChildInspection, error) {
	doc, err := rd.byDigest(ctx, rd.at(r), d.Digest)
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", d.Digest, err)
	}
	c := &ChildInspection{Digest: doc.Desc.Digest, MediaType: doc.Desc.MediaType, Size: doc.Desc.Size, Layers: []ocispec.Descriptor{}}
	if d.Platform != nil {
		c.Platform = platform.Format(*d.Platform)
	}
	m, err := content.SuccessorsOf(doc)
	if err != nil || m.Config == nil {
		return nil, fmt.Errorf("entry %s: not an image manifest (%v)", d.Digest, err)
	}
	c.Config, c.Layers, c.Annotations = *m.Config, append(c.Layers, m.Layers...), m.Annotations
	cfg, err := rd.platform(ctx, rd.at(r), *m.Config)
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", d.Digest, err)
	}
	c.ConfigPlatform = platform.Format(*cfg)
	return c, nil
}

// addReferrers lists what refers to each entry (opts.Referrers).
func (in *Inspection) addReferrers(ctx context.Context, rd *reader, r registry.Repo, opts InspectOptions) error {
	if !opts.Referrers {
		return nil
	}
	children := make([]child, len(in.Manifests))
	for i, m := range in.Manifests {
		children[i] = child{desc: ocispec.Descriptor{Digest: m.Digest}, from: rd.at(r)}
	}
	lk := newLookups()
	found, err := discover(ctx, rd, lk, children)
	in.Warnings = append(in.Warnings, lk.wait()...)
	if err != nil {
		return fmt.Errorf("%s: listing referrers: %w", in.Ref, err)
	}
	for i := range in.Manifests {
		in.Manifests[i].Referrers = []ReferrerResult{}
		in.Manifests[i].Signed = new(false)
	}
	for _, f := range found {
		for i := range in.Manifests {
			if in.Manifests[i].Digest == f.entry {
				in.Manifests[i].Referrers = append(in.Manifests[i].Referrers, ReferrerResult{
					Digest: f.Desc.Digest, MediaType: f.Desc.MediaType, ArtifactType: f.Desc.ArtifactType, Subject: f.subject, Tag: f.Tag,
				})
				if f.subject == f.entry && IsSignature(f.Referrer) {
					*in.Manifests[i].Signed = true
				}
			}
		}
	}
	if content.IsIndex(in.MediaType) {
		ok, err := signed(ctx, rd.reg, r, []digest.Digest{in.Digest})
		if err != nil {
			return fmt.Errorf("%s: looking for its signature: %w", in.Ref, err)
		}
		in.Signed = &ok[0]
	} else if len(in.Manifests) == 1 {
		in.Signed = in.Manifests[0].Signed
	}
	return nil
}
