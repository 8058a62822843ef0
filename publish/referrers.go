package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
)

// ReferrerResult is one manifest that refers to an entry of the index (or to
// another referrer of it), brought along into the target repository.
type ReferrerResult struct {
	Digest       digest.Digest `json:"digest"`
	MediaType    string        `json:"mediaType"`
	ArtifactType string        `json:"artifactType,omitempty"`
	// Subject is the manifest it refers to: the entry, or another referrer
	// (a signature of an SBOM).
	Subject digest.Digest `json:"subject"`
	// Tag is the cosign tag it is found under (sha256-<hex>.sig), empty
	// for an OCI 1.1 referrer (found by its subject).
	Tag string `json:"tag,omitempty"`
	// Copied is set when this push wrote it into the target repository.
	Copied bool `json:"copied"`
}

// referrer is one referrer found where a child is read.
type referrer struct {
	registry.Referrer
	subject digest.Digest
	entry   digest.Digest // the index entry it belongs to
	from    place
}

func (f referrer) result() ReferrerResult {
	return ReferrerResult{Digest: f.Desc.Digest, MediaType: f.Desc.MediaType, ArtifactType: f.Desc.ArtifactType, Subject: f.subject, Tag: f.Tag}
}

// lookups are the referrer lookups of one operation: what refers to each
// manifest of each place, asked once and shared. A lookup may start early,
// in the background (a source's manifest, as soon as its digest is known:
// it overlaps the read of its config); its goroutine ends before the
// operation returns, which calls wait. A place whose referrers cannot be
// looked at (registry.ScanError: its tag list refused) keeps them: the
// operation goes on without them, with a warning.
type lookups struct {
	wg       sync.WaitGroup
	mu       sync.Mutex
	m        map[string]*lookup
	warned   map[string]bool
	warnings []string
}

type lookup struct {
	done chan struct{}
	refs []registry.Referrer
	err  error
}

func newLookups() *lookups { return &lookups{m: map[string]*lookup{}, warned: map[string]bool{}} }

// start looks up what refers to d at p in the background, once.
func (l *lookups) start(ctx context.Context, p place, d digest.Digest) *lookup {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := p.String() + "@" + d.String()
	if lk, ok := l.m[key]; ok {
		return lk
	}
	lk := &lookup{done: make(chan struct{})}
	l.m[key] = lk
	l.wg.Go(func() {
		defer close(lk.done)
		lk.refs, lk.err = p.referrers(ctx, d)
		if se, ok := errors.AsType[*registry.ScanError](lk.err); ok {
			lk.refs, lk.err = nil, nil
			if ctx.Err() == nil {
				l.mu.Lock()
				if !l.warned[p.String()] {
					l.warned[p.String()] = true
					l.warnings = append(l.warnings, fmt.Sprintf("%s: could not look for what refers to its images (%v); none brought along", p, se.Err))
				}
				l.mu.Unlock()
			}
		}
	})
	return lk
}

// get waits for the lookup of d at p, starting it if need be.
func (l *lookups) get(ctx context.Context, p place, d digest.Digest) ([]registry.Referrer, error) {
	lk := l.start(ctx, p, d)
	select {
	case <-lk.done:
		return lk.refs, lk.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// wait waits for every lookup started, and returns the warnings of the
// places that could not be looked at, in the order they failed.
func (l *lookups) wait() []string {
	if l == nil {
		return nil
	}
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.warnings)
}

// discover finds, where each child is read, what refers to it: OCI 1.1
// referrers and cosign's tag-scheme artifacts (registry.Referrers), and
// recursively what refers to those, through the bounded walk. The result
// is in a stable order: by the children's places in order, then level by
// level, each referrer once per place (a manifest found both as an OCI
// referrer and under a cosign tag is found twice, as the target needs
// both).
func discover(ctx context.Context, rd *reader, lk *lookups, children []child) ([]referrer, error) {
	var roots []node
	placeOrder := map[string]int{}
	for _, ch := range children {
		if _, ok := placeOrder[ch.from.String()]; !ok {
			placeOrder[ch.from.String()] = len(placeOrder)
		}
		roots = append(roots, node{at: ch.from, desc: ch.desc})
	}
	var mu sync.Mutex
	found := map[string][]referrer{}
	visit := func(ctx context.Context, n node) ([]node, error) {
		refs, err := lk.get(ctx, n.at, n.desc.Digest)
		if err != nil {
			return nil, err
		}
		var out []referrer
		var next []node
		for _, r := range refs {
			if r.Tag == "" && !content.IsManifest(r.Desc.MediaType) && !content.IsIndex(r.Desc.MediaType) {
				continue
			}
			if r.Doc != nil {
				rd.docs.put(r.Doc.Desc.Digest, *r.Doc)
			}
			out = append(out, referrer{Referrer: r, subject: n.desc.Digest, entry: n.from, from: n.at})
			next = append(next, node{at: n.at, desc: r.Desc})
		}
		mu.Lock()
		found[n.key()] = out
		mu.Unlock()
		return next, nil
	}
	visited, err := walk(ctx, roots, visit)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []referrer
	for _, n := range visited {
		for _, f := range found[n.key()] {
			k := f.from.String() + "@" + f.Desc.Digest.String() + ":" + f.Tag
			if !seen[k] {
				seen[k] = true
				out = append(out, f)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b referrer) int { return placeOrder[a.from.String()] - placeOrder[b.from.String()] })
	return out, nil
}

// syncReferrers makes every referrer found discoverable in the target
// repository the way it was in the source, and decides only that: what the
// target lacks is copied (what it needs first, through the copier), then
// attached by the registry client (registry.AddReferrers: by subject, or
// under its cosign tag). What the target has already is not written again;
// a cosign tag the target holds with other content is left alone, with a
// warning. With dryRun nothing is written and the results say what would
// be copied.
func syncReferrers(ctx context.Context, cp *copier, found []referrer, dryRun bool) (map[digest.Digest][]ReferrerResult, []string, error) {
	results := map[digest.Digest][]ReferrerResult{}
	if len(found) == 0 {
		return results, nil, nil
	}
	present, cosignPresent, err := targetReferrers(ctx, cp.rd.reg, cp.target, found)
	if err != nil {
		return nil, nil, err
	}

	var warnings []string
	res := make([]ReferrerResult, len(found))
	var todo []int
	for i, f := range found {
		res[i] = f.result()
		switch {
		case f.Tag != "" && cosignPresent[f.Tag] == f.Desc.Digest:
		case f.Tag != "" && cosignPresent[f.Tag] != "":
			warnings = append(warnings, fmt.Sprintf("%s:%s holds %s, the source's is %s: left as it is", cp.target, f.Tag, cosignPresent[f.Tag], f.Desc.Digest))
		case f.Tag == "" && present[f.subject][f.Desc.Digest]:
		case dryRun:
			res[i].Copied = true
		default:
			todo = append(todo, i)
		}
	}
	err = copyReferrers(ctx, cp, found, todo, res, &warnings)
	for i, f := range found {
		results[f.entry] = append(results[f.entry], res[i])
	}
	return results, warnings, err
}

// copyReferrers copies the referrers found[todo] into the target and has
// the registry client attach them, each subject's at once; res[i].Copied
// is set for those attached.
func copyReferrers(ctx context.Context, cp *copier, found []referrer, todo []int, res []ReferrerResult, warnings *[]string) error {
	if len(todo) == 0 {
		return nil
	}
	children := make([]child, len(todo))
	for k, i := range todo {
		f := found[i]
		children[k] = child{desc: f.Desc, from: f.from, source: f.from.String() + "@" + f.Desc.Digest.String()}
	}
	if _, err := cp.copy(ctx, children, copyMode{skipPut: true}); err != nil {
		return err
	}
	bySubject := map[digest.Digest][]int{}
	var subjects []digest.Digest
	for _, i := range todo {
		s := found[i].subject
		if _, ok := bySubject[s]; !ok {
			subjects = append(subjects, s)
		}
		bySubject[s] = append(bySubject[s], i)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := make([]error, len(subjects))
	for k, s := range subjects {
		wg.Go(func() {
			var add []registry.Attachment
			for _, i := range bySubject[s] {
				f := found[i]
				doc, err := cp.rd.byDigest(ctx, f.from, f.Desc.Digest)
				if err != nil {
					errs[k] = err
					return
				}
				add = append(add, registry.Attachment{Referrer: f.Referrer, Doc: doc})
			}
			err := cp.rd.reg.AddReferrers(ctx, cp.target, s, add)
			refused := map[digest.Digest]bool{}
			var hard []error
			for _, e := range splitErrors(err) {
				if re, ok := errors.AsType[*registry.RefusedReferrerError](e); ok {
					refused[re.Digest] = true
					mu.Lock()
					*warnings = append(*warnings, re.Error()+": the index and its other referrers are published without it")
					mu.Unlock()
					continue
				}
				hard = append(hard, e)
			}
			if errs[k] = errors.Join(hard...); errs[k] == nil {
				for _, i := range bySubject[s] {
					res[i].Copied = !refused[found[i].Desc.Digest]
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// targetReferrers lists what the target repository has already of what
// refers to the subjects of found, concurrently: OCI referrers by subject,
// cosign artifacts by tag.
func targetReferrers(ctx context.Context, reg Registry, target registry.Repo, found []referrer) (map[digest.Digest]map[digest.Digest]bool, map[string]digest.Digest, error) {
	var subjects []digest.Digest
	seen := map[digest.Digest]bool{}
	for _, f := range found {
		if !seen[f.subject] {
			seen[f.subject] = true
			subjects = append(subjects, f.subject)
		}
	}
	lists := make([][]registry.Referrer, len(subjects))
	errs := make([]error, len(subjects))
	var wg sync.WaitGroup
	for i, s := range subjects {
		wg.Go(func() { lists[i], errs[i] = reg.Referrers(ctx, target, s) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	present := map[digest.Digest]map[digest.Digest]bool{}
	cosign := map[string]digest.Digest{}
	for i, s := range subjects {
		set := map[digest.Digest]bool{}
		for _, r := range lists[i] {
			if r.Tag != "" {
				cosign[r.Tag] = r.Desc.Digest
			} else {
				set[r.Desc.Digest] = true
			}
		}
		present[s] = set
	}
	return present, cosign, nil
}

// splitErrors lists the errors an errors.Join made err of (Errors).
func splitErrors(err error) []error { return Errors(err) }
