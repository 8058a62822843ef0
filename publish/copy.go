package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// copier copies manifests into the target repository: their blobs by
// cross-repository mount when the source is on the target's registry (a
// streamed upload when the registry will not mount), streamed from the
// source registry when it is another one (skipping blobs the target
// repository has), then the manifest bytes by digest; an index after
// everything it lists. It never writes to a source repository, nor to any
// registry but the target's.
type copier struct {
	rd     *reader
	target registry.Repo
	// progress, when not nil, hears of every blob brought in.
	progress *progress
	// blobsIn brings each blob into the target once, whichever manifests
	// share it; manifestsIn writes each manifest once.
	blobsIn     memo[struct{}]
	manifestsIn memo[struct{}]
	// put writes a manifest into the target (the writer's put).
	put func(ctx context.Context, ref string, doc registry.Document) error
	// early, when not nil, answers whether the target holds a manifest
	// from a wave of HEADs started before (see has).
	early *looks
}

// child is a manifest to have in the target repository, the repository it
// can be read from, and the source (spec entry image) it is copied for.
type child struct {
	desc   ocispec.Descriptor
	from   place
	source string
}

// copyMode says how copy treats the manifests it is given (the roots).
type copyMode struct {
	// look looks for each root in the target first and copies only the
	// missing ones. Without it every root is copied without looking: a
	// first push, where they are almost surely missing and a look would add
	// a round trip for nothing (a blob mount of a blob the repository has
	// is a no-op, so is the PUT of a manifest it has). What an index lists
	// is always looked for first.
	look bool
	// skipPut leaves the roots' own manifests unwritten (everything they
	// need is copied): the registry client writes referrers itself.
	skipPut bool
}

// copyNode is a manifest copy found missing from the target.
type copyNode struct {
	n     node
	doc   registry.Document
	next  []string             // keys of the manifests an index lists
	blobs []ocispec.Descriptor // a manifest's blobs (content.Successors.Blobs)
}

// copy makes each child present in the target repository, with everything
// it needs (an index's manifests and their blobs, a manifest's blobs),
// walking the graph within the bounds of walk, and reports which children
// it wrote. A child from the target repository itself is there already.
func (cp *copier) copy(ctx context.Context, children []child, mode copyMode) (map[digest.Digest]bool, error) {
	sources := map[digest.Digest]string{}
	var roots []node
	for _, ch := range children {
		if same(ch.from, cp.target) {
			continue
		}
		if _, ok := sources[ch.desc.Digest]; !ok {
			sources[ch.desc.Digest] = ch.source
		}
		roots = append(roots, node{at: ch.from, desc: ch.desc})
	}
	var mu sync.Mutex
	missing := map[string]*copyNode{}
	visit := func(ctx context.Context, n node) ([]node, error) {
		if n.depth > 0 || mode.look {
			ok, err := cp.has(ctx, n.desc.Digest)
			if err != nil || ok {
				return nil, err
			}
		}
		doc, err := cp.rd.byDigest(ctx, n.at, n.desc.Digest)
		if err != nil {
			return nil, err
		}
		succ, err := content.SuccessorsOf(doc)
		if err != nil {
			return nil, err
		}
		cn := &copyNode{n: n, doc: doc, blobs: succ.Blobs()}
		var next []node
		for _, d := range succ.Manifests {
			s := node{at: n.at, desc: d}
			next = append(next, s)
			cn.next = append(cn.next, s.key())
		}
		mu.Lock()
		missing[n.key()] = cn
		mu.Unlock()
		return next, nil
	}
	if _, err := walk(ctx, roots, visit); err != nil {
		return nil, fmt.Errorf("copying into %s: %w", cp.target, err)
	}

	// Write in post-order: a manifest after everything it lists. The graph
	// is acyclic (each document was verified against the digest its parent
	// names), so waiting on a shared successor cannot wait on itself.
	var write func(ctx context.Context, key string, root bool) error
	write = func(ctx context.Context, key string, root bool) error {
		cn := missing[key]
		if cn == nil {
			return nil // in the target already
		}
		// need brings in everything the manifest needs: what an index
		// lists, a manifest's blobs.
		need := func() error {
			if err := fanOut(ctx, len(cn.next), func(ctx context.Context, i int) error { return write(ctx, cn.next[i], false) }); err != nil {
				return err
			}
			err := cp.blobs(ctx, cn.n.at, sources[cn.n.from], cn.blobs)
			if mb, ok := errors.AsType[*missingBlob](err); ok {
				// The source's own registry lacks a blob its manifest
				// names (a sparse image): the source is incomplete.
				return &SourceError{Source: sources[cn.n.from], Err: fmt.Errorf("incomplete: blob %s (%s, %d bytes) of its manifest %s is %w in %s: push the image again, completely",
					mb.desc.Digest, mb.desc.MediaType, mb.desc.Size, cn.doc.Desc.Digest, registry.ErrNotFound, cn.n.at)}
			}
			return err
		}
		if root && mode.skipPut {
			// The registry client writes it (a referrer): it is not
			// recorded as written, so a copy that needs it as a child
			// still writes it.
			return need()
		}
		_, err := cp.manifestsIn.do(ctx, cn.doc.Desc.Digest, func() (struct{}, error) {
			if err := need(); err != nil {
				return struct{}{}, err
			}
			return struct{}{}, cp.put(ctx, cn.doc.Desc.Digest.String(), cn.doc)
		})
		return err
	}
	// Every child is copied, whatever becomes of the others: each failure
	// is reported (what each needs, its blobs and nested manifests, stops
	// at its first failure).
	wrote := make([]bool, len(roots))
	err := fanOutAll(ctx, len(roots), func(ctx context.Context, i int) error {
		r := roots[i]
		if err := write(ctx, r.key(), true); err != nil {
			return fmt.Errorf("copying %s@%s into %s: %w", r.at, r.desc.Digest, cp.target, err)
		}
		wrote[i] = missing[r.key()] != nil
		return nil
	})
	copied := map[digest.Digest]bool{}
	for i, r := range roots {
		if wrote[i] {
			copied[r.desc.Digest] = true
		}
	}
	return copied, err
}

// blobs brings the blobs of an image manifest into the target repository,
// concurrently.
func (cp *copier) blobs(ctx context.Context, from place, source string, todo []ocispec.Descriptor) error {
	cp.progress.add(source, todo)
	return fanOut(ctx, len(todo), func(ctx context.Context, i int) error { return cp.blob(ctx, from, source, todo[i]) })
}

// blob brings one blob into the target repository, once per push however
// many manifests share it.
func (cp *copier) blob(ctx context.Context, from place, source string, d ocispec.Descriptor) error {
	var streamed int64
	_, err := cp.blobsIn.do(ctx, d.Digest, func() (struct{}, error) {
		var err error
		streamed, err = cp.rd.reg.CopyBlob(ctx, from.fetcher(), cp.target, d, cp.progress.meter(source, d))
		if errors.Is(err, content.ErrNotFound) || errors.Is(err, registry.ErrNotFound) {
			err = &missingBlob{desc: d, err: err}
		}
		return struct{}{}, err
	})
	if err != nil {
		return err
	}
	cp.progress.done(source, d, streamed)
	return nil
}

// missingBlob: a blob to copy is not where it is copied from.
type missingBlob struct {
	desc ocispec.Descriptor
	err  error
}

func (e *missingBlob) Error() string { return e.err.Error() }

func (e *missingBlob) Unwrap() error { return e.err }
