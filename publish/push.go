package publish

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// (docs/rules.md, "Referrers"). With opts.Append the index is an update of
// what the target tag holds, and concurrent updates converge
// (docs/rules.md, "Updating an index").
//
// When a write fails, Push returns the Result, whose Tags say which tags
// were updated and which were not, together with a *TagsError.
func Push(ctx context.Context, reg Registry, s *spec.Spec, opts Options) (*Result, error) {
	if err := spec.Check(s, opts.Request, opts.Names); err != nil {
		return nil, err
	}
	mirrors := opts.AllMirrors(s)
	ls, err := openLayouts(ctx, s)
	if err != nil {
		return nil, err
	}
	defer ls.close()
	rd := &reader{reg: reg, layouts: ls, strict: opts.StrictPlatform, configs: opts.Configs}
	ctx = withScopes(ctx, s, mirrors, !opts.DryRun)
	// Whatever Push starts ends before it returns: on an early return the
	// referrer scans still running are cancelled, and waited for.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx = registry.WithReferrerScans(ctx)
	var lk *lookups
	if !opts.SkipReferrers {
		lk = newLookups()
		defer func() {
			cancel()
			lk.wait()
		}()
	}

	public := s
	if opts.StagingTag != "" {
		// The completeness gate: the update goes into the staging tag (a
		// copy of the spec, with that target and no extra tags).
		staged := *s
		t, err := reference.WithTag(s.Target, opts.StagingTag)
		if err != nil {
			return nil, err
		}
		staged.Target, staged.Tags, staged.Mirrors = t, nil, nil
		s = &staged
	}
	pr, err := prepare(ctx, rd, s, opts, lk)
	if err != nil {
		return nil, err
	}
	defer pr.early.wait()
	target := registry.RepoOf(s.Target)
	c := commit{
		ref: s.Target, tags: pr.tags, previous: pr.previous, current: pr.current, plan: pr.p,
		children: pr.children(pr.p, target), found: pr.found, warnings: append(slices.Clone(pr.p.Warnings), pr.warnings...),
	}
	if opts.Append {
		c.update = pr.build
	}
	wopts := opts
	if opts.StagingTag != "" {
		wopts.Signing = nil // staging merges are not signed; the index the public tags get is
	}
	res, final, err := newWriter(rd, target, wopts, pr.early).write(ctx, c, opts)
	if err != nil || opts.DryRun {
		return res, err
	}
	if opts.StagingTag != "" {
		if res, final, err = complete(ctx, rd, public, res, final, opts); err != nil || !res.Staging.Complete {
			return res, err
		}
	}
	res.Mirrors = mirror(ctx, rd, pr, public, mirrors, final, opts)
	return res, nil
}

// prepared is a push up to its first write: its sources resolved, its
// index built and checked, what refers to its entries found, and where the
// target's tags point.
type prepared struct {
	s        *spec.Spec
	rd       *reader
	tags     []string
	previous []digest.Digest
	current  *plan.Source
	p        *plan.Plan
	build    func(current *plan.Source) (*plan.Plan, error)
	found    []referrer
	warnings []string
	// early looks for the children of the index the target tag held, in
	// the target (see looks); nil when it held none.
	early *looks
	// subject is the manifest an artifact index refers to, read from where
	// the spec names it; nil without one.
	subject *child
}

// children are the manifests to bring into target for the index p: its
// entries (those kept by an update read from kept), and first the subject
// of an artifact index, which must be there before the index is written.
func (pr *prepared) children(p *plan.Plan, kept registry.Repo) []child {
	out := pr.rd.planChildren(p, kept)
	switch {
	case pr.subject != nil:
		out = append([]child{*pr.subject}, out...)
	case p.Subject != nil:
		// The subject an update kept from the index it updates: in the
		// push's own target already.
		out = append([]child{{desc: *p.Subject, from: pr.rd.at(kept), source: kept.String()}}, out...)
	}
	return out
}

// prepare does the read-only steps of a push: resolve every source and the
// target's tags, build the index (an update of what the target tag holds
// with opts.Append), check the descriptors of index sources, find what refers
// to the entries.
func prepare(ctx context.Context, rd *reader, s *spec.Spec, opts Options, lk *lookups) (_ *prepared, err error) {
	target := registry.RepoOf(s.Target)
	pr := &prepared{s: s, rd: rd, tags: uniqueTags(s)}
	// The children of the index the target tag holds are looked for in
	// the target at once, overlapping the reads of the sources: a rerun
	// heals with these answers (docs/rules.md, "Reruns heal"). Not for an
	// update (--append), whose kept entries are not copied and so need no
	// look, nor where no tag is left as it is (--force, --by-digest).
	var onBefore func(registry.Document)
	if !opts.DryRun && !opts.Force && !opts.ByDigest && !opts.Append {
		onBefore = func(doc registry.Document) {
			if ds := indexChildren(doc); len(ds) > 0 {
				pr.early = startLooks(ctx, rd.reg, target, ds)
			}
		}
	}
	defer func() {
		if err != nil {
			pr.early.wait() // whatever prepare starts ends before it fails
		}
	}()
	// The subject of an artifact index is read beside the sources.
	var subject registry.Document
	var subjectErr error
	var subjectRead sync.WaitGroup
	if s.Subject != nil {
		subjectRead.Go(func() { subject, subjectErr = rd.document(ctx, s.Subject) })
	}
	sources, previous, before, err := resolve(ctx, rd, s, target, pr.tags, opts.IgnoreMissing, lk, onBefore)
	subjectRead.Wait()
	if err == nil && subjectErr != nil {
		err = &SourceError{Source: s.Subject.String(), Err: fmt.Errorf("the subject: %w", subjectErr), Missing: errors.Is(subjectErr, registry.ErrNotFound)}
	}
	if err != nil {
		return nil, err
	}
	var subjectDesc *ocispec.Descriptor
	if s.Subject != nil {
		subjectDesc = &ocispec.Descriptor{MediaType: subject.Desc.MediaType, Digest: subject.Desc.Digest, Size: subject.Desc.Size}
		pr.subject = &child{desc: *subjectDesc, from: rd.at(registry.RepoOf(s.Subject)), source: s.Subject.String()}
	}
	pr.previous = previous
	if err := allMissing(sources); err != nil {
		return nil, err
	}
	typ := opts.Type
	if typ == "" {
		typ = s.Type
	}
	pr.build = func(current *plan.Source) (*plan.Plan, error) {
		return plan.Build(plan.Input{
			Type: typ, Annotations: s.Annotations, Sources: sources, Select: opts.Select,
			Current: current, Remove: opts.Remove, ArtifactType: s.ArtifactType, Subject: subjectDesc,
			Created: opts.Created,
		}, plan.Options{StrictPlatform: opts.StrictPlatform, DropAttestations: opts.DropAttestations, Names: opts.Names})
	}
	if opts.Append && len(s.Manifests) == 0 && before.Desc.Digest == "" {
		return nil, fmt.Errorf("%s: %w: %s with no sources takes platforms out of what the target tag holds, and the tag does not exist; check the target's name and tag", s.Target, registry.ErrNotFound, opts.Names.Of(spec.OptionAppend))
	}
	if before.Desc.Digest != "" {
		if pr.current, err = rd.currentSource(ctx, s.Target, before); err != nil {
			return nil, fmt.Errorf("reading what %s holds now: %w", s.Target, err)
		}
	}
	if opts.Append {
		pr.p, err = pr.build(pr.current)
	} else {
		pr.p, err = pr.build(nil)
	}
	if err != nil {
		return nil, err
	}
	if err := verifyEntries(ctx, rd, pr.p); err != nil {
		return nil, err
	}
	if err := vouchForBlobs(ctx, rd, pr.p); err != nil {
		return nil, err
	}
	if lk != nil {
		if pr.found, err = discover(ctx, rd, lk, rd.sourceChildren(pr.p)); err != nil {
			return nil, fmt.Errorf("finding what refers to the entries: %w", err)
		}
		pr.warnings = lk.wait()
	}
	return pr, nil
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
func withScopes(ctx context.Context, s *spec.Spec, mirrors []reference.NamedTagged, push bool) context.Context {
	target := registry.RepoOf(s.Target)
	repos := map[registry.Repo]bool{target: push}
	for _, e := range s.Manifests {
		if e.Image == nil {
			continue // a layout
		}
		if r := registry.RepoOf(e.Image); r.Domain == target.Domain && r != target {
			repos[r] = false
		}
	}
	if s.Subject != nil {
		if r := registry.RepoOf(s.Subject); r.Domain == target.Domain && r != target {
			repos[r] = false
		}
	}
	for _, m := range mirrors {
		if r := registry.RepoOf(m); r.Domain == target.Domain {
			repos[r] = push
		}
	}
	keys := slices.SortedFunc(maps.Keys(repos), func(a, b registry.Repo) int { return strings.Compare(a.Path, b.Path) })
	for _, r := range keys {
		if repos[r] {
			ctx = registry.WithScope(ctx, r, false)
		}
		ctx = registry.WithScope(ctx, r, repos[r])
	}
	// The target and the mirrors are read from their registries, never
	// through a pull mirror, dry runs included.
	ctx = registry.WithTarget(ctx, target)
	for _, m := range mirrors {
		ctx = registry.WithTarget(ctx, registry.RepoOf(m))
	}
	return ctx
}

// resolve resolves every source once and reads where each tag points now,
// all concurrently: the target tag (tags[0]) is read whole, for the
// changes a push makes to it and for what it holds; the others by digest
// only. It reports every failing source, not only the first. before is the
// target tag's document, zero when the tag does not exist; onBefore, when
// set, hears of it as soon as it is read.
//
// A source is looked at with HEAD first (a registry such as Docker Hub
// counts each manifest GET as a pull): when its digest is an image entry
// of what the target tag holds already, with the platform the spec asks
// for, that entry describes it (it was read and verified when it was
// pushed) and neither its manifest nor its config is read again. Only a
// source that changed, or is new, is read. A rerun that changes nothing
// so reads one manifest: the target's.
func resolve(ctx context.Context, rd *reader, s *spec.Spec, target registry.Repo, tags []string, ignoreMissing bool, lk *lookups, onBefore func(registry.Document)) (sources []plan.Source, previous []digest.Digest, before registry.Document, err error) {
	var wg sync.WaitGroup
	read := make(chan struct{}) // closed once before is read
	var held map[digest.Digest]ocispec.Descriptor
	sources = make([]plan.Source, len(s.Manifests))
	srcErrs := make([]error, len(s.Manifests))
	for i, e := range s.Manifests {
		wg.Go(func() {
			sources[i], srcErrs[i] = rd.resolveSource(ctx, e, ignoreMissing, lk, func() map[digest.Digest]ocispec.Descriptor {
				select {
				case <-read:
					return held
				case <-ctx.Done():
					return nil
				}
			})
		})
	}
	previous = make([]digest.Digest, len(tags))
	tagErrs := make([]error, len(tags))
	for i, t := range tags {
		wg.Go(func() {
			var d digest.Digest
			var err error
			if i == 0 {
				defer close(read)
				before, err = rd.reg.ReadManifest(ctx, target, t)
				if errors.Is(err, registry.ErrNotFound) {
					before, err = registry.Document{}, nil
				}
				if err == nil && before.Desc.Digest != "" && onBefore != nil {
					onBefore(before)
				}
				d = before.Desc.Digest
				held = imageEntries(before)
			} else {
				d, err = tagDigest(ctx, rd.reg, target, t)
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

// imageEntries are the image entries of an index with a platform, by
// digest; none for anything else.
func imageEntries(doc registry.Document) map[digest.Digest]ocispec.Descriptor {
	if !content.IsIndex(doc.Desc.MediaType) {
		return nil
	}
	idx, err := content.SuccessorsOf(doc)
	if err != nil {
		return nil
	}
	out := map[digest.Digest]ocispec.Descriptor{}
	for _, d := range idx.Manifests {
		if content.IsImageEntry(d) {
			out[d.Digest] = d
		}
	}
	return out
}

func newResult(target reference.NamedTagged, p *plan.Plan, dryRun bool) *Result {
	res := &Result{
		Ref:       target,
		Target:    target.String(),
		Digest:    p.Descriptor.Digest,
		Size:      p.Descriptor.Size,
		MediaType: p.Descriptor.MediaType,
		DryRun:    dryRun,
		Warnings:  []string{},
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
			m.Source = e.Source.Name()
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
		names = append(names, src.Name())
	}
	return fmt.Errorf("every source is missing (%s): nothing to publish: %w", strings.Join(names, ", "), registry.ErrNotFound)
}
