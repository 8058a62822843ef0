package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/layout"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
)

// Sources in OCI image layouts (spec.Entry.Layout): a push opens each
// layout once, before any request, and reads it as it reads a registry's
// repository: both are places (content.Fetcher). Nothing is ever written
// to a layout: its blobs are streamed into the target
// (registry.Client.CopyBlob from the layout).

// layoutPlace is an OCI image layout as a place.
type layoutPlace struct {
	*layout.Layout
}

func (p layoutPlace) String() string           { return "oci-layout:" + p.Path() }
func (p layoutPlace) fetcher() content.Fetcher { return p.Layout }

// referrers: a layout keeps none.
func (layoutPlace) referrers(context.Context, digest.Digest) ([]registry.Referrer, error) {
	return nil, nil
}

// vouch reads each blob of manifest d to its end, verified: a layout is
// untrusted input, and a damaged one is found before the first write, not
// half-way through the copies.
func (p layoutPlace) vouch(ctx context.Context, rd *reader, d digest.Digest) error {
	doc, err := rd.byDigest(ctx, p, d)
	if err != nil {
		return err
	}
	succ, err := content.SuccessorsOf(doc)
	if err != nil {
		return err
	}
	for _, b := range succ.Blobs() {
		if err := p.VerifyBlob(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// placeOf is where a source's manifests are read from: its registry
// repository, or its layout.
func (rd *reader) placeOf(src *plan.Source) place {
	if src.Layout != nil {
		if l := rd.layouts[src.Layout.Path]; l != nil {
			return layoutPlace{l}
		}
	}
	return rd.at(registry.RepoOf(src.Ref))
}

// layouts are the layouts of one push, by path.
type layouts map[string]*layout.Layout

// openLayouts opens every layout s names, once each. A missing or broken
// layout is an error naming the entry (bad input, before any request).
func openLayouts(ctx context.Context, s *spec.Spec) (layouts, error) {
	ls := layouts{}
	var errs []error
	for _, e := range s.Manifests {
		if e.Layout == nil {
			continue
		}
		if _, ok := ls[e.Layout.Path]; ok {
			continue
		}
		l, err := layout.Open(ctx, e.Layout.Path)
		if err != nil {
			errs = append(errs, &SourceError{Source: e.Source(), Pos: e.Pos, Err: err})
			continue
		}
		ls[e.Layout.Path] = l
	}
	if err := errors.Join(errs...); err != nil {
		ls.close()
		return nil, err
	}
	return ls, nil
}

func (ls layouts) close() {
	for _, l := range ls {
		_ = l.Close() // read-only files: nothing to lose
	}
}

// layoutSource resolves a spec entry whose source is a layout, as source
// resolves one in a registry: the image or index its tag or digest names
// (the layout's only one without either), described (describe).
func (rd *reader) layoutSource(ctx context.Context, e spec.Entry) (plan.Source, error) {
	src := plan.Source{Layout: e.Layout, Pos: e.Pos, Platform: e.Platform, Features: e.Features, Annotations: e.Annotations}
	fail := func(err error) (plan.Source, error) {
		return src, &SourceError{Source: e.Source(), Pos: e.Pos, Err: err}
	}
	l := rd.layouts[e.Layout.Path]
	if l == nil {
		return fail(fmt.Errorf("the layout was not opened: %w", layout.ErrInvalid))
	}
	doc, err := l.Resolve(ctx, e.Layout.Ref())
	if err != nil {
		return fail(err)
	}
	rd.docs.put(doc.Desc.Digest, doc)
	if err := rd.describe(ctx, layoutPlace{l}, doc, &src); err != nil {
		return fail(err)
	}
	return src, nil
}

// vouchForBlobs has the place of every entry of p that a source gives
// vouch for the blobs the entry's manifest names (place.vouch), before the
// first write.
func vouchForBlobs(ctx context.Context, rd *reader, p *plan.Plan) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	seen := map[digest.Digest]bool{}
	for _, e := range p.Entries {
		if e.Source == nil || e.Kept || seen[e.Descriptor.Digest] {
			continue
		}
		seen[e.Descriptor.Digest] = true
		at := rd.placeOf(e.Source)
		wg.Go(func() {
			if err := at.vouch(ctx, rd, e.Descriptor.Digest); err != nil {
				mu.Lock()
				errs = append(errs, &SourceError{Source: e.Source.Name(), Pos: e.Source.Pos, Err: err})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
