package publish

import (
	"context"
	"errors"
	"fmt"
	"github.com/distribution/reference"
	"net/http"
	"slices"
	"sync"

	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// resolveSource resolves one spec entry, reading it only when what the
// target holds does not describe it already (see resolve): a source by
// tag is looked at with HEAD, one by digest needs no look; held waits for
// the image entries of what the target tag holds. A source whose HEAD
// fails is read (its GET gives the registry's own error).
func (rd *reader) resolveSource(ctx context.Context, e spec.Entry, ignoreMissing bool, lk *lookups, held func() map[digest.Digest]ocispec.Descriptor) (plan.Source, error) {
	if e.Layout != nil {
		return rd.layoutSource(ctx, e)
	}
	r := registry.RepoOf(e.Image)
	ref := tagOf(e.Image)
	if d, ok := e.Image.(reference.Digested); ok {
		ref = d.Digest().String()
	}
	head, err := rd.reg.Head(ctx, r, ref)
	if re, ok := errors.AsType[*registry.Error](err); err != nil && (ctx.Err() != nil || ok && (re.StatusCode == http.StatusUnauthorized || re.StatusCode == 0)) {
		// Credentials refused, no answer at all, or no time left: a GET
		// would fail the same way. (Another answer, such as a 404 or a
		// 403, is read again by GET for the registry's own message.)
		return plan.Source{Ref: e.Image, Pos: e.Pos}, &SourceError{Source: e.Image.String(), Pos: e.Pos, Err: err}
	}
	at := head.Digest
	if d, ok := e.Image.(reference.Digested); ok {
		at = d.Digest()
	}
	entry, ok := held()[at]
	// --strict-platform judges the source's own config, read now; and an
	// entry spares the read only when the registry's HEAD agrees with it.
	if err != nil || !ok || rd.strict || entry.MediaType != head.MediaType || entry.Size != head.Size {
		return rd.source(ctx, e, ignoreMissing, lk, at)
	}
	src := plan.Source{
		Ref: e.Image, Pos: e.Pos, Platform: e.Platform, Features: e.Features, Annotations: e.Annotations,
		// The entry's artifactType is its manifest's, as this tool writes
		// it (a fresh read copies it, see describe).
		Descriptor: ocispec.Descriptor{MediaType: entry.MediaType, Digest: entry.Digest, Size: entry.Size, ArtifactType: entry.ArtifactType},
	}
	if cfg, known := rd.config(at); known && content.IsManifest(entry.MediaType) {
		// The platform its config declares is known (ConfigCache): the
		// source is described as a fresh read would describe it.
		src.Config = &cfg
	} else if describes(entry, e.Platform) {
		cfg := *entry.Platform
		src.Config = &cfg
	} else {
		return rd.source(ctx, e, ignoreMissing, lk, at)
	}
	if lk != nil {
		lk.start(ctx, rd.at(r), at)
	}
	return src, nil
}

// describes reports whether entry, an image entry of what the target tag
// holds (whose media type and size the source's HEAD gave), is exactly
// what the source and the platform the spec asks for would give again: a
// platform the spec gives field by field
// (os, architecture, variant, os.version, os.features). A field the spec
// leaves to the image's config cannot be told apart from one an earlier
// spec set, so then the source is read (docs/rules.md, "Reruns").
func describes(entry ocispec.Descriptor, want *ocispec.Platform) bool {
	if want == nil || entry.Platform == nil {
		return false
	}
	have := *entry.Platform
	return want.OS == have.OS && want.Architecture == have.Architecture && want.Variant == have.Variant &&
		want.OSVersion == have.OSVersion && slices.Equal(slices.Sorted(slices.Values(want.OSFeatures)), slices.Sorted(slices.Values(have.OSFeatures)))
}

// tagOf is a reference's tag, latest when it has none.
func tagOf(n reference.Named) string {
	if t, ok := n.(reference.Tagged); ok {
		return t.Tag()
	}
	return "latest"
}

// source resolves one spec entry: the manifest or index it names, then the
// image config of a manifest, or the entries of an index (nested indexes
// flattened, attestation manifests kept). With ignoreMissing, a source the
// registry says does not exist comes back marked Missing. Once the source
// resolved, its repository's referrer scan starts (sc, when not nil): it
// runs while the config or index is read, at no round trip of its own, and
// never for a source that fails to resolve. With at, the source is read by
// that digest (a HEAD of its tag said it).
func (rd *reader) source(ctx context.Context, e spec.Entry, ignoreMissing bool, lk *lookups, at digest.Digest) (plan.Source, error) {
	src := plan.Source{
		Ref:         e.Image,
		Pos:         e.Pos,
		Platform:    e.Platform,
		Features:    e.Features,
		Annotations: e.Annotations,
	}
	p := rd.at(registry.RepoOf(e.Image))
	var doc registry.Document
	var err error
	if at != "" {
		doc, err = rd.byDigest(ctx, p, at)
	}
	if at == "" || errors.Is(err, registry.ErrNotFound) {
		// Without a digest, or one the registry does not hold after all
		// (its HEAD said wrong), read what the reference names: the
		// registry's own answer, verified.
		doc, err = rd.document(ctx, e.Image)
	}
	if err != nil {
		if ignoreMissing && errors.Is(err, registry.ErrNotFound) {
			src.Missing = true
			return src, nil
		}
		return src, rd.sourceError(ctx, e, err)
	}
	if lk != nil {
		lk.start(ctx, p, doc.Desc.Digest)
	}
	if err := rd.describe(ctx, p, doc, &src); err != nil {
		return src, &SourceError{Source: e.Image.String(), Pos: e.Pos, Err: err}
	}
	return src, nil
}

// describe makes src, a plan source, say what doc (read at p) is: the one
// description of a document as a source, for a registry's, a layout's and
// what the target tag holds alike. An index gives its entries in order
// (nested indexes flattened, attestation manifests kept) and its
// annotations; an image manifest, the platform its config declares, which
// is remembered (ConfigCache).
func (rd *reader) describe(ctx context.Context, p place, doc registry.Document, src *plan.Source) error {
	src.Descriptor = doc.Desc
	succ, err := content.SuccessorsOf(doc)
	if err != nil {
		return err
	}
	if content.IsIndex(doc.Desc.MediaType) {
		children, inner, annotations, err := rd.children(ctx, p, doc)
		src.Children, src.Inner, src.IndexAnnotations = children, inner, annotations
		src.IndexArtifactType, src.IndexSubject = succ.ArtifactType, succ.Subject
		return err
	}
	// An artifact's type goes into its descriptor in the index.
	src.Descriptor.ArtifactType = succ.ArtifactType
	if src.Config, err = rd.platform(ctx, p, *succ.Config); err != nil {
		return err
	}
	rd.remember(doc.Desc.Digest, *src.Config)
	return nil
}

// children lists an index's entries in order, replacing each nested index
// by its own entries, through the bounded walk: each distinct nested index
// is read once, and met again (an index listing one sub-index ten times,
// four levels deep) it adds nothing, as its entries are there already. It
// also gives, for each entry a nested index lists, that index's digest
// (plan.Source.Inner; nil when none is nested), and the index's own
// annotations.
func (rd *reader) children(ctx context.Context, p place, doc registry.Document) ([]ocispec.Descriptor, map[digest.Digest]digest.Digest, map[string]string, error) {
	var mu sync.Mutex
	lists := map[digest.Digest][]ocispec.Descriptor{}
	var annotations map[string]string
	visit := func(ctx context.Context, n node) ([]node, error) {
		d := doc
		if n.depth > 0 {
			var err error
			if d, err = rd.byDigest(ctx, p, n.desc.Digest); err != nil {
				return nil, err
			}
			if d.Desc.Size != n.desc.Size {
				return nil, fmt.Errorf("index %s: size %d, the parent says %d: %w", n.desc.Digest, d.Desc.Size, n.desc.Size, registry.ErrDigestMismatch)
			}
		}
		succ, err := content.SuccessorsOf(d)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		lists[n.desc.Digest] = succ.Manifests
		if n.depth == 0 {
			annotations = succ.Annotations
		}
		mu.Unlock()
		next := make([]node, len(succ.Manifests))
		for i, e := range succ.Manifests {
			next[i] = node{at: p, desc: e, leaf: !content.IsIndex(e.MediaType)}
		}
		return next, nil
	}
	if _, err := walk(ctx, []node{{at: p, desc: doc.Desc}}, visit); err != nil {
		return nil, nil, nil, err
	}
	var out []ocispec.Descriptor
	var inner map[digest.Digest]digest.Digest
	listed := map[digest.Digest]bool{}
	expanded := map[digest.Digest]bool{doc.Desc.Digest: true}
	var flatten func(digest.Digest)
	flatten = func(d digest.Digest) {
		for _, e := range lists[d] {
			switch {
			case !content.IsIndex(e.MediaType):
				out = append(out, e)
				if !listed[e.Digest] && d != doc.Desc.Digest {
					if inner == nil {
						inner = map[digest.Digest]digest.Digest{}
					}
					inner[e.Digest] = d
				}
				listed[e.Digest] = true
			case !expanded[e.Digest]:
				expanded[e.Digest] = true
				flatten(e.Digest)
			}
		}
	}
	flatten(doc.Desc.Digest)
	return out, inner, annotations, nil
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
		if e.Kept || e.Source == nil || !content.IsIndex(e.Source.Descriptor.MediaType) {
			continue
		}
		wg.Go(func() {
			d := e.Descriptor
			at := rd.placeOf(e.Source)
			doc, err := rd.byDigest(ctx, at, d.Digest)
			if errors.Is(err, registry.ErrNotFound) {
				// A sparse index: it lists a manifest its registry never got.
				what := "an attestation"
				if !e.Attestation && d.Platform != nil {
					what = platform.Format(*d.Platform)
				}
				errs[i] = &SourceError{Source: e.Source.Name(), Pos: e.Source.Pos, Err: fmt.Errorf("incomplete: its entry %s (%s) is not in %s; nothing written: %w", d.Digest, what, at, err)}
				return
			}
			if err != nil {
				errs[i] = &SourceError{Source: e.Source.Name(), Pos: e.Source.Pos, Err: fmt.Errorf("entry %s: %w", d.Digest, err)}
				return
			}
			if doc.Desc.Size != d.Size || doc.Desc.MediaType != d.MediaType {
				errs[i] = &SourceError{Source: e.Source.Name(), Pos: e.Source.Pos, Err: fmt.Errorf("its entry %s says %d bytes of %s, the registry holds %d bytes of %s: the index is wrong, nothing written: %w",
					d.Digest, d.Size, d.MediaType, doc.Desc.Size, doc.Desc.MediaType, registry.ErrDigestMismatch)}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
