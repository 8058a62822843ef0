package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
)

// The publishing workflows of docs/rules.md: the completeness gate, reruns
// that heal, and mirrors. (By-digest pushes are Request.ByDigest in
// publish.)

// Staging is what the completeness gate did (spec.Request.Require).
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

// complete ends a gated push (opts.StagingTag): res is the push into the
// staging tag, final the index that tag holds after converging. When the
// staging tag gives every required platform, the target tag and the extra
// tags are moved to what it holds (see promote); otherwise nothing public
// moves and the result names what is missing. It returns the index the
// public tags hold (the mirrors get the same).
func complete(ctx context.Context, rd *reader, public *spec.Spec, res *Result, final *plan.Plan, opts Options) (*Result, *plan.Plan, error) {
	missing := plan.Missing(opts.Require, final)
	res.Staging = &Staging{Tag: opts.StagingTag, Complete: len(missing) == 0, Missing: missing}
	res.Ref, res.Target = public.Target, public.Target.String()
	if !res.Staging.Complete {
		res.Tags = []TagResult{}
		return res, final, nil
	}
	staging, err := reference.WithTag(public.Target, opts.StagingTag)
	if err != nil {
		return res, final, err
	}
	w := newWriter(rd, registry.RepoOf(public.Target), Options{Signing: opts.Signing}, nil)
	published, changed, err := w.promote(ctx, staging, uniqueTags(public), opts.Require, final, res, opts)
	res.Changed = res.Changed || changed
	return res, published, err
}

// tagDigests reads where each tag of r points now, concurrently.
func tagDigests(ctx context.Context, reg Registry, r registry.Repo, tags []string) ([]digest.Digest, error) {
	out := make([]digest.Digest, len(tags))
	errs := make([]error, len(tags))
	var wg sync.WaitGroup
	for i, t := range tags {
		wg.Go(func() {
			if out[i], errs[i] = tagDigest(ctx, reg, r, t); errs[i] != nil {
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
			ok, err := hasManifest(ctx, reg, repo, d)
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
	idx, err := content.SuccessorsOf(doc)
	if err != nil {
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
	return hasManifest(ctx, cp.rd.reg, cp.target, d)
}

// planChildren lists every manifest the index refers to, each once, in index
// order, with the place it is read from: its source's, or for an entry
// kept from what the target tag held, kept (the push's own target).
func (rd *reader) planChildren(p *plan.Plan, kept registry.Repo) []child {
	seen := map[digest.Digest]bool{}
	var out []child
	for _, e := range p.Entries {
		d := e.Descriptor
		if seen[d.Digest] || e.Source == nil {
			continue
		}
		seen[d.Digest] = true
		from, source := rd.at(kept), kept.String()
		if !e.Kept {
			from, source = rd.placeOf(e.Source), e.Source.Name()
		}
		out = append(out, child{desc: d, from: from, source: source})
	}
	return out
}

// sourceChildren are the children of p that come from its sources (not
// kept from what the target tag held).
func (rd *reader) sourceChildren(p *plan.Plan) []child {
	var out []child
	for _, ch := range rd.planChildren(p, registry.Repo{}) {
		if !same(ch.from, registry.Repo{}) {
			out = append(out, ch)
		}
	}
	return out
}

// mirror publishes final, the index the push wrote, to each mirror
// concurrently: its children (from their sources, or from the target for
// entries an update kept) and referrers copied in, the index written by
// digest, the mirror's tag and the extra tags moved. Each mirror's outcome
// is its own.
func mirror(ctx context.Context, rd *reader, pr *prepared, s *spec.Spec, mirrors []reference.NamedTagged, final *plan.Plan, opts Options) []*MirrorResult {
	out := make([]*MirrorResult, len(mirrors))
	var wg sync.WaitGroup
	for i, m := range mirrors {
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

// mirrorOne publishes final to mirror m through m's own writer: the
// children are read from their sources, and the entries an update kept
// from the push's own target (which holds them).
func mirrorOne(ctx context.Context, rd *reader, pr *prepared, s *spec.Spec, m reference.NamedTagged, final *plan.Plan, opts Options) (*Result, error) {
	target := registry.RepoOf(m)
	ms := *s
	ms.Target = m
	tags := uniqueTags(&ms)
	previous, err := tagDigests(ctx, rd.reg, target, tags)
	if err != nil {
		res := newResult(m, final, false)
		res.Warnings = []string{}
		return res, err
	}
	res, _, err := newWriter(rd, target, opts, nil).write(ctx, commit{
		ref: m, tags: tags, previous: previous, plan: final,
		children: pr.children(final, registry.RepoOf(pr.s.Target)), found: pr.found,
	}, opts)
	return res, err
}
