package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The publishing workflows of docs/rules.md: the completeness gate, reruns
// that heal, and mirrors. (By-digest pushes are Options.ByDigest in
// publish.)

// Staging is what the completeness gate did (spec.Spec.Require).
type Staging struct {
	// Tag is the staging tag the update was merged into.
	Tag string `json:"tag"`
	// Complete is set when the staging index gives every required
	// platform: the target tag and the extra tags then hold it.
	Complete bool `json:"complete"`
	// Missing are the required platforms the staging index lacks still.
	Missing []string `json:"missing"`
}

// MirrorResult is the outcome of publishing the index to one mirror
// (spec.Spec.Mirrors): its result, and its error (a failing mirror does not
// stop the others).
type MirrorResult struct {
	Result *Result
	Err    error
}

// missingPlatforms are the required platforms that no image entry of p
// gives (platform.Matches: fields left empty match any value).
func missingPlatforms(require []ocispec.Platform, p *plan.Plan) []string {
	missing := []string{}
	for _, want := range require {
		found := false
		for _, e := range p.Entries {
			if !e.Attestation && e.Descriptor.Platform != nil && platform.Matches(want, *e.Descriptor.Platform) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, platform.Format(want))
		}
	}
	return missing
}

// complete ends a gated push (public.StagingTag): res is the push into the
// staging tag, final the index that tag holds after converging. When final
// gives every required platform, the target tag and the extra tags are
// moved to it (those that point elsewhere); otherwise nothing public moves
// and the result names what is missing.
func complete(ctx context.Context, rd *reader, public *spec.Spec, res *Result, final *plan.Plan, opts Options) (*Result, error) {
	missing := missingPlatforms(public.Require, final)
	res.Staging = &Staging{Tag: public.StagingTag, Complete: len(missing) == 0, Missing: missing}
	res.Ref, res.Target = public.Target, public.Target.String()
	if !res.Staging.Complete {
		res.Tags = []TagResult{}
		return res, nil
	}
	target := registry.RepoOf(public.Target)
	tags := uniqueTags(public)
	previous, err := tagDigests(ctx, rd.reg, target, tags)
	if err != nil {
		return res, err
	}
	toWrite := res.setTags(tags, previous, final.Descriptor.Digest, opts.Force)
	cp := &copier{rd: rd, target: target}
	if err := putTags(ctx, cp, final, res, toWrite); err != nil {
		return res, tagsError(cp, res, err)
	}
	res.Changed = res.Changed || len(toWrite) > 0
	return res, nil
}

// tagDigests reads where each tag of r points now, concurrently.
func tagDigests(ctx context.Context, reg Registry, r registry.Repo, tags []string) ([]digest.Digest, error) {
	out := make([]digest.Digest, len(tags))
	errs := make([]error, len(tags))
	var wg sync.WaitGroup
	for i, t := range tags {
		wg.Go(func() {
			if out[i], errs[i] = reg.TagDigest(ctx, r, t); errs[i] != nil {
				errs[i] = fmt.Errorf("reading tag %s:%s: %w", r, t, errs[i])
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// looks is one concurrent wave of HEADs looking for manifests in a
// repository, started early: as soon as the target tag's index is read
// (prepare), for its children, so that the wave overlaps the reads of the
// sources' configs and referrers instead of following them. A rerun's heal
// and an update's copy take their answers from it (copier.has).
type looks struct {
	repo  registry.Repo
	wg    sync.WaitGroup
	mu    sync.Mutex
	found map[digest.Digest]bool
}

// startLooks looks for each of ds in repo, concurrently.
func startLooks(ctx context.Context, reg Registry, repo registry.Repo, ds []digest.Digest) *looks {
	l := &looks{repo: repo, found: map[digest.Digest]bool{}}
	for _, d := range ds {
		l.wg.Go(func() {
			ok, err := reg.HasManifest(ctx, repo, d)
			if err != nil {
				return // looked for again when needed, and its error reported then
			}
			l.mu.Lock()
			l.found[d] = ok
			l.mu.Unlock()
		})
	}
	return l
}

// wait waits for every answer; nil waits for nothing.
func (l *looks) wait() {
	if l != nil {
		l.wg.Wait()
	}
}

// indexChildren lists the digests an index document lists, each once; none
// for a manifest or a document that does not parse.
func indexChildren(doc registry.Document) []digest.Digest {
	if !content.IsIndex(doc.Desc.MediaType) {
		return nil
	}
	var idx ocispec.Index
	if json.Unmarshal(doc.Data, &idx) != nil {
		return nil
	}
	var out []digest.Digest
	seen := map[digest.Digest]bool{}
	for _, d := range idx.Manifests {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			out = append(out, d.Digest)
		}
	}
	return out
}

// has reports whether the target repository holds manifest d: the answer
// of the early wave when it asked about d, otherwise a HEAD now.
func (cp *copier) has(ctx context.Context, d digest.Digest) (bool, error) {
	if l := cp.early; l != nil && l.repo == cp.target {
		l.wait()
		l.mu.Lock()
		ok, asked := l.found[d]
		l.mu.Unlock()
		if asked {
			return ok, nil
		}
	}
	return cp.rd.reg.HasManifest(ctx, cp.target, d)
}

// heal copies back into the target the children of p that a clean-up job
// deleted from it: every child is looked for, in one concurrent wave (the
// early one for the children the target tag's index lists), and the
// missing ones are copied again from their sources. A missing child that
// came from the target itself (an entry an update kept) cannot be copied
// back: it is a warning. It reports whether it copied any.
func (res *Result) heal(ctx context.Context, cp *copier, p *plan.Plan) (bool, error) {
	children := allChildren(p, cp.target)
	found := make([]bool, len(children))
	errs := make([]error, len(children))
	var wg sync.WaitGroup
	for i, ch := range children {
		wg.Go(func() { found[i], errs[i] = cp.has(ctx, ch.desc.Digest) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return false, fmt.Errorf("looking for the entries in %s: %w", cp.target, err)
	}
	var missing []child
	for i, ch := range children {
		switch {
		case found[i]:
		case ch.from == cp.target:
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s@%s is missing from %s and was kept from what the tag held: it cannot be copied back; push its image again", cp.target, ch.desc.Digest, cp.target))
		default:
			missing = append(missing, ch)
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	copied, err := cp.copy(ctx, missing, copyMode{})
	for i, e := range p.Entries {
		if copied[e.Descriptor.Digest] {
			res.Manifests[i].Copied = true
		}
	}
	return len(copied) > 0, err
}

// allChildren lists every manifest the index refers to, each once, in
// index order, with the repository it is read from: its source's, or for
// an entry kept from what the target tag held, the target repository kept.
func allChildren(p *plan.Plan, kept registry.Repo) []child {
	seen := map[digest.Digest]bool{}
	var out []child
	for _, e := range p.Entries {
		d := e.Descriptor
		if seen[d.Digest] || e.Source == nil {
			continue
		}
		seen[d.Digest] = true
		from, source := kept, kept.String()
		if !e.Kept {
			from, source = locationOf(e.Source), e.Source.Name()
		}
		out = append(out, child{desc: d, from: from, source: source})
	}
	return out
}

// mirror publishes final, the index the push wrote, to each mirror of s
// concurrently: its children (from their sources, or from the target for
// entries an update kept) and referrers copied in, the index written by
// digest, the mirror's tag and the extra tags moved. Each mirror's outcome
// is its own.
func mirror(ctx context.Context, rd *reader, pr *prepared, s *spec.Spec, final *plan.Plan, opts Options) []*MirrorResult {
	out := make([]*MirrorResult, len(s.Mirrors))
	var wg sync.WaitGroup
	for i, m := range s.Mirrors {
		wg.Go(func() {
			res, err := mirrorOne(ctx, rd, pr, s, m, final, opts)
			if err != nil {
				// Its own error line says which target failed.
				err = fmt.Errorf("mirror %s: %w", m, err)
			}
			out[i] = &MirrorResult{Result: res, Err: err}
		})
	}
	wg.Wait()
	return out
}

func mirrorOne(ctx context.Context, rd *reader, pr *prepared, s *spec.Spec, m reference.NamedTagged, final *plan.Plan, opts Options) (*Result, error) {
	target := registry.RepoOf(m)
	ms := *s
	ms.Target = m
	tags := uniqueTags(&ms)
	res := newResult(m, final, false)
	res.Warnings = []string{}
	previous, err := tagDigests(ctx, rd.reg, target, tags)
	if err != nil {
		return res, err
	}
	if opts.ByDigest {
		tags, previous = nil, nil
		res.ByDigest = true
	}
	toWrite := res.setTags(tags, previous, final.Descriptor.Digest, opts.Force)
	if previous == nil || previous[0] == "" {
		res.Changes = changes(nil, final.Entries)
	}
	cp := &copier{rd: rd, target: target, progress: newProgress(opts.Progress)}
	present := len(tags) > 0 && len(toWrite) == 0
	if opts.ByDigest && !opts.Force {
		if present, err = rd.reg.HasManifest(ctx, target, final.Descriptor.Digest); err != nil {
			return res, err
		}
	}
	if present {
		healed, err := res.heal(ctx, cp, final)
		copied, rerr := res.referrers(ctx, cp, pr.found, false)
		res.Changed = healed || copied
		return res, errors.Join(err, rerr)
	}
	res.Changed = true
	if err := writeChildren(ctx, cp, final, res, allChildren(final, registry.RepoOf(pr.s.Target)), toWrite, opts.Force); err != nil {
		return res, tagsError(cp, res, err)
	}
	if _, err := res.referrers(ctx, cp, pr.found, false); err != nil {
		return res, tagsError(cp, res, err)
	}
	return res, nil
}
