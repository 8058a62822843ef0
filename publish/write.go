package publish

import (
	"context"
	"errors"
	"sync"

	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
)

// write does the writes of a push, in the order of docs/rules.md: the
// children, copied into the target repository, then the index by digest,
// then the target tag, then the extra tags concurrently. When a tag already
// points at the index (and not force), the index and so its children are
// in the repository already: only the tags are written. toWrite are
// indexes into res.Tags, the target tag (0) first when it is among them.
// It fills in res.Manifests[].Copied and res.Tags[].Status.
func write(ctx context.Context, cp *copier, p *plan.Plan, res *Result, toWrite []int, force bool) error {
	return writeChildren(ctx, cp, p, res, uniqueChildren(p), toWrite, force)
}

// writeChildren is write with the children to copy given.
func writeChildren(ctx context.Context, cp *copier, p *plan.Plan, res *Result, children []child, toWrite []int, force bool) error {
	index := registry.Document{Desc: p.Descriptor, Data: p.Bytes}
	if force || !indexPresent(res) {
		// Into a target none of whose tags exists yet, every child is
		// copied without looking first; otherwise each is looked for and
		// only the missing ones are copied (see copyMode).
		copied, err := cp.copy(ctx, children, copyMode{look: force || !fresh(res)})
		for i, e := range p.Entries {
			res.Manifests[i].Copied = copied[e.Descriptor.Digest]
		}
		if err != nil {
			return err
		}
		if err := cp.rd.reg.PutManifest(ctx, cp.target, p.Descriptor.Digest.String(), index); err != nil {
			return err
		}
	}
	return putTags(ctx, cp, p, res, toWrite)
}

// putTags moves the tags res.Tags[toWrite] to the index p, which is in the
// target repository: the target tag (0) first when it is among them, then
// the others concurrently.
func putTags(ctx context.Context, cp *copier, p *plan.Plan, res *Result, toWrite []int) error {
	index := registry.Document{Desc: p.Descriptor, Data: p.Bytes}
	putTag := func(i int) error {
		if err := cp.rd.reg.PutManifest(ctx, cp.target, res.Tags[i].Tag, index); err != nil {
			return err
		}
		res.Tags[i].Status = TagUpdated
		return nil
	}
	rest := toWrite
	if len(rest) > 0 && rest[0] == 0 {
		if err := putTag(0); err != nil {
			return err
		}
		rest = rest[1:]
	}
	var wg sync.WaitGroup
	errs := make([]error, len(rest))
	for k, i := range rest {
		wg.Go(func() { errs[k] = putTag(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
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
// index order, with the repository each is read from (its source's).
func uniqueChildren(p *plan.Plan) []child {
	seen := map[digest.Digest]bool{}
	var out []child
	for _, e := range p.Entries {
		d := e.Descriptor
		if seen[d.Digest] || e.Source == nil || e.Kept {
			continue
		}
		seen[d.Digest] = true
		out = append(out, child{desc: d, from: locationOf(e.Source), source: e.Source.Name()})
	}
	return out
}

// tagsError is the error of a push that failed after its first write: which
// tags moved, which did not, where each pointed before. An error that is
// one already is returned as it is.
func tagsError(cp *copier, res *Result, err error) error {
	if te, ok := errors.AsType[*TagsError](err); ok {
		return te
	}
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
