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

// referrer is one referrer found in a source repository.
type referrer struct {
	registry.Referrer
	subject digest.Digest
	entry   digest.Digest // the index entry it belongs to
	from    registry.Repo
}

func (f referrer) result() ReferrerResult {
	return ReferrerResult{Digest: f.Desc.Digest, MediaType: f.Desc.MediaType, ArtifactType: f.Desc.ArtifactType, Subject: f.subject, Tag: f.Tag}
}

// scans are the referrer scans of source repositories (how each keeps its
// referrers: registry.ScanReferrers), each started once and shared. Their
// goroutines end before the operation that started them returns: it calls
// wait.
type scans struct {
	reg Registry
	wg  sync.WaitGroup
	mu  sync.Mutex
	m   map[registry.Repo]*scanCall
	// warnings name the repositories that could not be looked at: a
	// registry that refuses its tag list (or fails) keeps its referrers,
	// and the push goes on without them.
	warnings []string
}

type scanCall struct {
	done chan struct{}
	scan registry.ReferrerScan
}

func newScans(reg Registry) *scans { return &scans{reg: reg, m: map[registry.Repo]*scanCall{}} }

// start scans r in the background, once.
func (s *scans) start(ctx context.Context, r registry.Repo) *scanCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.m[r]; ok {
		return c
	}
	c := &scanCall{done: make(chan struct{})}
	s.m[r] = c
	s.wg.Go(func() {
		defer close(c.done)
		scan, err := s.reg.ScanReferrers(ctx, r)
		if err != nil {
			if ctx.Err() == nil {
				s.mu.Lock()
				s.warnings = append(s.warnings, fmt.Sprintf("%s: could not look for what refers to its images (%v); none brought along", r, err))
				s.mu.Unlock()
			}
			scan = registry.ReferrerScan{Repo: r, Tags: map[string]bool{}}
		}
		c.scan = scan
	})
	return c
}

// get waits for r's scan, starting it if need be.
func (s *scans) get(ctx context.Context, r registry.Repo) (registry.ReferrerScan, error) {
	c := s.start(ctx, r)
	select {
	case <-c.done:
		return c.scan, nil
	case <-ctx.Done():
		return registry.ReferrerScan{}, context.Cause(ctx)
	}
}

// wait waits for every scan started, and returns the warnings of those
// that failed, in the order they failed.
func (s *scans) wait() []string {
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.warnings)
}

// discover finds, in each child's own repository, what refers to it: OCI
// 1.1 referrers and cosign's tag-scheme artifacts (registry.Referrers), and
// recursively what refers to those, through the bounded walk. The result
// is in a stable order: by the children's repositories in order, then
// level by level, each referrer once per repository (a manifest found
// both as an OCI referrer and under a cosign tag is found twice, as the
// target needs both).
func discover(ctx context.Context, rd *reader, sc *scans, children []child) ([]referrer, error) {
	var roots []node
	repoOrder := map[registry.Repo]int{}
	for _, ch := range children {
		if isLayout(ch.from) {
			continue // a layout keeps no referrers
		}
		if _, ok := repoOrder[ch.from]; !ok {
			repoOrder[ch.from] = len(repoOrder)
		}
		roots = append(roots, node{repo: ch.from, desc: ch.desc})
	}
	var mu sync.Mutex
	found := map[string][]referrer{}
	visit := func(ctx context.Context, n node) ([]node, error) {
		scan, err := sc.get(ctx, n.repo)
		if err != nil {
			return nil, err
		}
		refs, err := rd.reg.Referrers(ctx, scan, n.desc.Digest)
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
			out = append(out, referrer{Referrer: r, subject: n.desc.Digest, entry: n.from, from: n.repo})
			next = append(next, node{repo: n.repo, desc: r.Desc})
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
	slices.SortStableFunc(out, func(a, b referrer) int { return repoOrder[a.from] - repoOrder[b.from] })
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
	target, err := cp.rd.reg.ScanReferrers(ctx, cp.target)
	if err != nil {
		return nil, nil, err
	}
	present, cosignPresent, err := targetReferrers(ctx, cp.rd.reg, target, found)
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
	err = copyReferrers(ctx, cp, target, found, todo, res, &warnings)
	for i, f := range found {
		results[f.entry] = append(results[f.entry], res[i])
	}
	return results, warnings, err
}

// copyReferrers copies the referrers found[todo] into the target and has
// the registry client attach them, each subject's at once; res[i].Copied
// is set for those attached.
func copyReferrers(ctx context.Context, cp *copier, target registry.ReferrerScan, found []referrer, todo []int, res []ReferrerResult, warnings *[]string) error {
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
			err := cp.rd.reg.AddReferrers(ctx, target, s, add)
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
func targetReferrers(ctx context.Context, reg Registry, target registry.ReferrerScan, found []referrer) (map[digest.Digest]map[digest.Digest]bool, map[string]digest.Digest, error) {
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
