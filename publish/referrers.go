package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Cosign's tag scheme: the signatures, attestations and SBOM of sha256:<hex>
// are tagged sha256-<hex>.sig, .att and .sbom.
var cosignSuffixes = []string{".sig", ".att", ".sbom"}

// Bounds of the referrer graph walked for one push.
const (
	maxReferrerDepth = 4
	maxReferrers     = 1000
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
	desc    ocispec.Descriptor // as the listing gave it
	subject digest.Digest
	entry   digest.Digest // the index entry it belongs to
	tag     string        // cosign tag, or ""
	from    registry.Repo
}

// discover finds, in each child's own repository, what refers to it:
// OCI 1.1 referrers (through the referrers API, or the referrers tag schema
// where the registry lacks the API) and cosign's tag-scheme artifacts, and
// recursively what refers to those, at most maxReferrerDepth levels and
// maxReferrers in all. Each repository's tags are listed once.
func discover(ctx context.Context, rd *reader, scans *scans, children []child) ([]referrer, error) {
	byRepo := map[registry.Repo][]digest.Digest{}
	var repos []registry.Repo
	for _, ch := range children {
		if _, ok := byRepo[ch.from]; !ok {
			repos = append(repos, ch.from)
		}
		byRepo[ch.from] = append(byRepo[ch.from], ch.desc.Digest)
	}
	var wg sync.WaitGroup
	found := make([][]referrer, len(repos))
	errs := make([]error, len(repos))
	for i, r := range repos {
		wg.Go(func() { found[i], errs[i] = discoverIn(ctx, rd, scans, r, byRepo[r]) })
	}
	wg.Wait()
	var out []referrer // in the order of the entries' repositories
	for _, f := range found {
		out = append(out, f...)
	}
	if len(out) > maxReferrers {
		return nil, fmt.Errorf("more than %d referrers: refused", maxReferrers)
	}
	return out, errors.Join(errs...)
}

// repoReferrers is what one repository says about referrers: its tags,
// and whether it has the referrers API.
type repoReferrers struct {
	rd   *reader
	repo registry.Repo
	tags map[string]bool
	api  bool
	// first is the API's answer for the probe digest.
	first      digest.Digest
	firstDescs []ocispec.Descriptor
}

// probeDigest is the digest the referrers API is first asked about: that
// of no bytes, which nothing refers to. A registry with the API answers an
// empty list; one without, 404. Asking about it needs no manifest read
// first, so a push scans its source repositories while it resolves them.
var probeDigest = digest.FromBytes(nil)

// scans are the scans of repositories, each started once and shared.
type scans struct {
	rd *reader
	mu sync.Mutex
	m  map[registry.Repo]*scanCall
	// warnings name the repositories that could not be looked at: a
	// registry that refuses its tag list (or fails) keeps its referrers,
	// and the push goes on without them.
	warnings []string
}

type scanCall struct {
	done chan struct{}
	rr   *repoReferrers
	err  error
}

func newScans(rd *reader) *scans { return &scans{rd: rd, m: map[registry.Repo]*scanCall{}} }

// start scans r in the background, once.
func (s *scans) start(ctx context.Context, r registry.Repo) *scanCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.m[r]; ok {
		return c
	}
	c := &scanCall{done: make(chan struct{})}
	s.m[r] = c
	go func() {
		defer close(c.done)
		c.rr, c.err = scan(ctx, s.rd, r, probeDigest)
		if c.err != nil && ctx.Err() == nil {
			s.mu.Lock()
			s.warnings = append(s.warnings, fmt.Sprintf("%s: could not look for what refers to its images (%v); none brought along", r, c.err))
			s.mu.Unlock()
			c.rr, c.err = &repoReferrers{rd: s.rd, repo: r, tags: map[string]bool{}}, nil
		}
	}()
	return c
}

// failures are the warnings of the scans done.
func (s *scans) failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.warnings)
}

// get waits for r's scan, starting it if need be.
func (s *scans) get(ctx context.Context, r registry.Repo) (*repoReferrers, error) {
	c := s.start(ctx, r)
	select {
	case <-c.done:
		return c.rr, c.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// scan lists r's tags and asks the referrers API about probe, at once.
func scan(ctx context.Context, rd *reader, r registry.Repo, probe digest.Digest) (*repoReferrers, error) {
	rr := &repoReferrers{rd: rd, repo: r, tags: map[string]bool{}, first: probe}
	var wg sync.WaitGroup
	var tagErr, apiErr error
	var tags []string
	wg.Go(func() { tags, tagErr = rd.reg.ListTags(ctx, r) })
	wg.Go(func() { rr.firstDescs, rr.api, apiErr = rd.reg.ReferrersAPI(ctx, r, probe) })
	wg.Wait()
	if err := errors.Join(tagErr, apiErr); err != nil {
		return nil, err
	}
	for _, t := range tags {
		rr.tags[t] = true
	}
	return rr, nil
}

// of lists what refers to d in the repository: OCI referrers (API or tag
// schema) and cosign tags (with the digest each tag points at).
func (rr *repoReferrers) of(ctx context.Context, d digest.Digest) (oci []ocispec.Descriptor, cosign map[string]ocispec.Descriptor, err error) {
	switch {
	case rr.api && d == rr.first:
		oci = rr.firstDescs
	case rr.api:
		if oci, _, err = rr.rd.reg.ReferrersAPI(ctx, rr.repo, d); err != nil {
			return nil, nil, err
		}
	case rr.tags[registry.ReferrersTag(d)]:
		doc, err := rr.rd.reg.ReadManifest(ctx, rr.repo, registry.ReferrersTag(d))
		if err != nil {
			return nil, nil, fmt.Errorf("reading the referrers tag of %s@%s: %w", rr.repo, d, err)
		}
		var idx ocispec.Index
		if err := json.Unmarshal(doc.Data, &idx); err != nil {
			return nil, nil, fmt.Errorf("%s:%s: %w", rr.repo, registry.ReferrersTag(d), err)
		}
		oci = idx.Manifests
	}
	for _, suffix := range cosignSuffixes {
		tag := registry.ReferrersTag(d) + suffix
		if !rr.tags[tag] {
			continue
		}
		doc, err := rr.rd.byTag(ctx, rr.repo, tag)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s:%s: %w", rr.repo, tag, err)
		}
		if cosign == nil {
			cosign = map[string]ocispec.Descriptor{}
		}
		cosign[tag] = doc.Desc
	}
	return oci, cosign, nil
}

func discoverIn(ctx context.Context, rd *reader, scans *scans, r registry.Repo, entries []digest.Digest) ([]referrer, error) {
	rr, err := scans.get(ctx, r)
	if err != nil {
		return nil, err
	}
	type subject struct{ d, entry digest.Digest }
	level := make([]subject, len(entries))
	for i, e := range entries {
		level[i] = subject{e, e}
	}
	seen := map[string]bool{}
	var out []referrer
	for depth := 0; len(level) > 0 && depth < maxReferrerDepth; depth++ {
		type answer struct {
			oci    []ocispec.Descriptor
			cosign map[string]ocispec.Descriptor
			err    error
		}
		answers := make([]answer, len(level))
		var wg sync.WaitGroup
		for i, s := range level {
			wg.Go(func() { answers[i].oci, answers[i].cosign, answers[i].err = rr.of(ctx, s.d) })
		}
		wg.Wait()
		var next []subject
		for i, s := range level {
			a := answers[i]
			if a.err != nil {
				return nil, a.err
			}
			for _, d := range a.oci {
				if seen[d.Digest.String()] || !plan.IsManifest(d.MediaType) && !plan.IsIndex(d.MediaType) {
					continue
				}
				seen[d.Digest.String()] = true
				out = append(out, referrer{desc: d, subject: s.d, entry: s.entry, from: r})
				next = append(next, subject{d.Digest, s.entry})
			}
			tags := make([]string, 0, len(a.cosign))
			for t := range a.cosign {
				tags = append(tags, t)
			}
			slices.Sort(tags)
			for _, t := range tags {
				d := a.cosign[t]
				if seen[t] {
					continue
				}
				seen[t] = true
				out = append(out, referrer{desc: d, subject: s.d, entry: s.entry, tag: t, from: r})
				if !seen[d.Digest.String()] {
					next = append(next, subject{d.Digest, s.entry})
				}
			}
			if len(out) > maxReferrers {
				return nil, fmt.Errorf("%s: more than %d referrers: refused", r, maxReferrers)
			}
		}
		level = next
	}
	return out, nil
}

// syncReferrers makes every referrer found discoverable in the target
// repository the way it was in the source: an OCI referrer by its subject
// (the target's referrers API indexes it when the target has the API;
// otherwise it is merged into the target's referrers tag-schema index,
// never replacing what that index holds), a cosign artifact under its tag.
// What the target has already is not written again; a cosign tag the target
// holds with other content is left alone, with a warning. With dryRun
// nothing is written and the results say what would be copied.
func syncReferrers(ctx context.Context, cp *copier, found []referrer, dryRun bool) (map[digest.Digest][]ReferrerResult, []string, error) {
	results := map[digest.Digest][]ReferrerResult{}
	if len(found) == 0 {
		return results, nil, nil
	}
	tr, err := scan(ctx, cp.rd, cp.target, probeDigest)
	if err != nil {
		return nil, nil, err
	}
	// What the target has already, per subject.
	subjects := map[digest.Digest]bool{}
	for _, f := range found {
		subjects[f.subject] = true
	}
	present := map[digest.Digest]map[digest.Digest]bool{}
	cosignPresent := map[string]digest.Digest{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for s := range subjects {
		wg.Go(func() {
			oci, cosign, err := tr.of(ctx, s)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			set := map[digest.Digest]bool{}
			for _, d := range oci {
				set[d.Digest] = true
			}
			present[s] = set
			for t, d := range cosign {
				cosignPresent[t] = d.Digest
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}

	// Decide, then copy what is missing, concurrently (a referrer does not
	// need its subject written first), then merge the tag-schema indexes,
	// one per subject.
	var warnings []string
	res := make([]ReferrerResult, len(found))
	var todo []int
	for i, f := range found {
		res[i] = ReferrerResult{Digest: f.desc.Digest, MediaType: f.desc.MediaType, ArtifactType: f.desc.ArtifactType, Subject: f.subject, Tag: f.tag}
		switch {
		case f.tag != "" && cosignPresent[f.tag] == f.desc.Digest:
		case f.tag != "" && cosignPresent[f.tag] != "":
			warnings = append(warnings, fmt.Sprintf("%s:%s holds %s, the source's is %s: left as it is", cp.target, f.tag, cosignPresent[f.tag], f.desc.Digest))
		case f.tag == "" && present[f.subject][f.desc.Digest]:
		case dryRun:
			res[i].Copied = true
		default:
			todo = append(todo, i)
		}
	}
	indexed := make([]*ocispec.Descriptor, len(found)) // tag-schema entries to add
	copyErrs := make([]error, len(found))
	for _, i := range todo {
		wg.Go(func() {
			f := found[i]
			ref := f.desc.Digest.String()
			if f.tag != "" {
				ref = f.tag
			}
			ch := child{desc: f.desc, from: f.from, source: f.from.String() + "@" + f.desc.Digest.String()}
			if err := cp.copyAs(ctx, ch, ref); err != nil {
				copyErrs[i] = fmt.Errorf("copying the referrer %s of %s: %w", f.desc.Digest, f.subject, err)
				return
			}
			res[i].Copied = true
			if f.tag == "" && !tr.api {
				d, err := trueDescriptor(ctx, cp.rd, f)
				if err != nil {
					copyErrs[i] = err
					return
				}
				indexed[i] = &d
			}
		})
	}
	wg.Wait()
	for i, f := range found {
		results[f.entry] = append(results[f.entry], res[i])
	}
	if err := errors.Join(copyErrs...); err != nil {
		return results, warnings, err
	}
	tagIndex := map[digest.Digest][]ocispec.Descriptor{}
	var subjectsInOrder []digest.Digest
	for i, d := range indexed {
		if d == nil {
			continue
		}
		s := found[i].subject
		if _, ok := tagIndex[s]; !ok {
			subjectsInOrder = append(subjectsInOrder, s)
		}
		tagIndex[s] = append(tagIndex[s], *d)
	}
	mergeErrs := make([]error, len(subjectsInOrder))
	for k, s := range subjectsInOrder {
		wg.Go(func() { mergeErrs[k] = mergeTagIndex(ctx, cp, s, tagIndex[s]) })
	}
	wg.Wait()
	return results, warnings, errors.Join(mergeErrs...)
}

// trueDescriptor is f's descriptor as its bytes say: media type and size of
// the manifest read by digest, its artifact type (the manifest's, else its
// config's media type) and annotations.
func trueDescriptor(ctx context.Context, rd *reader, f referrer) (ocispec.Descriptor, error) {
	doc, err := rd.byDigest(ctx, f.from, f.desc.Digest)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var m struct {
		ArtifactType string             `json:"artifactType"`
		Config       ocispec.Descriptor `json:"config"`
		Annotations  map[string]string  `json:"annotations"`
	}
	if err := json.Unmarshal(doc.Data, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("reading the referrer %s: %w", f.desc.Digest, err)
	}
	d := ocispec.Descriptor{MediaType: doc.Desc.MediaType, Digest: doc.Desc.Digest, Size: doc.Desc.Size, ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if d.ArtifactType == "" {
		d.ArtifactType = m.Config.MediaType
	}
	return d, nil
}

// mergeTagIndex adds descriptors to the target's referrers tag-schema
// index of subject, read now: entries it holds stay, in order; new ones
// follow.
func mergeTagIndex(ctx context.Context, cp *copier, subject digest.Digest, add []ocispec.Descriptor) error {
	tag := registry.ReferrersTag(subject)
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	doc, err := cp.rd.reg.ReadManifest(ctx, cp.target, tag)
	switch {
	case errors.Is(err, registry.ErrNotFound):
	case err != nil:
		return fmt.Errorf("reading %s:%s: %w", cp.target, tag, err)
	default:
		if err := json.Unmarshal(doc.Data, &idx); err != nil {
			return fmt.Errorf("%s:%s is not an index: %w", cp.target, tag, err)
		}
	}
	have := map[digest.Digest]bool{}
	for _, d := range idx.Manifests {
		have[d.Digest] = true
	}
	changed := false
	for _, d := range add {
		if !have[d.Digest] {
			idx.Manifests = append(idx.Manifests, d)
			have[d.Digest] = true
			changed = true
		}
	}
	if !changed {
		return nil
	}
	data, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	out := registry.Document{Desc: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(data), Size: int64(len(data))}, Data: data}
	return cp.rd.reg.PutManifest(ctx, cp.target, tag, out)
}
