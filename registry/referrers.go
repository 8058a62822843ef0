package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/manifest-push/manifest-push/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// How a repository keeps what refers to its manifests (signatures, SBOMs,
// attestations), and how manifest-push finds and adds them:
//
//   - OCI 1.1 referrers are manifests whose subject field names the
//     manifest they refer to. A registry with the referrers API lists them
//     (GET /v2/<name>/referrers/<digest>) and indexes a manifest with a
//     subject when it is written (it may say so with an OCI-Subject header
//     on the PUT). A registry without the API (distribution; GHCR, which
//     redirects the API to a web page; GitLab, which answers 404) keeps
//     them in the referrers tag schema: an OCI index tagged sha256-<hex>
//     (for the subject sha256:<hex>) that lists them, which writers merge
//     into, never overwrite. A tag lookup of sha256-<hex> may answer with
//     the subject itself (GitLab reads a tag of that shape as a digest):
//     only an OCI index whose digest is not the subject's is a referrers
//     index.
//   - cosign's tag scheme: the signature, attestations and SBOM of
//     sha256:<hex> are the manifests tagged sha256-<hex>.sig, .att and
//     .sbom.

// Referrer is a manifest that refers to a subject.
type Referrer struct {
	// Desc describes it as the listing gave it: media type, digest, size,
	// and for an OCI referrer its artifact type and annotations.
	Desc ocispec.Descriptor
	// Tag is the cosign tag it is found under (sha256-<hex>.sig, .att or
	// .sbom); empty for an OCI 1.1 referrer, found by its subject.
	Tag string
	// Doc is the document itself when the listing had to read it (a cosign
	// tag is read to learn its digest); nil otherwise.
	Doc *Document
}

// referrerScan is how one repository keeps referrers, read once per
// operation (see WithReferrerScans): whether it has the referrers API, and
// its tags (for the tag schema and cosign's tags).
type referrerScan struct {
	api  bool
	mu   sync.Mutex
	tags map[string]bool
}

func (s *referrerScan) has(tag string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tags[tag]
}

func (s *referrerScan) add(tag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tags[tag] = true
}

// cosignSuffixes are the tag suffixes of cosign's tag scheme.
var cosignSuffixes = []string{".sig", ".att", ".sbom"}

// probeDigest is the digest the referrers API is first asked about: that of
// no bytes, which nothing refers to. A registry with the API answers an
// empty list; one without, 404 (or a redirect away from the registry).
var probeDigest = digest.FromBytes(nil)

// scanKey keys, in a context, the referrer scans of one operation.
type scanKey struct{}

// scans are the referrer scans of one operation, each repository's read
// once however many subjects are asked about.
type scans struct {
	mu sync.Mutex
	m  map[Repo]*scanCall
}

type scanCall struct {
	done chan struct{}
	scan *referrerScan
	err  error
}

// WithReferrerScans makes the requests made with ctx one operation as far
// as referrers go: how each repository keeps them (its tags, whether it has
// the referrers API) is read once, the first time it is asked about, and
// what this client adds there is counted in. Without it, each call reads
// them again. The publish use cases call it once per push.
func WithReferrerScans(ctx context.Context) context.Context {
	return context.WithValue(ctx, scanKey{}, &scans{m: map[Repo]*scanCall{}})
}

// scan reads how repository r keeps referrers, once per operation: its
// tags and a probe of the referrers API, both at once (one round trip). A
// repository that does not exist has no tags and no referrers.
func (c *Client) scan(ctx context.Context, r Repo) (*referrerScan, error) {
	ss, _ := ctx.Value(scanKey{}).(*scans)
	if ss == nil {
		return c.scanNow(ctx, r)
	}
	ss.mu.Lock()
	call, ok := ss.m[r]
	if !ok {
		call = &scanCall{done: make(chan struct{})}
		ss.m[r] = call
	}
	ss.mu.Unlock()
	if !ok {
		call.scan, call.err = c.scanNow(ctx, r)
		if call.err != nil {
			ss.mu.Lock()
			delete(ss.m, r) // asked again next time
			ss.mu.Unlock()
		}
		close(call.done)
		return call.scan, call.err
	}
	select {
	case <-call.done:
		return call.scan, call.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (c *Client) scanNow(ctx context.Context, r Repo) (*referrerScan, error) {
	s := &referrerScan{tags: map[string]bool{}}
	var wg sync.WaitGroup
	var tags []string
	var tagErr, apiErr error
	wg.Go(func() { tags, tagErr = c.ListTags(ctx, r) })
	wg.Go(func() { _, s.api, apiErr = c.referrersAPI(ctx, r, probeDigest) })
	wg.Wait()
	if err := errors.Join(tagErr, apiErr); err != nil {
		return nil, &ScanError{Repo: r, Err: err}
	}
	for _, t := range tags {
		s.tags[t] = true
	}
	return s, nil
}

// ScanError: how a repository keeps its referrers could not be read (its
// tag list refused, the referrers API failing): nothing of its referrers
// can be listed. Callers may go on without them.
type ScanError struct {
	Repo Repo
	Err  error
}

func (e *ScanError) Error() string { return e.Err.Error() }

func (e *ScanError) Unwrap() error { return e.Err }

// Referrers lists what refers to subject in repository r: the OCI
// referrers (through the API, or the tag schema where the repository has
// no API), then cosign's artifacts of subject, each read once to learn its
// digest. Each list is at most MaxManifestSize bytes.
func (c *Client) Referrers(ctx context.Context, r Repo, subject digest.Digest) ([]Referrer, error) {
	if err := subject.Validate(); err != nil {
		return nil, err
	}
	s, err := c.scan(ctx, r)
	if err != nil {
		return nil, err
	}
	var out []Referrer
	switch {
	case s.api:
		descs, _, err := c.referrersAPI(ctx, r, subject)
		if err != nil {
			return nil, err
		}
		for _, d := range descs {
			out = append(out, Referrer{Desc: d})
		}
	case s.has(referrersTag(subject)):
		descs, err := c.tagSchema(ctx, r, subject)
		if err != nil {
			return nil, err
		}
		for _, d := range descs {
			out = append(out, Referrer{Desc: d})
		}
	}
	for _, suffix := range cosignSuffixes {
		tag := referrersTag(subject) + suffix
		if !s.has(tag) {
			continue
		}
		doc, err := c.ReadManifest(ctx, r, tag)
		if err != nil {
			return nil, fmt.Errorf("reading %s:%s: %w", r, tag, err)
		}
		out = append(out, Referrer{Desc: doc.Desc, Tag: tag, Doc: &doc})
	}
	return out, nil
}

// Attachment is a referrer to write into a repository: how it is found
// (Referrer: an OCI referrer, or a cosign tag) and its bytes. Whatever it
// names (blobs, or an index's manifests) is in the repository already.
type Attachment struct {
	Referrer Referrer
	Doc      Document
}

// AddReferrers writes referrers of subject into repository r so
// that Referrers finds them there (a referrer the registry refuses for its
// type is a *RefusedReferrerError among the errors returned, the others
// written all the same): a cosign artifact under its tag; an OCI
// referrer by its digest, and, unless the registry indexed it (it has the
// referrers API, or answered the PUT with OCI-Subject), merged into the
// subject's tag-schema index: the entries that index holds stay, in order,
// the new ones follow, and the index is written with the deterministic
// encoding of every index (content.EncodeIndex), once for all of them.
func (c *Client) AddReferrers(ctx context.Context, r Repo, subject digest.Digest, add []Attachment) error {
	s, err := c.scan(ctx, r)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(add))
	refused := make([]error, len(add))
	unindexed := make([]*ocispec.Descriptor, len(add))
	for i, a := range add {
		wg.Go(func() {
			ref := a.Doc.Desc.Digest.String()
			if a.Referrer.Tag != "" {
				ref = a.Referrer.Tag
			}
			h, err := c.putManifest(ctx, r, ref, a.Doc)
			if e, ok := errors.AsType[*Error](err); ok && refusedForType(e) {
				d, _ := referrerDescriptor(a.Doc)
				refused[i] = &RefusedReferrerError{Repo: r, Digest: a.Doc.Desc.Digest, ArtifactType: d.ArtifactType, Subject: subject, Err: err}
				return
			}
			if err != nil {
				errs[i] = fmt.Errorf("the referrer %s of %s: %w", a.Doc.Desc.Digest, subject, err)
				return
			}
			if a.Referrer.Tag != "" {
				s.add(a.Referrer.Tag)
			}
			if a.Referrer.Tag != "" || s.api || h.Get("OCI-Subject") != "" {
				return
			}
			d, err := referrerDescriptor(a.Doc)
			if err != nil {
				errs[i] = err
				return
			}
			unindexed[i] = &d
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return errors.Join(err, errors.Join(refused...))
	}
	var descs []ocispec.Descriptor
	for _, d := range unindexed {
		if d != nil {
			descs = append(descs, *d)
		}
	}
	if len(descs) > 0 {
		if err := c.mergeTagSchema(ctx, r, subject, descs); err != nil {
			return errors.Join(err, errors.Join(refused...))
		}
		s.add(referrersTag(subject))
	}
	return errors.Join(refused...)
}

// RefusedReferrerError is a referrer the registry would not take for its
// type (GitLab and Quay keep allow-lists of artifact types and answer 400
// "unknown media type"): the others of its subject are written all the
// same, and what it refers to is unaffected. It matches
// ErrReferrerRefused.
type RefusedReferrerError struct {
	Repo         Repo
	Digest       digest.Digest
	ArtifactType string
	Subject      digest.Digest
	Err          error
}

func (e *RefusedReferrerError) Error() string {
	return fmt.Sprintf("%s refused the referrer %s (%s) of %s: %v", e.Repo, e.Digest, e.ArtifactType, e.Subject, e.Err)
}

func (e *RefusedReferrerError) Unwrap() []error { return []error{ErrReferrerRefused, e.Err} }

// refusedForType reports whether a manifest PUT was refused for what the
// manifest is (its media or artifact type), not for how it was sent.
func refusedForType(e *Error) bool {
	if e.StatusCode == http.StatusUnsupportedMediaType {
		return true
	}
	if e.StatusCode != http.StatusBadRequest {
		return false
	}
	for i, c := range e.Codes {
		if c == "MANIFEST_INVALID" || c == "UNSUPPORTED" || c == "DENIED" {
			return true
		}
		if i < len(e.Messages) && strings.Contains(strings.ToLower(e.Messages[i]), "media type") {
			return true
		}
	}
	return false
}

// referrerDescriptor is the descriptor of a referrer as its bytes say: the
// media type, digest and size of the document, its artifact type (the
// manifest's, else its config's media type) and its annotations.
func referrerDescriptor(doc Document) (ocispec.Descriptor, error) {
	var m struct {
		ArtifactType string             `json:"artifactType"`
		Config       ocispec.Descriptor `json:"config"`
		Annotations  map[string]string  `json:"annotations"`
	}
	if err := json.Unmarshal(doc.Data, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("reading the referrer %s: %w", doc.Desc.Digest, err)
	}
	d := ocispec.Descriptor{MediaType: doc.Desc.MediaType, Digest: doc.Desc.Digest, Size: doc.Desc.Size, ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if d.ArtifactType == "" {
		d.ArtifactType = m.Config.MediaType
	}
	return d, nil
}

// Bounds of a merge into a tag-schema index (mergeTagSchema): it is read
// back at least tagSchemaSettle after a write (twice as long as the write
// took, if longer), and written at most tagSchemaRounds times.
const (
	tagSchemaSettle = 300 * time.Millisecond
	tagSchemaRounds = 8
)

// mergeTagSchema adds descs to the tag-schema index of subject in r, read
// now: what it lists stays, in order; the new ones follow. Nothing is
// written when it lists them all already. A registry has no
// compare-and-swap, and another writer adding referrers to the same
// subject may have read the index before this write and write after it:
// so after a write the index is read back after a settle time (with
// jitter), and merged and written again while it lacks any of descs; the
// merge is done when a read lists them all.
func (c *Client) mergeTagSchema(ctx context.Context, r Repo, subject digest.Digest, descs []ocispec.Descriptor) error {
	settle := tagSchemaSettle
	for round := 0; ; round++ {
		have, err := c.tagSchema(ctx, r, subject)
		if err != nil {
			return err
		}
		listed := map[digest.Digest]bool{}
		for _, d := range have {
			listed[d.Digest] = true
		}
		merged := have
		for _, d := range descs {
			if !listed[d.Digest] {
				listed[d.Digest] = true
				merged = append(merged, d)
			}
		}
		if len(merged) == len(have) {
			return nil
		}
		if round == tagSchemaRounds {
			return fmt.Errorf("the referrers index %s:%s: other writers kept replacing it; gave up after %d writes", r, referrersTag(subject), tagSchemaRounds)
		}
		idx, err := content.EncodeIndex(ocispec.MediaTypeImageIndex, nil, merged)
		if err != nil {
			return err
		}
		started := time.Now()
		if _, err := c.putManifest(ctx, r, referrersTag(subject), Document{Desc: idx.Descriptor, Data: idx.Bytes}); err != nil {
			return err
		}
		settle = max(settle, 2*time.Since(started))
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(settle + rand.N(settle/2+1)):
		}
	}
}

// tagSchema lists the referrers of subject that the tag-schema index of r
// holds; none when there is no such tag, or when the tag answers with
// something that is not a referrers index: the subject itself (GitLab),
// or a document that is no OCI index.
func (c *Client) tagSchema(ctx context.Context, r Repo, subject digest.Digest) ([]ocispec.Descriptor, error) {
	doc, err := c.ReadManifest(ctx, r, referrersTag(subject))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading the referrers tag of %s@%s: %w", r, subject, err)
	case doc.Desc.Digest == subject || doc.Desc.MediaType != ocispec.MediaTypeImageIndex:
		return nil, nil
	}
	return referrersOf(doc.Data)
}

// referrersAPI lists the referrers of d in r through the referrers API
// only. ok is false when the registry does not offer the API: it answers
// a bare 404 (a route it lacks: "404 page not found"), redirects away
// (GHCR sends the API to a web page), or answers with something other than
// an image index. A registry with the API answers an empty list for a
// digest nothing refers to, or (Quay) a 404 carrying a registry error: the
// API is there, and nothing refers to d.
func (c *Client) referrersAPI(ctx context.Context, r Repo, d digest.Digest) (descs []ocispec.Descriptor, ok bool, err error) {
	resp, err := c.do(ctx, request{
		method: http.MethodGet,
		repo:   r,
		path:   "referrers/" + d.String(),
		header: http.Header{"Accept": {ocispec.MediaTypeImageIndex}},
		caps:   docker.HostCapabilityPull,
	}, http.StatusOK, http.StatusNotFound)
	if e, ok := errors.AsType[*Error](err); ok && e.StatusCode == http.StatusNotFound {
		// A registry error: the API answered (Quay says 404 for a subject
		// nothing refers to); a bare 404 is a route it lacks.
		return nil, len(e.Codes) > 0, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("listing the referrers of %s@%s: %w", r, d, err)
	}
	defer drain(ctx, resp)
	if resp.StatusCode == http.StatusNotFound {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, len(responseError(resp, body).Codes) > 0, nil
	}
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(ct) != ocispec.MediaTypeImageIndex {
		return nil, false, nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxManifestSize+1))
	if err != nil {
		return nil, false, transportError(resp.Request, err)
	}
	if len(data) > MaxManifestSize {
		return nil, false, fmt.Errorf("the referrers of %s@%s: a list larger than %d bytes", r, d, MaxManifestSize)
	}
	descs, err = referrersOf(data)
	return descs, err == nil, err
}

// referrersTag is the tag of the referrers tag schema for d: its algorithm,
// a dash and its hex (sha256:abc… gives sha256-abc…).
func referrersTag(d digest.Digest) string {
	return d.Algorithm().String() + "-" + d.Encoded()
}

func referrersOf(data []byte) ([]ocispec.Descriptor, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("reading a referrers list: %w", err)
	}
	return idx.Manifests, nil
}
