package publish

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/containerd/log"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultSettle is the shortest wait of an update before it reads the
// target tag back (Options.Settle).
const DefaultSettle = 300 * time.Millisecond

// maxRounds bounds how many times an update writes the target tag.
const maxRounds = 12

// converge makes concurrent updates of one tag converge. A registry has no
// compare-and-swap: two jobs that each read the tag, merge their image in
// and write it back may overwrite each other. So after its write an update
// waits (settle: at least twice as long as its own write took, with up to
// half again of random jitter, so that another writer's read-merge-write
// that started before ours has landed), reads the tag back and, if another
// writer replaced it with an index that lacks this update's entries,
// merges again into what the tag holds now and writes the index and its
// tags again; at most maxRounds writes in all. When what the tag holds
// already gives everything this update asks for (its entries, its
// removals), the update is done and res describes that index.
//
// build makes the index from the sources and a current target (the plan
// of the first write is p); wrote is how long the first write took.
func converge(ctx context.Context, cp *copier, s *spec.Spec, res *Result, p *plan.Plan, build func(*plan.Source) (*plan.Plan, error), wrote, settle time.Duration) error {
	if settle <= 0 {
		settle = DefaultSettle
	}
	settle = max(settle, 2*wrote)
	tag := s.Target.Tag()
	res.Rounds = 1
	for {
		wait := settle + rand.N(settle/2+1)
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(wait):
		}
		doc, err := cp.rd.reg.ReadManifest(ctx, cp.target, tag)
		if err != nil {
			return fmt.Errorf("reading %s back: %w", s.Target, err)
		}
		if doc.Desc.Digest == p.Descriptor.Digest {
			return nil
		}
		cur, err := cp.rd.currentSource(ctx, s.Target, doc)
		if err != nil {
			return fmt.Errorf("reading %s back: %w", s.Target, err)
		}
		next, err := build(cur)
		if err != nil {
			return fmt.Errorf("merging again into what another writer put in %s: %w", s.Target, err)
		}
		if next.Descriptor.Digest == doc.Desc.Digest {
			// Another writer's index holds this update already.
			res.adopt(next)
			return nil
		}
		if res.Rounds == maxRounds {
			return fmt.Errorf("%s: other writers kept replacing it; gave up after %d writes (the tag may lack %s): %w",
				s.Target, maxRounds, describeEntries(p), ErrNotConverged)
		}
		log.G(ctx).WithField("tag", s.Target.String()).WithField("round", res.Rounds+1).
			Debug("another writer replaced the tag without this update's entries: merging again")
		started := time.Now()
		index := registry.Document{Desc: next.Descriptor, Data: next.Bytes}
		if err := putIndex(ctx, func() error { return cp.rd.reg.PutManifest(ctx, cp.target, next.Descriptor.Digest.String(), index) }); err != nil {
			return err
		}
		for _, t := range res.Tags {
			if t.Status != TagUpdated {
				continue
			}
			if err := cp.rd.reg.PutManifest(ctx, cp.target, t.Tag, index); err != nil {
				return err
			}
		}
		res.Rounds++
		res.adopt(next)
		p = next
		settle = max(settle, 2*time.Since(started))
	}
}

// adopt makes res describe the index p (after a merge with another
// writer's), keeping the tags' statuses and the changes first reported.
func (res *Result) adopt(p *plan.Plan) {
	res.Digest, res.Size, res.MediaType, res.Index = p.Descriptor.Digest, p.Descriptor.Size, p.Descriptor.MediaType, p.Bytes
	copied := map[string]bool{}
	referrers := map[string][]ReferrerResult{}
	for _, m := range res.Manifests {
		if m.Copied {
			copied[m.Digest.String()] = true
		}
		referrers[m.Digest.String()] = m.Referrers
	}
	res.Manifests = manifestResults(p)
	for i := range res.Manifests {
		res.Manifests[i].Copied = copied[res.Manifests[i].Digest.String()]
		res.Manifests[i].Referrers = referrers[res.Manifests[i].Digest.String()]
	}
}

// describeEntries names the platforms of p's image entries.
func describeEntries(p *plan.Plan) string {
	var ds []ocispec.Descriptor
	for _, e := range p.Entries {
		if !e.Attestation && !e.Kept && e.Descriptor.Platform != nil {
			ds = append(ds, e.Descriptor)
		}
	}
	if len(ds) == 0 {
		return "this update's removals"
	}
	names := ""
	for i, d := range ds {
		if i > 0 {
			names += ", "
		}
		names += platform.Format(*d.Platform)
	}
	return names
}
