package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxNesting bounds how deep indexes inside an index are followed.
const maxNesting = 8

// source resolves one spec entry: the manifest or index it names, then the
// image config of a manifest, or the entries of an index (nested indexes
// flattened, attestation manifests kept). With ignoreMissing, a source the
// registry says does not exist comes back marked Missing.
func (rd *reader) source(ctx context.Context, e spec.Entry, ignoreMissing bool) (plan.Source, error) {
	src := plan.Source{
		Ref:         e.Image.String(),
		Pos:         e.Pos,
		Platform:    e.Platform,
		Annotations: e.Annotations,
		Repository:  e.Image.Name(),
	}
	doc, err := rd.document(ctx, e.Image)
	if err != nil {
		if ignoreMissing && errors.Is(err, registry.ErrNotFound) {
			src.Missing = true
			return src, nil
		}
		return src, fmt.Errorf("source %s: %w", e.Image, err)
	}
	src.Descriptor = doc.Desc
	r := registry.RepoOf(e.Image)
	switch {
	case plan.IsIndex(doc.Desc.MediaType):
		src.Children, err = rd.children(ctx, r, doc, 0)
	default:
		var m ocispec.Manifest
		if err = json.Unmarshal(doc.Data, &m); err != nil {
			err = fmt.Errorf("reading the manifest: %w", err)
			break
		}
		src.Config, err = rd.platform(ctx, r, m.Config)
	}
	if err != nil {
		return src, fmt.Errorf("source %s: %w", e.Image, err)
	}
	return src, nil
}

// children lists an index's entries in order, replacing each nested index
// by its own entries.
func (rd *reader) children(ctx context.Context, r registry.Repo, doc registry.Document, depth int) ([]ocispec.Descriptor, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("indexes nested more than %d deep", maxNesting)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(doc.Data, &idx); err != nil {
		return nil, fmt.Errorf("reading the index %s: %w", doc.Desc.Digest, err)
	}
	var out []ocispec.Descriptor
	for _, d := range idx.Manifests {
		if !plan.IsIndex(d.MediaType) {
			out = append(out, d)
			continue
		}
		nested, err := rd.byDigest(ctx, r, d.Digest)
		if err != nil {
			return nil, err
		}
		if nested.Desc.Size != d.Size {
			return nil, fmt.Errorf("index %s: size %d, the parent says %d: %w", d.Digest, nested.Desc.Size, d.Size, registry.ErrDigestMismatch)
		}
		cs, err := rd.children(ctx, r, nested, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}
