package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
)

// write does the writes of a push, in the order of docs/rules.md: the children,
// copied into the target repository, then the index by digest, then the
// target tag, then the extra tags concurrently. When a tag already points
// at the index (and not force), the index and so its children are in the
// repository already: only the tags are written. toWrite are indexes into
// res.Tags, the target tag (0) first when it is among them. It fills in
// res.Manifests[].Copied and res.Tags[].Status, and on failure returns a
// *TagsError.
func write(ctx context.Context, cp *copier, p *plan.Plan, s *spec.Spec, res *Result, toWrite []int, force bool) error {
	index := registry.Document{Desc: p.Descriptor, Data: p.Bytes}
	index.Desc.MediaType = p.MediaType
	put := func(ref string) error { return cp.rd.reg.PutManifest(ctx, cp.target, ref, index) }
	if force || !indexPresent(res) {
		bring := cp.ensure // looks for each child first, copies the missing ones
		if !force && fresh(res) {
			bring = func(ctx context.Context, children []child) (map[digest.Digest]bool, error) {
				return copyChildren(ctx, cp, children)
			}
		}
		copied, err := bring(ctx, uniqueChildren(p, s))
		for i, e := range p.Entries {
			res.Manifests[i].Copied = copied[e.Descriptor.Digest]
		}
		if err != nil {
			return tagsError(cp, res, err)
		}
		if err := put(p.Descriptor.Digest.String()); err != nil {
			return tagsError(cp, res, err)
		}
	}
	putTag := func(i int) error {
		if err := put(res.Tags[i].Tag); err != nil {
			return err
		}
		res.Tags[i].Status = TagUpdated
		return nil
	}
	rest := toWrite
	if len(rest) > 0 && rest[0] == 0 {
		if err := putTag(0); err != nil {
			return tagsError(cp, res, err)
		}
		rest = rest[1:]
	}
	var wg sync.WaitGroup
	errs := make([]error, len(rest))
	for k, i := range rest {
		wg.Go(func() { errs[k] = putTag(i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return tagsError(cp, res, err)
	}
	return nil
}

// copyChildren copies into the target repository, concurrently, each child
// that is not from it, and reports which ones it wrote. It does not look
// for a child first: write uses it when none of the tags exists yet, where
// the children are almost surely missing and a HEAD of each would add a
// round trip to the critical path of every first push for nothing; the
// blob mounts and the manifest PUT answer for themselves (a mount of a blob
// the repository has is a no-op 201, so is the PUT of a manifest it has).
// When a tag exists (an update, a rerun after a failure, or Force), write
// uses cp.ensure instead, which looks for each child first and copies only
// the missing ones: fewer writes where they are likely to be there.
func copyChildren(ctx context.Context, cp *copier, children []child) (map[digest.Digest]bool, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(children))
	wrote := make([]bool, len(children))
	for i, ch := range children {
		if ch.from == cp.target {
			continue // there already
		}
		wg.Go(func() {
			if err := cp.copyManifest(ctx, ch); err != nil {
				errs[i] = fmt.Errorf("copying %s@%s into %s: %w", ch.from, ch.desc.Digest, cp.target, err)
				return
			}
			wrote[i] = true
		})
	}
	wg.Wait()
	copied := map[digest.Digest]bool{}
	for i, ch := range children {
		if wrote[i] {
			copied[ch.desc.Digest] = true
		}
	}
	return copied, errors.Join(errs...)
}

// fresh reports whether none of the tags exists yet in the target
// repository.
func fresh(res *Result) bool {
	for _, t := range res.Tags {
		if t.Previous != "" {
			return false
		}
	}
	return true
}

// indexPresent reports whether a tag points at the index already.
func indexPresent(res *Result) bool {
	for _, t := range res.Tags {
		if t.Previous == res.Digest {
			return true
		}
	}
	return false
}

// uniqueChildren lists the manifests the index refers to, each once, in
// index order, with the repository each is read from.
func uniqueChildren(p *plan.Plan, s *spec.Spec) []child {
	refs := make(map[string]reference.Named, len(s.Manifests))
	for _, e := range s.Manifests {
		refs[e.Image.String()] = e.Image
	}
	seen := map[digest.Digest]bool{}
	var out []child
	for _, e := range p.Entries {
		d := e.Descriptor
		if seen[d.Digest] || e.Source == nil || e.Kept {
			continue
		}
		seen[d.Digest] = true
		ref := refs[e.Source.Ref]
		out = append(out, child{desc: d, from: registry.RepoOf(ref), source: e.Source.Ref})
	}
	return out
}

func tagsError(cp *copier, res *Result, err error) error {
	te := &TagsError{Target: cp.target.String(), Digest: res.Digest, Err: err}
	for _, t := range res.Tags {
		switch t.Status {
		case TagUpdated:
			te.Updated = append(te.Updated, t)
		case TagNotUpdated:
			te.NotUpdated = append(te.NotUpdated, t)
		}
	}
	return te
}
