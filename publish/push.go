package publish

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/log"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
)

// Push publishes the index s describes, through reg, in the steps of
// docs/rules.md ("What a push does"): s is validated first (the errors of
// spec.Validate, never a panic); every source tag is resolved once and
// everything else read by digest and verified; nothing is written before
// the index is built; children missing from the target repository are
// copied into it (blobs mounted or streamed), then the index is written by
// digest, then the target tag and the extra tags that do not point at it
// yet. When every tag points at the index already, nothing is written
// (unless Force). What refers to the entries (signatures, SBOMs,
// attestations) is brought along unless SkipReferrers, reruns included
// (docs/rules.md, "Referrers"). With s.Append the index is an update of
// what the target tag holds, and concurrent updates converge
// (docs/rules.md, "Updating an index").
//
// When a write fails, Push returns the Result, whose Tags say which tags
// were updated and which were not, together with a *TagsError.
func Push(ctx context.Context, reg Registry, s *spec.Spec, opts Options) (*Result, error) {
	if err := spec.Validate(s); err != nil {
		return nil, err
	}
	target := registry.RepoOf(s.Target)
	rd := &reader{reg: reg}
	ctx = withScopes(ctx, s, !opts.DryRun)

	tags := uniqueTags(s)
	sc := newScans(rd)
	if !opts.SkipReferrers {
		// Each source repository's tags and referrers API are looked at
		// once a source of it has resolved, while its config is read: no
		// round trip of their own, and none for a source that fails.
		rd.resolved = func(r registry.Repo) { sc.start(ctx, r) }
	}
	sources, previous, before, err := resolve(ctx, rd, s, target, tags, opts.IgnoreMissing)
	if err != nil {
		return nil, err
	}
	if err := allMissing(sources); err != nil {
		return nil, err
	}
	typ := opts.Type
	if typ == "" {
		typ = s.Type
	}
	build := func(current *plan.Source) (*plan.Plan, error) {
		return plan.Build(plan.Input{
			Type: typ, Annotations: s.Annotations, Sources: sources, Select: s.Select,
			Current: current, Remove: s.Remove,
		}, plan.Options{StrictPlatform: opts.StrictPlatform, DropAttestations: opts.DropAttestations})
	}
	if s.Append && len(s.Manifests) == 0 && before.Desc.Digest == "" {
		return nil, fmt.Errorf("%s: %w: --append with no sources takes platforms out of what the target tag holds, and the tag does not exist; check the target's name and tag", s.Target, registry.ErrNotFound)
	}
	var current *plan.Source
	if before.Desc.Digest != "" {
		if current, err = rd.currentSource(ctx, s.Target, before); err != nil {
			return nil, fmt.Errorf("reading what %s holds now: %w", s.Target, err)
		}
	}
	var p *plan.Plan
	if s.Append {
		p, err = build(current)
	} else {
		p, err = build(nil)
	}
	if err != nil {
		return nil, err
	}
	if err := verifyEntries(ctx, rd, p); err != nil {
		return nil, err
	}
	var found []referrer
	if !opts.SkipReferrers {
		if found, err = discover(ctx, rd, sc, uniqueChildren(p, s)); err != nil {
			return nil, fmt.Errorf("finding what refers to the entries: %w", err)
		}
	}
	res := newResult(s, p, opts.DryRun)
	res.Warnings = append(res.Warnings, sc.failures()...)
	if previous[0] != p.Descriptor.Digest {
		res.Changes = changes(current, p.Entries)
	}
	toWrite := res.setTags(tags, previous, p.Descriptor.Digest, opts.Force)
	log.G(ctx).WithField("digest", p.Descriptor.Digest).WithField("tags", toWrite).Debug("index built")
	cp := &copier{rd: rd, target: target, progress: newProgress(opts.Progress)}
	if opts.DryRun || len(toWrite) == 0 {
		res.Changed = len(toWrite) > 0
		// The index is there (or nothing is written): its entries'
		// referrers may still be missing from the target.
		copied, err := res.referrers(ctx, cp, found, opts.DryRun)
		res.Changed = res.Changed || copied
		return res, err
	}

	res.Changed = true
	started := time.Now()
	if err := write(ctx, cp, p, s, res, toWrite, opts.Force); err != nil {
		return res, err
	}
	if _, err := res.referrers(ctx, cp, found, false); err != nil {
		return res, err
	}
	if s.Append {
		return res, converge(ctx, cp, s, res, p, build, time.Since(started), opts.Settle)
	}
	return res, nil
}

// referrers brings the referrers found into the target repository (or,
// with dryRun, says which it would bring), records them on res's entries
// and reports whether any was written.
func (res *Result) referrers(ctx context.Context, cp *copier, found []referrer, dryRun bool) (bool, error) {
	results, warnings, err := syncReferrers(ctx, cp, found, dryRun)
	res.Warnings = append(res.Warnings, warnings...)
	copied := false
	for i := range res.Manifests {
		m := &res.Manifests[i]
		m.Referrers = results[m.Digest]
		for _, r := range m.Referrers {
			copied = copied || r.Copied
		}
	}
	if err != nil {
		return copied, fmt.Errorf("bringing the referrers into %s: %w", cp.target, err)
	}
	return copied, nil
}

// uniqueTags are the target tag, then the extra tags, each once.
func uniqueTags(s *spec.Spec) []string {
	tags := []string{s.Target.Tag()}
	seen := map[string]bool{s.Target.Tag(): true}
	for _, t := range s.Tags {
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	return tags
}

// withScopes asks, for every request of the push, one token scope that
// covers them all: pull on every source repository of the target's
// registry and on the target, and push on the target unless nothing is to
// be written. One token then serves the whole push on the target's
// registry; a source on another registry gets its own token for the scope
// its registry asks for (a scope names a repository, not a registry, so
// the target's scopes cannot be kept from other registries' token
// requests, which grant only what the user may do).
func withScopes(ctx context.Context, s *spec.Spec, push bool) context.Context {
	target := registry.RepoOf(s.Target)
	repos := map[registry.Repo]bool{target: push}
	for _, e := range s.Manifests {
		if r := registry.RepoOf(e.Image); r.Domain == target.Domain && r != target {
			repos[r] = false
		}
	}
	keys := slices.SortedFunc(maps.Keys(repos), func(a, b registry.Repo) int { return strings.Compare(a.Path, b.Path) })
	for _, r := range keys {
		if repos[r] {
			ctx = registry.WithScope(ctx, r, false)
		}
		ctx = registry.WithScope(ctx, r, repos[r])
	}
	return ctx
}

// resolve resolves every source once and reads where each tag points now,
// all concurrently: the target tag (tags[0]) is read whole, for the
// changes a push makes to it; the others by digest only. It reports every
// failing source, not only the first. before is the target tag's document,
// zero when the tag does not exist.
func resolve(ctx context.Context, rd *reader, s *spec.Spec, target registry.Repo, tags []string, ignoreMissing bool) (sources []plan.Source, previous []digest.Digest, before registry.Document, err error) {
	var wg sync.WaitGroup
	sources = make([]plan.Source, len(s.Manifests))
	srcErrs := make([]error, len(s.Manifests))
	for i, e := range s.Manifests {
		wg.Go(func() { sources[i], srcErrs[i] = rd.source(ctx, e, ignoreMissing) })
	}
	previous = make([]digest.Digest, len(tags))
	tagErrs := make([]error, len(tags))
	for i, t := range tags {
		wg.Go(func() {
			var d digest.Digest
			var err error
			if i == 0 {
				before, err = rd.reg.ReadManifest(ctx, target, t)
				if errors.Is(err, registry.ErrNotFound) {
					before, err = registry.Document{}, nil
				}
				d = before.Desc.Digest
			} else {
				d, err = rd.reg.TagDigest(ctx, target, t)
			}
			if err != nil {
				err = fmt.Errorf("reading tag %s:%s: %w", target, t, err)
			}
			previous[i], tagErrs[i] = d, err
		})
	}
	wg.Wait()
	if err := errors.Join(append(srcErrs, tagErrs...)...); err != nil {
		return nil, nil, registry.Document{}, err
	}
	return sources, previous, before, nil
}

func newResult(s *spec.Spec, p *plan.Plan, dryRun bool) *Result {
	res := &Result{
		Target:    s.Target.String(),
		Digest:    p.Descriptor.Digest,
		Size:      p.Descriptor.Size,
		MediaType: p.MediaType,
		DryRun:    dryRun,
		Warnings:  append([]string{}, p.Warnings...),
		Index:     p.Bytes,
		Manifests: manifestResults(p),
	}
	return res
}

// manifestResults describes the entries of p (none copied yet).
func manifestResults(p *plan.Plan) []ManifestResult {
	out := make([]ManifestResult, len(p.Entries))
	for i, e := range p.Entries {
		m := ManifestResult{Digest: e.Descriptor.Digest, MediaType: e.Descriptor.MediaType, Size: e.Descriptor.Size}
		if e.Source != nil {
			m.Source = e.Source.Ref
		}
		if e.Descriptor.Platform != nil {
			m.Platform = platform.Format(*e.Descriptor.Platform)
		}
		out[i] = m
	}
	return out
}

// setTags records each tag's previous digest and status, and returns the
// indexes (into res.Tags) of the tags to write: those not pointing at d
// yet, or all with force. Until they are written they are "would update"
// (dry run) or "not updated".
func (res *Result) setTags(tags []string, previous []digest.Digest, d digest.Digest, force bool) []int {
	res.Tags = make([]TagResult, len(tags))
	var toWrite []int
	for i, t := range tags {
		res.Tags[i] = TagResult{Tag: t, Previous: previous[i], Status: TagUnchanged}
		if previous[i] == d && !force {
			continue
		}
		toWrite = append(toWrite, i)
		res.Tags[i].Status = TagNotUpdated
		if res.DryRun {
			res.Tags[i].Status = TagWouldUpdate
		}
	}
	return toWrite
}

// allMissing is the error for a push whose every source the registry says
// does not exist (with IgnoreMissing): there is nothing to publish.
func allMissing(sources []plan.Source) error {
	if len(sources) == 0 {
		return nil // an update that only removes platforms
	}
	names := make([]string, 0, len(sources))
	for _, src := range sources {
		if !src.Missing {
			return nil
		}
		names = append(names, src.Ref)
	}
	return fmt.Errorf("every source is missing (%s): nothing to publish: %w", strings.Join(names, ", "), registry.ErrNotFound)
}
