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
	"github.com/opencontainers/go-digest"
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
//
// It returns the index the tag holds at the end: p, or the merge it wrote
// or found.
func converge(ctx context.Context, cp *copier, s *spec.Spec, res *Result, p *plan.Plan, build func(*plan.Source) (*plan.Plan, error), wrote, settle time.Duration) (*plan.Plan, error) {
	if settle <= 0 {
		settle = DefaultSettle
	}
	settle = max(settle, 2*wrote)
	tag := s.Target.Tag()
	res.Rounds = 1
	// knownLag is the longest a write of this update took to show (-1:
	// none was seen yet), limit the longest it is waited for.
	knownLag := time.Duration(-1)
	limit := min(maxLag, 10*settle)
	before := res.Tags[0].Previous
	for {
		// A registry whose tag reads lag its writes (Docker Hub, GHCR,
		// geo-replicated registries) shows the old index for a while. The
		// settle time grows by twice how long this update's own write took
		// to show: another writer may have read the tag up to one lag after
		// this write without seeing it, and its write shows one lag later.
		lag, seen, err := visible(ctx, cp, tag, before, p.Descriptor.Digest, limit)
		if err != nil {
			return p, fmt.Errorf("reading %s back: %w", s.Target, err)
		}
		// Another writer's write may show first and sooner: the lag is at
		// least what a write of this update took to show.
		if seen {
			knownLag = max(knownLag, lag)
		}
		lag = max(lag, knownLag)
		// decide reads the tag and tells whether what it holds gives this
		// update already (done), or the merge to write next.
		decide := func(lag time.Duration) (doc registry.Document, next *plan.Plan, done bool, err error) {
			select {
			case <-ctx.Done():
				return doc, nil, false, context.Cause(ctx)
			case <-time.After(settle + 2*lag + rand.N(settle/2+1)):
			}
			if doc, err = cp.rd.reg.ReadManifest(ctx, cp.target, tag); err != nil {
				return doc, nil, false, fmt.Errorf("reading %s back: %w", s.Target, err)
			}
			if doc.Desc.Digest == p.Descriptor.Digest {
				return doc, p, true, nil
			}
			cur, err := cp.rd.currentSource(ctx, s.Target, doc)
			if err != nil {
				return doc, nil, false, fmt.Errorf("reading %s back: %w", s.Target, err)
			}
			if next, err = build(cur); err != nil {
				return doc, nil, false, fmt.Errorf("merging again into what another writer put in %s: %w", s.Target, err)
			}
			return doc, next, next.Descriptor.Digest == doc.Desc.Digest, nil
		}
		doc, next, done, err := decide(lag)
		switch {
		case err != nil || !done:
		case knownLag < 0:
			// None of this update's writes was seen to show (another
			// writer replaced it first): how far reads lag is not known.
			// Look once more after the longest lag waited for, so that a
			// writer that read the tag before this update showed, and
			// wrote without it, is seen.
			doc, next, done, err = decide(limit)
		case knownLag > visiblePoll:
			// On a registry whose reads lag, such a writer may still
			// write: look once more, a lag later.
			doc, next, done, err = decide(lag)
		}
		if err != nil {
			return p, err
		}
		if done {
			if next != p {
				res.adopt(next) // another writer's index holds this update already
			}
			return next, nil
		}
		if res.Rounds == maxRounds {
			return p, fmt.Errorf("%s: other writers kept replacing it; gave up after %d writes (the tag may lack %s): %w",
				s.Target, maxRounds, describeEntries(p), ErrNotConverged)
		}
		log.G(ctx).WithField("tag", s.Target.String()).WithField("round", res.Rounds+1).
			Debug("another writer replaced the tag without this update's entries: merging again")
		started := time.Now()
		index := registry.Document{Desc: next.Descriptor, Data: next.Bytes}
		if err := cp.rd.reg.PutManifest(ctx, cp.target, next.Descriptor.Digest.String(), index); err != nil {
			return p, err
		}
		for _, t := range res.Tags {
			if t.Status != TagUpdated {
				continue
			}
			if err := cp.rd.reg.PutManifest(ctx, cp.target, t.Tag, index); err != nil {
				return p, err
			}
		}
		res.Rounds++
		res.adopt(next)
		before = doc.Desc.Digest
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

// Bounds of waiting for a write to show (visible): a read every
// visiblePoll, for at most ten settle times and never over maxLag (another
// writer may have put back the very index the tag held before).
const (
	visiblePoll = 100 * time.Millisecond
	maxLag      = 10 * time.Second
)

// visible waits until tag reads as something other than before (what it
// held before this update's write of wrote: it shows this write, or a
// later one) and returns how long that took: the registry's lag as far as
// this write tells. seen is set when what showed is this write itself (the
// surest measure). At most limit. The reads are HEADs (no pull counted).
func visible(ctx context.Context, cp *copier, tag string, before, wrote digest.Digest, limit time.Duration) (lag time.Duration, seen bool, err error) {
	start := time.Now()
	for {
		d, err := cp.rd.reg.TagDigest(ctx, cp.target, tag)
		if err != nil {
			return 0, false, err
		}
		lag := time.Since(start)
		if d == wrote || d != before || lag >= limit {
			return min(lag, limit), d == wrote, nil
		}
		select {
		case <-ctx.Done():
			return lag, false, context.Cause(ctx)
		case <-time.After(min(visiblePoll, limit)):
		}
	}
}
