package registry

import (
	"context"
	"errors"
	"fmt"
	"github.com/manifest-push/manifest-push/content"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/log"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Meter counts the bytes of one attempt at streaming a blob: Wrap wraps
// the stream as it is read, End ends the attempt (ok when the blob arrived)
// and returns the bytes it counted. A streamed copy that is started again
// after a transient failure asks for a new Meter.
type Meter interface {
	Wrap(r io.Reader) io.Reader
	End(ok bool) int64
}

// CopyBlob brings blob d from a place (a repository of this client,
// Client.Repository, or another content.Fetcher such as an OCI layout)
// into repository to: by a cross-repository mount when both are on the
// same registry (streamed from the source when the registry opens an
// upload instead), else by streaming it from where it is, unless the
// target repository has it already. A stream is verified against d as it goes, and a copy broken by
// a transient failure is started again, as a whole, in a new upload.
// newMeter, when not nil, gives a Meter for each attempt at streaming. It
// returns the bytes streamed: zero when mounted or present already. It
// never writes to from.
func (c *Client) CopyBlob(ctx context.Context, from content.Fetcher, to Repo, d ocispec.Descriptor, newMeter func() Meter) (int64, error) {
	if err := d.Digest.Validate(); err != nil {
		return 0, err
	}
	src, ok := from.(*Repository)
	if !ok || src.c != c {
		// Another kind of place (an OCI layout): streamed from it.
		return c.PushBlob(ctx, to, d, func(ctx context.Context) (io.ReadCloser, error) { return from.OpenBlob(ctx, d) }, newMeter)
	}
	if src.Repo.Domain == to.Domain {
		return c.mount(ctx, src.Repo, to, d, newMeter)
	}
	ok, err := c.HasBlob(ctx, to, d.Digest)
	if err != nil || ok {
		return 0, err
	}
	log.G(ctx).WithField("digest", d.Digest).WithField("from", src.Repo.Domain).Debug("copying the blob across registries")
	return c.upload(ctx, c.blobSource(src.Repo, d), to, d, nil, newMeter)
}

// Repository is repository r of the client's registries as a place to
// read from (content.Fetcher): what CopyBlob mounts from when it can.
func (c *Client) Repository(r Repo) content.Fetcher { return &Repository{c: c, Repo: r} }

// Repository reads one repository through its client (Client.Repository).
type Repository struct {
	c    *Client
	Repo Repo
}

// ReadManifest reads the manifest or index d, verified.
func (r *Repository) ReadManifest(ctx context.Context, d digest.Digest) (Document, error) {
	return r.c.ReadManifest(ctx, r.Repo, d.String())
}

// ReadBlob reads a small blob, verified; one over limit bytes is refused.
func (r *Repository) ReadBlob(ctx context.Context, d ocispec.Descriptor, limit int64) ([]byte, error) {
	return r.c.ReadBlob(ctx, r.Repo, d, limit)
}

// OpenBlob streams blob d from its registry, verified as it is read.
func (r *Repository) OpenBlob(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	rc, err := r.c.blobSource(r.Repo, d)(ctx)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{content.VerifyingReader(rc, d), rc}, nil
}

func (r *Repository) String() string { return r.Repo.String() }

// BlobOpener opens the content of a blob for one attempt at uploading it;
// the stream it gives is closed when the attempt ends.
type BlobOpener func(ctx context.Context) (io.ReadCloser, error)

// PushBlob uploads blob d into repository r from the stream open gives,
// unless r has it already (asked with a HEAD first). The stream is verified
// against d's digest and size as it goes, and the registry checks the
// digest too; an upload broken by a transient failure is started again, as
// a whole, with a new stream from open. newMeter, when not nil, gives a
// Meter for each attempt. It returns the bytes uploaded: zero when r had
// the blob.
func (c *Client) PushBlob(ctx context.Context, r Repo, d ocispec.Descriptor, open BlobOpener, newMeter func() Meter) (int64, error) {
	if err := d.Digest.Validate(); err != nil {
		return 0, err
	}
	ok, err := c.HasBlob(ctx, r, d.Digest)
	if err != nil || ok {
		return 0, err
	}
	return c.upload(ctx, open, r, d, nil, newMeter)
}

// blobSource opens blob d of repository from, streamed from its registry.
func (c *Client) blobSource(from Repo, d ocispec.Descriptor) BlobOpener {
	return func(ctx context.Context) (io.ReadCloser, error) {
		resp, err := c.do(ctx, request{method: http.MethodGet, repo: from, path: "blobs/" + d.Digest.String(), caps: docker.HostCapabilityPull, streamed: true}, http.StatusOK)
		if err != nil {
			return nil, fmt.Errorf("reading blob %s: %w", d.Digest, err)
		}
		return &drainingBody{ctx: ctx, resp: resp}, nil
	}
}

// drainingBody is a response body that is drained and closed as drain does.
type drainingBody struct {
	ctx  context.Context
	resp *http.Response
}

func (b *drainingBody) Read(p []byte) (int, error) { return b.resp.Body.Read(p) }

func (b *drainingBody) Close() error {
	drain(b.ctx, b.resp)
	return nil
}

// mount mounts a blob from another repository of the target's registry; a
// 201 says it is there. Anything else is an upload: a 202 opens one (ECR
// without blob mounting, Quay), into which the blob is streamed from the
// source; a refusal (401 across GitLab or Harbor projects, an error from
// ECR Public) starts a new one. A refused mount is not asked again for the
// same pair of repositories in this run, so its scope is not asked for in
// a loop. It returns the bytes streamed.
func (c *Client) mount(ctx context.Context, from, to Repo, d ocispec.Descriptor, newMeter func() Meter) (int64, error) {
	pair := from.String() + "\x00" + to.String()
	if _, refused := c.noMount.Load(pair); refused {
		return c.upload(ctx, c.blobSource(from, d), to, d, nil, newMeter)
	}
	resp, err := c.do(ctx, request{
		method: http.MethodPost,
		repo:   to,
		path:   "blobs/uploads/",
		query:  url.Values{"mount": {d.Digest.String()}, "from": {from.Path}},
		caps:   docker.HostCapabilityPush,
	}, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("mounting blob %s: %w", d.Digest, err)
		}
		c.noMount.Store(pair, true)
		log.G(ctx).WithError(err).WithField("digest", d.Digest).Debug("registry refused the mount: uploading the blob")
		return c.upload(ctx, c.blobSource(from, d), to, d, nil, newMeter)
	}
	drain(ctx, resp)
	if resp.StatusCode == http.StatusCreated {
		return 0, nil
	}
	log.G(ctx).WithField("digest", d.Digest).Debug("registry did not mount the blob: uploading it")
	loc, err := c.uploadLocation(resp)
	if err != nil {
		return 0, fmt.Errorf("upload of blob %s: %w", d.Digest, err)
	}
	return c.upload(ctx, c.blobSource(from, d), to, d, loc, newMeter)
}

// upload streams a blob from src into the target repository (into the
// upload at loc, or a new one when loc is nil), verifying it as it goes, as
// a whole operation that is started again (with a new upload and a new
// stream from src) after a transient failure. It returns the bytes
// streamed.
func (c *Client) upload(ctx context.Context, src BlobOpener, to Repo, d ocispec.Descriptor, loc *url.URL, newMeter func() Meter) (int64, error) {
	for attempt := 1; ; attempt++ {
		m := newCountMeter()
		if newMeter != nil {
			m = newMeter()
		}
		err := c.uploadOnce(ctx, src, to, d, loc, m)
		n := m.End(err == nil)
		if err == nil {
			return n, nil
		}
		if !transient(err) || attempt >= c.policy.Attempts {
			return 0, err
		}
		wait := c.policy.backoff(attempt)
		if e, ok := errors.AsType[*Error](err); ok && e.RetryAfter > 0 {
			if e.RetryAfter > c.policy.MaxRetryAfter {
				return 0, err // the error says when the limit resets
			}
			wait = max(wait, e.RetryAfter) // the backoff is a floor
		}
		if deadline, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(deadline) {
			return 0, err
		}
		log.G(ctx).WithError(err).WithField("digest", d.Digest).WithField("wait", wait).Debug("retrying blob upload")
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return 0, context.Cause(ctx)
		case <-timer.C:
		}
		loc = nil
	}
}

func (c *Client) uploadOnce(ctx context.Context, open BlobOpener, to Repo, d ocispec.Descriptor, loc *url.URL, m Meter) error {
	if loc == nil {
		resp, err := c.do(ctx, request{method: http.MethodPost, repo: to, path: "blobs/uploads/", caps: docker.HostCapabilityPush}, http.StatusAccepted)
		if err != nil {
			return fmt.Errorf("starting the upload of blob %s: %w", d.Digest, noRepository(to, err))
		}
		drain(ctx, resp)
		if loc, err = c.uploadLocation(resp); err != nil {
			return fmt.Errorf("upload of blob %s: %w", d.Digest, err)
		}
	}
	src, err := open(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err := src.Close(); err != nil {
			log.G(ctx).WithError(err).Debug("closing the source of a blob upload")
		}
	}()
	resp, err := c.do(ctx, request{
		method:   http.MethodPut,
		repo:     to,
		location: loc,
		query:    url.Values{"digest": {d.Digest.String()}},
		header:   http.Header{"Content-Type": {"application/octet-stream"}},
		stream:   m.Wrap(content.VerifyingReader(src, d)),
		size:     d.Size,
		caps:     docker.HostCapabilityPush,
	}, http.StatusCreated)
	if err != nil {
		return fmt.Errorf("uploading blob %s: %w", d.Digest, err)
	}
	drain(ctx, resp)
	return nil
}

// uploadLocation is the upload session an answer opened: its Location,
// resolved against the request's URL. A Location that takes an upload
// begun over HTTPS to plain HTTP is refused (ErrInsecureRedirect), unless
// the user made its host plain HTTP: the upload's PUT would carry the
// host's credentials in clear, since they are matched by host and port,
// not by scheme. The refusal is not transient: no upload is started again.
func (c *Client) uploadLocation(resp *http.Response) (*url.URL, error) {
	loc, err := resp.Location()
	if err != nil {
		return nil, err
	}
	if err := c.hosts.checkLocation(resp.Request.URL, loc); err != nil {
		return nil, err
	}
	return loc, nil
}

// transient reports whether a failed request is worth starting again.
func transient(err error) bool {
	if e, ok := errors.AsType[*Error](err); ok {
		if e.StatusCode != 0 {
			return retryableStatus(e.StatusCode)
		}
		return e.Err != nil && transientError(e.Err)
	}
	return false
}

// PutManifest writes a manifest or index document into repository r under
// ref (its digest, or a tag), with its media type as Content-Type. An OCI
// index the registry refuses for its media type gets HintIndexType, a
// Docker manifest or manifest list HintOCIOnly.
//
// A registry that answers MANIFEST_BLOB_UNKNOWN or BLOB_UNKNOWN just after
// what the document refers to was written (replication lag: Docker Hub,
// GHCR, Nexus, geo-replicated registries) gets the PUT again after
// BlobUnknownDelay, doubling, at most BlobUnknownRetries times (1.75 s in
// all): children, indexes and tags alike. A tag the registry keeps
// immutable is an error matching ErrImmutableTag, a repository it lacks one
// matching ErrNoRepository; neither is retried.
func (c *Client) PutManifest(ctx context.Context, r Repo, ref string, doc Document) error {
	_, err := c.putManifest(ctx, r, ref, doc)
	return err
}

// putManifest is PutManifest, returning the answer's headers.
func (c *Client) putManifest(ctx context.Context, r Repo, ref string, doc Document) (http.Header, error) {
	return c.putManifestQuery(ctx, r, ref, nil, doc)
}

// putManifestQuery is putManifest with query added to the PUT's URL (the
// tag parameter, see PutTagged).
func (c *Client) putManifestQuery(ctx context.Context, r Repo, ref string, query url.Values, doc Document) (http.Header, error) {
	delay := BlobUnknownDelay
	for attempt := 0; ; attempt++ {
		h, err := c.putManifestOnce(ctx, r, ref, query, doc)
		if err == nil || attempt == BlobUnknownRetries || !IsBlobUnknown(err) {
			return h, err
		}
		log.G(ctx).WithError(err).WithField("delay", delay).Debug("the registry does not see what the manifest refers to yet: retrying")
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, err
		case <-timer.C:
		}
		delay *= 2
	}
}

// Manifest PUT retries on MANIFEST_BLOB_UNKNOWN / BLOB_UNKNOWN (see
// PutManifest).
const (
	BlobUnknownRetries = 3
	BlobUnknownDelay   = 250 * time.Millisecond
)

func (c *Client) putManifestOnce(ctx context.Context, r Repo, ref string, query url.Values, doc Document) (http.Header, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodPut,
		repo:   r,
		path:   "manifests/" + ref,
		query:  query,
		header: http.Header{"Content-Type": {doc.Desc.MediaType}},
		body:   doc.Data,
		caps:   docker.HostCapabilityPush,
	}, http.StatusCreated, http.StatusOK, http.StatusAccepted)
	if err != nil {
		e, ok := errors.AsType[*Error](err)
		switch {
		case ok && !isDigest(ref) && immutableRefusal(e):
			return nil, fmt.Errorf("writing %s: tag %q of %s is immutable on the registry and already points elsewhere: "+
				"it cannot be moved to %s; push to another tag or lift the immutability rule: %w: %w",
				refString(r, ref), ref, r, doc.Desc.Digest, ErrImmutableTag, err)
		case ok && doc.Desc.MediaType == ocispec.MediaTypeImageIndex && rejectsMediaType(e):
			e.Hint = HintIndexType
		case ok && isDockerManifest(doc.Desc.MediaType) && refusesMediaType(e, doc.Desc.MediaType):
			e.Hint = HintOCIOnly
		}
		return nil, fmt.Errorf("writing %s: %w", refString(r, ref), noRepository(r, err))
	}
	drain(ctx, resp)
	return resp.Header, nil
}

// isDigest reports whether a manifest reference is a digest, not a tag:
// the reference grammar gives a tag no colon ([A-Za-z0-9_][A-Za-z0-9_.-]*)
// and a digest always one (algorithm:encoded), whether or not the encoded
// part is valid (the registry says so).
func isDigest(ref string) bool { return strings.Contains(ref, ":") }

// refString spells what ref names in repository r as a reference does:
// r@digest, or r:tag.
func refString(r Repo, ref string) string {
	if isDigest(ref) {
		return r.String() + "@" + ref
	}
	return r.String() + ":" + ref
}

// isDockerManifest reports whether mt is a Docker image manifest or
// manifest list.
func isDockerManifest(mt string) bool {
	return mt == images.MediaTypeDockerSchema2Manifest || mt == images.MediaTypeDockerSchema2ManifestList
}

// refusesMediaType reports whether e, the answer to a PUT of a manifest of
// media type mt, refuses it for that media type: 415 Unsupported Media
// Type, or a MANIFEST_INVALID or UNSUPPORTED error whose message or detail
// names mt (zot answers 415 MANIFEST_INVALID with the media type as its
// detail).
func refusesMediaType(e *Error, mt string) bool {
	if e.StatusCode == http.StatusUnsupportedMediaType {
		return true
	}
	for i, c := range e.Codes {
		if c != "MANIFEST_INVALID" && c != "UNSUPPORTED" {
			continue
		}
		if (i < len(e.Messages) && strings.Contains(e.Messages[i], mt)) || (i < len(e.Details) && strings.Contains(e.Details[i], mt)) {
			return true
		}
	}
	return false
}

// noRepository names the repository and what to do when err, the answer
// to a write into r, says that r does not exist (see missingRepository);
// else it returns err.
func noRepository(r Repo, err error) error {
	if e, ok := errors.AsType[*Error](err); ok && missingRepository(e) {
		return fmt.Errorf("repository %s does not exist and the registry does not create it on push: "+
			"create it first (or its project), then push again: %w: %w", r, ErrNoRepository, err)
	}
	return err
}

// rejectsMediaType reports whether a registry refused a manifest for its
// media type.
func rejectsMediaType(e *Error) bool {
	if e.StatusCode == http.StatusUnsupportedMediaType {
		return true
	}
	if e.StatusCode != http.StatusBadRequest {
		return false
	}
	for _, c := range e.Codes {
		if c == "MANIFEST_INVALID" || c == "UNSUPPORTED" {
			return true
		}
	}
	return len(e.Codes) == 0
}

// countMeter is the Meter of a copy nobody watches: it counts the bytes
// streamed, for CopyBlob's result.
type countMeter struct{ n *atomic.Int64 }

func newCountMeter() Meter { return countMeter{n: new(atomic.Int64)} }

func (m countMeter) Wrap(r io.Reader) io.Reader { return &countingReader{r: r, n: m.n} }

func (m countMeter) End(ok bool) int64 {
	if !ok {
		return 0
	}
	return m.n.Load()
}

// countingReader counts what is read; the HTTP transport may still read a
// request body after the request failed, hence the atomic counter.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
