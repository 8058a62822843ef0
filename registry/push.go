package registry

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/log"
	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
)

// Push resolves every source of s, builds the index, and writes it with its
// tags to the target repository, as DESIGN.md §6 describes: every source tag
// is resolved once and everything else read by digest and verified; nothing
// is written before the index is built; children missing from the target
// repository are copied into it (blobs mounted), then the index is written
// by digest, then the target tag and the extra tags that do not point at
// it yet. When every tag points at the index already, nothing is written
// (unless Force). s must be valid.
//
// When a write fails, Push returns the Result, whose Tags say which tags
// were updated and which were not, together with a *TagsError.
func Push(ctx context.Context, s *spec.Spec, opts PushOptions) (*Result, error) {
	target := repoOf(s.Target)
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = DefaultJobs
	}
	c := newClient(newHosts(opts.HostOptions, target.domain, jobs), jobs)
	rd := &reader{c: c}
	ctx = withScopes(ctx, s, !opts.DryRun)

	tags := append([]string{s.Target.Tag()}, s.Tags...)
	sources, previous, err := resolve(ctx, rd, s, target, tags, opts.IgnoreMissing)
	if err != nil {
		return nil, err
	}
	if err := allMissing(sources); err != nil {
		return nil, err
	}
	p, err := plan.Build(s, sources, plan.Options{Type: opts.Type, StrictPlatform: opts.StrictPlatform})
	if err != nil {
		return nil, err
	}
	res := newResult(s, p, opts.DryRun)
	toWrite := res.setTags(tags, previous, p.Descriptor.Digest, opts.Force)
	log.G(ctx).WithField("digest", p.Descriptor.Digest).WithField("tags", toWrite).Debug("index built")
	if opts.DryRun || len(toWrite) == 0 {
		res.Changed = len(toWrite) > 0
		return res, nil
	}

	res.Changed = true
	cp := &copier{rd: rd, target: target, policy: defaultRetryPolicy(), progress: newProgress(opts.Progress)}
	if err := write(ctx, cp, p, res, toWrite, opts.Force); err != nil {
		return res, err
	}
	return res, nil
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
	set := map[string]bool{}
	tpath := reference.Path(s.Target)
	set["repository:"+tpath+":pull"] = true
	if push {
		set["repository:"+tpath+":pull,push"] = true
	}
	domain := reference.Domain(s.Target)
	for _, e := range s.Manifests {
		if reference.Domain(e.Image) == domain {
			set["repository:"+reference.Path(e.Image)+":pull"] = true
		}
	}
	scopes := make([]string, 0, len(set))
	for sc := range set {
		scopes = append(scopes, sc)
	}
	sort.Strings(scopes)
	for _, sc := range scopes {
		ctx = docker.WithScope(ctx, sc)
	}
	return ctx
}

// resolve resolves every source once and reads where each tag points now,
// all concurrently. It reports every failing source, not only the first.
func resolve(ctx context.Context, rd *reader, s *spec.Spec, target repo, tags []string, ignoreMissing bool) ([]plan.Source, []digest.Digest, error) {
	var wg sync.WaitGroup
	sources := make([]plan.Source, len(s.Manifests))
	srcErrs := make([]error, len(s.Manifests))
	for i, e := range s.Manifests {
		wg.Go(func() { sources[i], srcErrs[i] = rd.source(ctx, e, ignoreMissing) })
	}
	previous := make([]digest.Digest, len(tags))
	tagErrs := make([]error, len(tags))
	for i, t := range tags {
		wg.Go(func() {
			d, err := rd.tagDigest(ctx, target, t)
			if err != nil {
				err = fmt.Errorf("reading tag %s:%s: %w", target, t, err)
			}
			previous[i], tagErrs[i] = d, err
		})
	}
	wg.Wait()
	if err := errors.Join(append(srcErrs, tagErrs...)...); err != nil {
		return nil, nil, err
	}
	return sources, previous, nil
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
		Manifests: make([]ManifestResult, len(p.Entries)),
	}
	for i, e := range p.Entries {
		m := ManifestResult{Digest: e.Descriptor.Digest, MediaType: e.Descriptor.MediaType, Size: e.Descriptor.Size}
		if e.Source != nil {
			m.Source = e.Source.Entry.Image.String()
		}
		if e.Descriptor.Platform != nil {
			m.Platform = platform.Format(*e.Descriptor.Platform)
		}
		res.Manifests[i] = m
	}
	return res
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
	names := make([]string, 0, len(sources))
	for _, src := range sources {
		if !src.Missing {
			return nil
		}
		names = append(names, src.Entry.Image.String())
	}
	return fmt.Errorf("every source is missing (%s): nothing to publish: %w", strings.Join(names, ", "), ErrNotFound)
}
