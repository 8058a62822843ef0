package publish

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/containerd/log"
	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The writer is the one path every use case ends in (docs/rules.md, "What
// a push does"): a push, an update (--append, --remove), the completeness
// gate, a rerun that heals, a mirror, a by-digest push and the referrers
// all come here with "these children, this index, these tags, in that
// repository". It is the one place that writes manifests (put) and moves
// tags, and the one place that reads a tag just before writing it and
// reads it back after (docs/rules.md, "Updating an index").

// writer writes into one target repository.
type writer struct {
	cp *copier
	// signing, when set, is what is signed before any tag moves (putTags);
	// signs is what was found signed or signed so far.
	signing *Signing
	signs   signatures
}

func newWriter(rd *reader, target registry.Repo, opts Options, early *looks) *writer {
	w := &writer{cp: &copier{rd: rd, target: target, progress: newProgress(opts.Progress), early: early}, signing: opts.Signing}
	w.signs.done = map[digest.Digest]bool{}
	w.cp.put = w.put
	return w
}

func (w *writer) reg() Registry         { return w.cp.rd.reg }
func (w *writer) target() registry.Repo { return w.cp.target }

// put writes one manifest into the target repository, under its digest or
// a tag: every manifest publish writes goes through here.
func (w *writer) put(ctx context.Context, ref string, doc registry.Document) error {
	return w.reg().PutManifest(ctx, w.target(), ref, doc)
}

// putIndex writes the index p by digest. An artifact index with a
// subject is written through the registry's referrer upkeep
// (AddReferrers), so that its subject's referrers list it: the registry's
// referrers API indexes it, or the subject's tag-schema index gains it.
func (w *writer) putIndex(ctx context.Context, p *plan.Plan) error {
	doc := docOf(p)
	if p.Subject == nil {
		return w.put(ctx, p.Descriptor.Digest.String(), doc)
	}
	desc := p.Descriptor
	desc.ArtifactType = p.ArtifactType
	return w.reg().AddReferrers(ctx, w.target(), p.Subject.Digest, []registry.Attachment{{Referrer: registry.Referrer{Desc: desc}, Doc: doc}})
}

// putIndexTagged is putIndex asking the registry, in the same request, to
// point the tags res.Tags[toWrite] at p (the tag parameter; the client
// learns once per registry host whether the registry takes it). The tags
// the registry confirms are marked updated; the others are returned, in
// order, for putTags. With signing every tag is left to putTags, which
// signs before any tag moves, and so is every tag of an artifact index
// with a subject, written through the referrer upkeep.
func (w *writer) putIndexTagged(ctx context.Context, p *plan.Plan, res *Result, toWrite []int) ([]int, error) {
	if w.signing != nil || p.Subject != nil || len(toWrite) == 0 {
		return toWrite, w.putIndex(ctx, p)
	}
	tags := make([]string, len(toWrite))
	for k, i := range toWrite {
		tags[k] = res.Tags[i].Tag
	}
	done, err := w.reg().PutTagged(ctx, w.target(), docOf(p), tags)
	if err != nil {
		return toWrite, err
	}
	var rest []int
	for _, i := range toWrite {
		if slices.Contains(done, res.Tags[i].Tag) {
			res.Tags[i].Status = TagUpdated
		} else {
			rest = append(rest, i)
		}
	}
	return rest, nil
}

// commit is what the writer is asked to do in its target repository.
type commit struct {
	// ref is the tag the index goes under (the staging tag of the gate).
	ref reference.NamedTagged
	// tags are the tags to point at the index, ref's first; previous where
	// each pointed when the push read it (empty: did not exist).
	tags     []string
	previous []digest.Digest
	// current is what ref held when the push read it (nil: nothing), for
	// the changes reported.
	current *plan.Source
	// plan is the index.
	plan *plan.Plan
	// children are the manifests the index lists, each with the repository
	// it is read from (an entry kept from what the tag held is read from
	// the push's own target).
	children []child
	// found are what refers to the entries in their source repositories.
	found []referrer
	// update, for an update of what ref holds (--append), merges the
	// sources into a current index; nil for a push that replaces it.
	update func(current *plan.Source) (*plan.Plan, error)
	// warnings are carried into the result.
	warnings []string
}

// write carries out c: the children (copied in, or, when a tag points at
// the index already, looked for and copied back if missing), the index by
// digest, the tags (none with ByDigest), then the referrers the target
// lacks; an update reads ref just before writing, merges into what it
// holds then, and converges with other writers after. It returns the
// result and the index ref holds at the end. Any failure after the first
// write is a *TagsError.
func (w *writer) write(ctx context.Context, c commit, opts Options) (*Result, *plan.Plan, error) {
	p := c.plan
	res := newResult(c.ref, p, opts.DryRun)
	res.Warnings = append(res.Warnings, c.warnings...)
	tags, previous := c.tags, c.previous
	if opts.ByDigest {
		tags, previous = nil, nil
		res.ByDigest = true
	}
	if len(c.previous) == 0 || c.previous[0] != p.Descriptor.Digest {
		res.Changes = plan.Changes(c.current, p.Entries)
	}
	toWrite := res.setTags(tags, previous, p.Descriptor.Digest, opts.Force)
	log.G(ctx).WithField("digest", p.Descriptor.Digest).WithField("tags", toWrite).Debug("index built")
	present := len(tags) > 0 && len(toWrite) == 0
	if opts.ByDigest && !opts.Force {
		// A read, in dry runs too: a dry run says what the push would do.
		var err error
		if present, err = hasManifest(ctx, w.reg(), w.target(), p.Descriptor.Digest); err != nil {
			return res, p, fmt.Errorf("looking for %s@%s: %w", w.target(), p.Descriptor.Digest, err)
		}
	}
	if opts.DryRun || present {
		return w.keep(ctx, c, res, opts.DryRun, !present)
	}

	res.Changed = true
	started := time.Now()
	indexThere := !opts.Force && indexPresent(res)
	if !indexThere {
		// Into a target none of whose tags exists yet, every child is
		// copied without looking first; otherwise each is looked for and
		// only the missing ones are copied (see copyMode).
		copied, err := w.cp.copy(ctx, c.children, copyMode{look: opts.Force || !fresh(res)})
		res.markCopied(copied)
		if err != nil {
			return res, p, w.tagsError(res, err)
		}
	}
	if c.update != nil && !opts.ByDigest {
		// The merge is made from a read of the tag taken now, after the
		// copies (which may have taken long), not from the first read.
		next, cur, prev, err := w.reread(ctx, c, tags)
		if err != nil {
			return res, p, w.tagsError(res, err)
		}
		if next.Descriptor.Digest != p.Descriptor.Digest {
			p = next
			res.adopt(p)
			indexThere = false
		}
		if prev[0] != p.Descriptor.Digest {
			res.Changes = plan.Changes(cur, p.Entries)
		}
		toWrite = res.setTags(tags, prev, p.Descriptor.Digest, opts.Force)
	}
	if !indexThere {
		rest, err := w.putIndexTagged(ctx, p, res, toWrite)
		if err != nil {
			return res, p, w.tagsError(res, err)
		}
		res.wrote = p.Descriptor.Digest
		toWrite = rest
	}
	bringReferrers := func() error {
		_, warnings, err := w.referrers(ctx, res, c.found, false)
		res.Warnings = append(res.Warnings, warnings...)
		return err
	}
	if w.signing != nil {
		// With signing, the entries' referrers (a signature the build made
		// among them) are brought in before the signatures are looked
		// for, as a rerun finds them (keep): a fresh push and a rerun
		// decide alike what to sign.
		if err := bringReferrers(); err != nil {
			return res, p, w.tagsError(res, err)
		}
	}
	if err := w.putTags(ctx, p, res, toWrite); err != nil {
		return res, p, w.tagsError(res, err)
	}
	if w.signing == nil {
		if err := bringReferrers(); err != nil {
			return res, p, w.tagsError(res, err)
		}
	}
	if c.update != nil && !opts.ByDigest {
		// How long the write took, signing left out (it is no registry
		// lag).
		final, err := w.converge(ctx, c, res, p, time.Since(started)-w.signs.took(), opts.Settle)
		if err != nil {
			return res, final, w.tagsError(res, err)
		}
		p = final
	}
	return res, p, nil
}

// keep is write when every tag points at the index already (or with
// DryRun, when nothing is written; changed says whether a push would
// write): its children may have been deleted
// since (a clean-up job), and its entries' referrers may still be missing
// from the target. Both are looked at concurrently; each keeps its own
// warnings until both are done.
func (w *writer) keep(ctx context.Context, c commit, res *Result, dryRun, changed bool) (*Result, *plan.Plan, error) {
	res.Changed = changed
	var wg sync.WaitGroup
	var healed, copied bool
	var healErr, refErr error
	var healWarnings, refWarnings []string
	if !dryRun {
		wg.Go(func() { healed, healWarnings, healErr = w.heal(ctx, res, c.children) })
	}
	wg.Go(func() { copied, refWarnings, refErr = w.referrers(ctx, res, c.found, dryRun) })
	wg.Wait()
	res.Warnings = append(append(res.Warnings, healWarnings...), refWarnings...)
	res.Changed = res.Changed || healed || copied
	err := errors.Join(healErr, refErr)
	if err == nil {
		// Signing added to a push whose tags are right already: what is
		// unsigned is signed, and no tag moves (a dry run says what it
		// would run).
		n := len(res.Signatures)
		err = w.sign(ctx, res, c.plan, dryRun)
		for _, s := range res.Signatures[n:] {
			res.Changed = res.Changed || s.Status == SignSigned || s.Status == SignWouldSign
		}
		copied = copied || slices.ContainsFunc(res.Signatures, func(s SignResult) bool { return s.Status == SignSigned })
	}
	if err != nil && (healed || copied) {
		return res, c.plan, w.tagsError(res, err)
	}
	return res, c.plan, err
}

// reread reads ref and the other tags just before the index is written,
// and merges the sources into what ref holds now (c.update). It returns
// the index to write, what ref held, and where each tag points.
func (w *writer) reread(ctx context.Context, c commit, tags []string) (*plan.Plan, *plan.Source, []digest.Digest, error) {
	prev := make([]digest.Digest, len(tags))
	errs := make([]error, len(tags))
	var doc registry.Document
	var wg sync.WaitGroup
	for i, t := range tags {
		wg.Go(func() {
			if i > 0 {
				prev[i], errs[i] = tagDigest(ctx, w.reg(), w.target(), t)
				return
			}
			var err error
			doc, err = w.reg().ReadManifest(ctx, w.target(), t)
			if errors.Is(err, registry.ErrNotFound) {
				doc, err = registry.Document{}, nil
			}
			prev[0], errs[0] = doc.Desc.Digest, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, nil, fmt.Errorf("reading %s just before writing it: %w", c.ref, err)
	}
	var cur *plan.Source
	if doc.Desc.Digest != "" {
		var err error
		if cur, err = w.cp.rd.currentSource(ctx, c.ref, doc); err != nil {
			return nil, nil, nil, fmt.Errorf("reading what %s holds now: %w", c.ref, err)
		}
	}
	next, err := c.update(cur)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("merging into what %s holds now: %w", c.ref, err)
	}
	return next, cur, prev, nil
}

// putTags moves the tags res.Tags[toWrite] to the index p, which is in the
// target repository: the target tag (0) first when it is among them, then
// the others concurrently. With signing, p and its children are signed
// first (those not signed yet), and when that fails no tag moves: every
// tag move goes through here, so none ever names an unsigned index.
func (w *writer) putTags(ctx context.Context, p *plan.Plan, res *Result, toWrite []int) error {
	if err := w.sign(ctx, res, p, false); err != nil {
		return err
	}
	doc := docOf(p)
	putTag := func(ctx context.Context, i int) error {
		if err := w.put(ctx, res.Tags[i].Tag, doc); err != nil {
			return err
		}
		res.Tags[i].Status = TagUpdated
		return nil
	}
	rest := toWrite
	if len(rest) > 0 && rest[0] == 0 {
		if err := putTag(ctx, 0); err != nil {
			return err
		}
		rest = rest[1:]
	}
	// Every tag is tried: the result says which moved and which did not.
	return fanOutAll(ctx, len(rest), func(ctx context.Context, k int) error { return putTag(ctx, rest[k]) })
}

// heal copies back into the target the children that a clean-up job
// deleted from it: every child is looked for, in one concurrent wave (the
// early one for the children the target tag's index lists), and the
// missing ones are copied again from where they are read. A missing child
// read from the target itself cannot be copied back: it is a warning. It
// reports whether it copied any.
func (w *writer) heal(ctx context.Context, res *Result, children []child) (bool, []string, error) {
	found := make([]bool, len(children))
	err := fanOut(ctx, len(children), func(ctx context.Context, i int) (err error) {
		found[i], err = w.cp.has(ctx, children[i].desc.Digest)
		return err
	})
	if err != nil {
		return false, nil, fmt.Errorf("looking for the entries in %s: %w", w.target(), err)
	}
	var missing []child
	var warnings []string
	for i, ch := range children {
		switch {
		case found[i]:
		case same(ch.from, w.target()):
			warnings = append(warnings, fmt.Sprintf("%s@%s is missing from %s and was kept from what the tag held: it cannot be copied back; push its image again", w.target(), ch.desc.Digest, w.target()))
		default:
			missing = append(missing, ch)
		}
	}
	if len(missing) == 0 {
		return false, warnings, nil
	}
	copied, err := w.cp.copy(ctx, missing, copyMode{})
	res.markCopied(copied)
	return len(copied) > 0, warnings, err
}

// referrers brings the referrers found into the target repository (or,
// with dryRun, says which it would bring), records them on res's entries
// and reports whether any was written, and its warnings.
func (w *writer) referrers(ctx context.Context, res *Result, found []referrer, dryRun bool) (bool, []string, error) {
	// The target's referrers are looked at afresh (a new scan of its
	// tags), after the copies: another signer may have written a cosign
	// tag since the push began.
	results, warnings, err := syncReferrers(registry.WithReferrerScans(ctx), w.cp, found, dryRun)
	copied := false
	for i := range res.Manifests {
		m := &res.Manifests[i]
		m.Referrers = results[m.Digest]
		for _, r := range m.Referrers {
			copied = copied || r.Copied
		}
	}
	if err != nil {
		return copied, warnings, fmt.Errorf("bringing the referrers into %s: %w", w.target(), err)
	}
	return copied, warnings, nil
}

// markCopied sets Copied on the entries whose manifests were written.
func (res *Result) markCopied(copied map[digest.Digest]bool) {
	for i := range res.Manifests {
		if copied[res.Manifests[i].Digest] {
			res.Manifests[i].Copied = true
		}
	}
}

// tagsError is the error of a push that failed after its first write: which
// tags moved, which did not, where each pointed before. An error that is
// one already is returned as it is.
func (w *writer) tagsError(res *Result, err error) error {
	if te, ok := errors.AsType[*TagsError](err); ok {
		return te
	}
	te := &TagsError{Target: w.target().String(), Digest: res.Digest, Err: err}
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

// DefaultSettle is the shortest wait of an update before it reads the
// target tag back (Options.Settle).
const DefaultSettle = 300 * time.Millisecond

// maxRounds bounds how many times an update writes the target tag.
const maxRounds = 12

// converge makes concurrent updates of one tag converge. A registry has no
// compare-and-swap: two jobs that each read the tag just before writing,
// merge their image in and write it back may still overwrite each other
// (the window is the other's read-to-write). So after its write an update
// waits (settle: at least twice as long as its own write took, with up to
// half again of random jitter), reads the tag back and, if another writer
// replaced it with an index that lacks this update's entries, merges again
// into what the tag holds now and writes the index and its tags again; at
// most maxRounds writes in all. When what the tag holds gives everything
// this update asks for (its entries, its removals), the extra tags it
// wrote are read too: one that another job's late write left on an older
// index is moved to what the tag holds, and the tags are read back once
// more. The update is done when, at a read-back, the tag gives this
// update and every extra tag points where the tag does.
//
// wrote is how long the first write took. It returns the index the tag
// holds at the end: p, or the merge it wrote or found.
func (w *writer) converge(ctx context.Context, c commit, res *Result, p *plan.Plan, wrote, settle time.Duration) (*plan.Plan, error) {
	if settle <= 0 {
		settle = DefaultSettle
	}
	settle = max(settle, 2*wrote)
	tag := c.ref.Tag()
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
		lag, seen, err := w.visible(ctx, tag, before, p.Descriptor.Digest, limit)
		if err != nil {
			return p, fmt.Errorf("reading %s back: %w", c.ref, err)
		}
		if seen {
			knownLag = max(knownLag, lag)
		}
		lag = max(lag, knownLag)
		doc, next, done, err := w.decide(ctx, c, p, settle+2*lag+rand.N(settle/2+1))
		switch {
		case err != nil || !done:
		case knownLag < 0:
			// None of this update's writes was seen to show (another
			// writer replaced it first): how far reads lag is not known.
			// Look once more after the longest lag waited for, so that a
			// writer that read the tag before this update showed, and
			// wrote without it, is seen.
			doc, next, done, err = w.decide(ctx, c, p, limit)
		case knownLag > visiblePoll:
			// On a registry whose reads lag, such a writer may still
			// write: look once more, a lag later.
			doc, next, done, err = w.decide(ctx, c, p, lag)
		}
		if err != nil {
			return p, err
		}
		if done {
			if next != p {
				res.adopt(next) // another writer's index holds this update already
			}
			// The extra tags this update wrote: each must point where the
			// tag does now.
			stale, err := w.staleTags(ctx, res, doc.Desc.Digest)
			if err != nil {
				return next, err
			}
			if len(stale) == 0 {
				return next, nil
			}
			if res.Rounds == maxRounds {
				return next, fmt.Errorf("%s: other writers kept moving its tags: gave up after %d writes: %w", c.ref, maxRounds, ErrNotConverged)
			}
			log.G(ctx).WithField("tags", stale).Debug("another writer left extra tags on an older index: moving them")
			started, signing := time.Now(), w.signs.took()
			if err := w.putTags(ctx, next, res, stale); err != nil {
				return next, err
			}
			res.Rounds++
			before, p = doc.Desc.Digest, next
			settle = max(settle, 2*(time.Since(started)-(w.signs.took()-signing)))
			continue
		}
		if res.Rounds == maxRounds {
			return p, fmt.Errorf("%s: other writers kept replacing it; gave up after %d writes (the tag may lack %s): %w",
				c.ref, maxRounds, describeEntries(p), ErrNotConverged)
		}
		log.G(ctx).WithField("tag", c.ref.String()).WithField("round", res.Rounds+1).
			Debug("another writer replaced the tag without this update's entries: merging again")
		started, signing := time.Now(), w.signs.took()
		// Every tag of this update moves to the merge: the target tag
		// first (it may have been right already at the first write, and
		// another writer has moved it since), then the extra tags; with
		// the registry's tag parameter, in the index's own write.
		again := make([]int, len(res.Tags))
		for i := range res.Tags {
			again[i] = i
		}
		again, err = w.putIndexTagged(ctx, next, res, again)
		if err != nil {
			return p, err
		}
		res.wrote = next.Descriptor.Digest
		if err := w.putTags(ctx, next, res, again); err != nil {
			return p, err
		}
		res.Rounds++
		res.adopt(next)
		before = doc.Desc.Digest
		p = next
		settle = max(settle, 2*(time.Since(started)-(w.signs.took()-signing)))
	}
}

// decide waits, reads the tag of c and tells whether what it holds gives
// the update p already (done), or the merge to write next.
func (w *writer) decide(ctx context.Context, c commit, p *plan.Plan, wait time.Duration) (doc registry.Document, next *plan.Plan, done bool, err error) {
	select {
	case <-ctx.Done():
		return doc, nil, false, context.Cause(ctx)
	case <-time.After(wait):
	}
	if doc, err = w.reg().ReadManifest(ctx, w.target(), c.ref.Tag()); err != nil {
		return doc, nil, false, fmt.Errorf("reading %s back: %w", c.ref, err)
	}
	if doc.Desc.Digest == p.Descriptor.Digest {
		return doc, p, true, nil
	}
	cur, err := w.cp.rd.currentSource(ctx, c.ref, doc)
	if err != nil {
		return doc, nil, false, fmt.Errorf("reading %s back: %w", c.ref, err)
	}
	if next, err = c.update(cur); err != nil {
		return doc, nil, false, fmt.Errorf("merging again into what another writer put in %s: %w", c.ref, err)
	}
	return doc, next, next.Descriptor.Digest == doc.Desc.Digest, nil
}

// staleTags reads the extra tags this update wrote and lists those (as
// indexes into res.Tags) that do not point at d, where the target tag
// points.
func (w *writer) staleTags(ctx context.Context, res *Result, d digest.Digest) ([]int, error) {
	var idx []int
	for i, t := range res.Tags {
		if i > 0 && t.Status == TagUpdated {
			idx = append(idx, i)
		}
	}
	got := make([]digest.Digest, len(idx))
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	for k, i := range idx {
		wg.Go(func() { got[k], errs[k] = tagDigest(ctx, w.reg(), w.target(), res.Tags[i].Tag) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("reading the extra tags of %s back: %w", w.target(), err)
	}
	var stale []int
	for k, i := range idx {
		if got[k] != d {
			stale = append(stale, i)
		}
	}
	return stale, nil
}

// adopt makes res describe the index p (after a merge with another
// writer's), keeping the tags' statuses and the changes first reported.
func (res *Result) adopt(p *plan.Plan) {
	res.Digest, res.Size, res.MediaType, res.Index = p.Descriptor.Digest, p.Descriptor.Size, p.Descriptor.MediaType, p.Bytes
	copied := map[digest.Digest]bool{}
	referrers := map[digest.Digest][]ReferrerResult{}
	for _, m := range res.Manifests {
		if m.Copied {
			copied[m.Digest] = true
		}
		referrers[m.Digest] = m.Referrers
	}
	res.Manifests = manifestResults(p)
	for i := range res.Manifests {
		res.Manifests[i].Copied = copied[res.Manifests[i].Digest]
		res.Manifests[i].Referrers = referrers[res.Manifests[i].Digest]
	}
}

// describeEntries names the platforms of p's image entries.
func describeEntries(p *plan.Plan) string {
	names := ""
	for _, e := range p.Entries {
		if e.Attestation || e.Kept || e.Descriptor.Platform == nil {
			continue
		}
		if names != "" {
			names += ", "
		}
		names += platform.Format(*e.Descriptor.Platform)
	}
	if names == "" {
		return "this update's removals"
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
func (w *writer) visible(ctx context.Context, tag string, before, wrote digest.Digest, limit time.Duration) (lag time.Duration, seen bool, err error) {
	start := time.Now()
	for {
		d, err := tagDigest(ctx, w.reg(), w.target(), tag)
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

// docOf is the index as a document to write.
func docOf(p *plan.Plan) registry.Document {
	return registry.Document{Desc: p.Descriptor, Data: p.Bytes}
}

// promote moves the public tags to the index the staging tag holds once it
// gives every required platform (the completeness gate): the staging tag
// is read just before the public tags move (final, the index this job
// converged on, when it is no longer complete there), and after a settle
// time the staging tag and the public tag are read back: when the staging
// tag holds a complete index the public tag does not (another job
// completed later, or this job's write landed after a newer one's), the
// public tags move to it; at most maxRounds times. res.Tags says what
// happened to each public tag. It returns the index the public tags were
// last moved to (final when none moved), and whether it moved any.
func (w *writer) promote(ctx context.Context, staging reference.NamedTagged, tags []string, require []ocispec.Platform, final *plan.Plan, res *Result, opts Options) (*plan.Plan, bool, error) {
	settle := opts.Settle
	if settle <= 0 {
		settle = DefaultSettle
	}
	moved, last, waited := false, final, false
	first := map[string]digest.Digest{}
	updated := map[string]bool{}
	for round := 0; ; round++ {
		idx, err := w.completeIndex(ctx, staging, require)
		if err != nil {
			return last, moved, err
		}
		if idx == nil {
			idx = final
		}
		last = idx
		previous := make([]digest.Digest, len(tags))
		errs := make([]error, len(tags))
		var wg sync.WaitGroup
		for i, t := range tags {
			wg.Go(func() { previous[i], errs[i] = tagDigest(ctx, w.reg(), w.target(), t) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return last, moved, fmt.Errorf("reading the tags of %s: %w", w.target(), err)
		}
		if w.signing != nil && !waited && res.wrote != "" && idx.Descriptor.Digest != res.wrote && previous[0] != idx.Descriptor.Digest {
			// Another job of this run wrote the complete index (this one
			// wrote a staging merge, not that one): it signs and moves the
			// public tags. Waiting for it spares a second signature; a
			// job that does not finish is taken over. (A rerun that wrote
			// nothing has no one to wait for.)
			waited = true
			if err := w.await(ctx, tags[0], idx, completerWait); err != nil {
				return last, moved, err
			}
			continue
		}
		toWrite := res.setTags(tags, previous, idx.Descriptor.Digest, opts.Force && round == 0)
		for i := range res.Tags {
			t := &res.Tags[i]
			if p, ok := first[t.Tag]; ok {
				t.Previous = p // where it pointed before this job
			} else {
				first[t.Tag] = t.Previous
			}
			if updated[t.Tag] && t.Status == TagUnchanged {
				t.Status = TagUpdated // moved by an earlier round
			}
		}
		if len(toWrite) == 0 {
			// Signing asked for where the tags are right already: what is
			// unsigned is signed, and no tag moves.
			if err := w.sign(ctx, res, idx, false); err != nil {
				return last, moved, w.tagsError(res, err)
			}
			return last, moved, nil
		}
		if round == maxRounds {
			return last, moved, w.tagsError(res, fmt.Errorf("%s: other jobs kept moving its tags: gave up after %d writes: %w", w.target(), maxRounds, ErrNotConverged))
		}
		if idx.Descriptor.Digest != res.Digest {
			res.adopt(idx)
		}
		started, signing := time.Now(), w.signs.took()
		if err := w.putTags(ctx, idx, res, toWrite); err != nil {
			return last, moved, w.tagsError(res, err)
		}
		for _, i := range toWrite {
			updated[res.Tags[i].Tag] = true
		}
		moved = true
		settle = max(settle, 2*(time.Since(started)-(w.signs.took()-signing)))
		select {
		case <-ctx.Done():
			return last, moved, w.tagsError(res, context.Cause(ctx))
		case <-time.After(settle + rand.N(settle/2+1)):
		}
	}
}

// completerWait bounds how long a job of the gate that finds the staging
// index complete, but did not write it, waits for the job that did to
// sign it and move the public tags (see promote), from the last sign of
// progress: each new signature of the index's artifacts seen in the
// target starts the wait again.
const completerWait = 30 * time.Second

// await polls tag (HEADs) until it points at the index idx. It gives up
// once limit has passed without the tag moving there or a new signature
// of idx's artifacts showing (looked for every few polls).
func (w *writer) await(ctx context.Context, tag string, idx *plan.Plan, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	seen := -1
	for poll := 0; time.Now().Before(deadline); poll++ {
		got, err := tagDigest(ctx, w.reg(), w.target(), tag)
		if err != nil {
			return fmt.Errorf("reading %s:%s: %w", w.target(), tag, err)
		}
		if got == idx.Descriptor.Digest {
			return nil
		}
		if poll%10 == 0 {
			found, err := signed(ctx, w.reg(), w.target(), w.signing.artifacts(idx))
			if err != nil {
				return err
			}
			n := 0
			for _, ok := range found {
				if ok {
					n++
				}
			}
			if n > seen {
				if seen >= 0 {
					deadline = time.Now().Add(limit) // the other job is signing
				}
				seen = n
			}
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(2 * visiblePoll):
		}
	}
	log.G(ctx).WithField("tag", tag).Debug("the job that completed the index did not move the public tag: moving it")
	return nil
}

// completeIndex reads what the staging tag holds now and returns it as a
// plan to write when it gives every required platform; nil when it does
// not.
func (w *writer) completeIndex(ctx context.Context, staging reference.NamedTagged, require []ocispec.Platform) (*plan.Plan, error) {
	doc, err := w.reg().ReadManifest(ctx, w.target(), staging.Tag())
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", staging, err)
	}
	cur, err := w.cp.rd.currentSource(ctx, staging, doc)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", staging, err)
	}
	var have []ocispec.Platform
	for _, d := range plan.Platforms(cur) {
		have = append(have, *d.Platform)
	}
	if len(plan.MissingFrom(require, have)) > 0 {
		return nil, nil
	}
	p := &plan.Plan{Bytes: doc.Data, Descriptor: doc.Desc}
	for _, d := range cur.Children {
		p.Entries = append(p.Entries, plan.Entry{Source: cur, Descriptor: d, Kept: true})
	}
	return p, nil
}
