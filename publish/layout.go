package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/layout"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Sources in OCI image layouts (spec.Entry.Layout): a push opens each
// layout once, before any request, and reads it where it reads a
// registry's repository. A layout is named, where the push names the
// repository a manifest is read from, by a registry.Repo whose Domain is
// layoutDomain and whose Path is the layout's path: no registry has that
// name (a registry name has no colon but before a port), so the reader
// and the copier tell the two apart by it. Nothing is ever written to a
// layout: its blobs are pushed into the target (registry.PushBlob).

// layoutDomain is the Domain of the registry.Repo that names a layout.
const layoutDomain = "oci-layout:"

func layoutRepo(path string) registry.Repo { return registry.Repo{Domain: layoutDomain, Path: path} }

func isLayout(r registry.Repo) bool { return r.Domain == layoutDomain }

// locationOf is where a source's manifests are read from: its registry
// repository, or its layout.
func locationOf(src *plan.Source) registry.Repo {
	if src.Layout != nil {
		return layoutRepo(src.Layout.Path)
	}
	return registry.RepoOf(src.Ref)
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
// (the layout's only one without either), then the config of an image or
// the entries of an index.
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
	src.Descriptor = doc.Desc
	r := layoutRepo(e.Layout.Path)
	if content.IsIndex(doc.Desc.MediaType) {
		if src.Children, err = rd.children(ctx, r, doc); err != nil {
			return fail(err)
		}
		return src, nil
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(doc.Data, &m); err != nil {
		return fail(fmt.Errorf("reading the manifest: %w", err))
	}
	if src.Config, err = rd.platform(ctx, r, m.Config); err != nil {
		return fail(err)
	}
	return src, nil
}

// verifyLayoutBlobs reads every blob of every entry of p that comes from a
// layout, and fails unless each matches its digest and size: a damaged
// layout is found before the first write, not half-way through the
// copies.
func verifyLayoutBlobs(ctx context.Context, rd *reader, p *plan.Plan) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	seen := map[string]bool{}
	for _, e := range p.Entries {
		if e.Source == nil || e.Source.Layout == nil || e.Kept || seen[e.Descriptor.Digest.String()] {
			continue
		}
		seen[e.Descriptor.Digest.String()] = true
		r := locationOf(e.Source)
		wg.Go(func() {
			err := func() error {
				doc, err := rd.byDigest(ctx, r, e.Descriptor.Digest)
				if err != nil {
					return err
				}
				var m ocispec.Manifest
				if err := json.Unmarshal(doc.Data, &m); err != nil {
					return fmt.Errorf("reading the manifest %s: %w", e.Descriptor.Digest, err)
				}
				l := rd.layouts[r.Path]
				for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
					if content.NonDistributable(b.MediaType) {
						continue
					}
					if err := l.VerifyBlob(ctx, b); err != nil {
						return err
					}
				}
				return nil
			}()
			if err != nil {
				mu.Lock()
				errs = append(errs, &SourceError{Source: e.Source.Name(), Pos: e.Source.Pos, Err: err})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// layoutBlob opens blob d of the layout r names, for one attempt at
// pushing it.
func (rd *reader) layoutBlob(r registry.Repo, d ocispec.Descriptor) registry.BlobOpener {
	return func(ctx context.Context) (io.ReadCloser, error) {
		l := rd.layouts[r.Path]
		if l == nil {
			return nil, fmt.Errorf("%s: the layout was not opened: %w", r.Path, layout.ErrInvalid)
		}
		return l.OpenBlob(ctx, d)
	}
}
