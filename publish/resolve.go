package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/distribution/reference"

	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
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
		Features:    e.Features,
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
	if rd.resolved != nil {
		rd.resolved(r)
	}
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

// maxEntries caps the entries of one source's index graph, nested
// indexes flattened: a larger index is refused.
const maxEntries = 10000

// children lists an index's entries in order, replacing each nested index
// by its own entries. Each distinct nested index is read and expanded once:
// met again (an index listing one sub-index ten times, four levels deep),
// it adds nothing, as its entries are there already. More than maxEntries
// entries in all, or nesting deeper than maxNesting, is an error.
func (rd *reader) children(ctx context.Context, r registry.Repo, doc registry.Document, depth int) ([]ocispec.Descriptor, error) {
	w := &walk{rd: rd, r: r, seen: map[digest.Digest]bool{doc.Desc.Digest: true}}
	if err := w.index(ctx, doc, depth); err != nil {
		return nil, err
	}
	return w.out, nil
}

// walk is one flattening of an index graph.
type walk struct {
	rd    *reader
	r     registry.Repo
	seen  map[digest.Digest]bool // nested indexes expanded already
	out   []ocispec.Descriptor
	total int // entries met, nested indexes included
}

func (w *walk) index(ctx context.Context, doc registry.Document, depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("indexes nested more than %d deep", maxNesting)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(doc.Data, &idx); err != nil {
		return fmt.Errorf("reading the index %s: %w", doc.Desc.Digest, err)
	}
	w.total += len(idx.Manifests)
	if w.total > maxEntries {
		return fmt.Errorf("the index graph has more than %d entries: refused", maxEntries)
	}
	for _, d := range idx.Manifests {
		if !plan.IsIndex(d.MediaType) {
			w.out = append(w.out, d)
			continue
		}
		if w.seen[d.Digest] {
			continue // expanded already: its entries are in w.out
		}
		w.seen[d.Digest] = true
		nested, err := w.rd.byDigest(ctx, w.r, d.Digest)
		if err != nil {
			return err
		}
		if nested.Desc.Size != d.Size {
			return fmt.Errorf("index %s: size %d, the parent says %d: %w", d.Digest, nested.Desc.Size, d.Size, registry.ErrDigestMismatch)
		}
		if err := w.index(ctx, nested, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// verifyEntries reads, by digest and concurrently, every entry of p that
// came from an index source (its descriptor is what that index says), and
// fails unless the size and media type written are those of the bytes the
// registry holds: an index cannot plant a false descriptor in ours. Entries
// of image sources and entries kept from the target are described by their
// own bytes already.
func verifyEntries(ctx context.Context, rd *reader, p *plan.Plan) error {
	var wg sync.WaitGroup
	errs := make([]error, len(p.Entries))
	for i, e := range p.Entries {
		if e.Kept || e.Source == nil || !plan.IsIndex(e.Source.Descriptor.MediaType) {
			continue
		}
		wg.Go(func() {
			named, err := reference.ParseNormalizedNamed(e.Source.Ref)
			if err != nil {
				errs[i] = err
				return
			}
			d := e.Descriptor
			doc, err := rd.byDigest(ctx, registry.RepoOf(named), d.Digest)
			if err != nil {
				errs[i] = fmt.Errorf("source %s: entry %s: %w", e.Source.Ref, d.Digest, err)
				return
			}
			if doc.Desc.Size != d.Size || doc.Desc.MediaType != d.MediaType {
				errs[i] = fmt.Errorf("source %s: its entry %s says %d bytes of %s, the registry holds %d bytes of %s: the index is wrong, nothing written: %w",
					e.Source.Ref, d.Digest, d.Size, d.MediaType, doc.Desc.Size, doc.Desc.MediaType, registry.ErrDigestMismatch)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
