package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/log"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// copier copies manifests into the target repository: their blobs by
// cross-repository mount when the source is on the target's registry (a
// streamed upload when the registry will not mount), streamed from the
// source registry when it is another one (skipping blobs the target
// repository has), then the manifest bytes by digest. It never writes to a
// source repository, nor to any registry but the target's.
type copier struct {
	rd     *reader
	target repo
	policy retryPolicy
	// progress, when not nil, hears of every blob brought in.
	progress *progress
	// blobsIn brings each blob into the target once, whichever children
	// share it.
	blobsIn memo[struct{}]
}

// child is a manifest to have in the target repository, the repository it
// can be read from, and the source (spec entry image) it is copied for.
type child struct {
	desc   ocispec.Descriptor
	from   repo
	source string
}

// ensure makes each child present in the target repository, concurrently,
// and reports which ones it copied. A child from the target repository
// itself is there already; the others are looked for first.
func (cp *copier) ensure(ctx context.Context, children []child) (map[digest.Digest]bool, error) {
	var (
		mu     sync.Mutex
		copied = map[digest.Digest]bool{}
		wg     sync.WaitGroup
		errs   = make([]error, len(children))
	)
	for i, ch := range children {
		if ch.from == cp.target {
			continue
		}
		wg.Go(func() {
			did, err := cp.ensureOne(ctx, ch)
			if err != nil {
				errs[i] = fmt.Errorf("copying %s@%s into %s: %w", ch.from, ch.desc.Digest, cp.target, err)
				return
			}
			mu.Lock()
			copied[ch.desc.Digest] = did
			mu.Unlock()
		})
	}
	wg.Wait()
	return copied, errors.Join(errs...)
}

func (cp *copier) ensureOne(ctx context.Context, ch child) (bool, error) {
	ok, err := cp.rd.exists(ctx, cp.target, ch.desc)
	if err != nil || ok {
		return false, err
	}
	return true, cp.copyManifest(ctx, ch)
}

// copyManifest copies a manifest known to be missing: the blobs of an image
// manifest, or the children of an index, then the manifest itself.
func (cp *copier) copyManifest(ctx context.Context, ch child) error {
	doc, err := cp.rd.byDigest(ctx, ch.from, ch.desc.Digest)
	if err != nil {
		return err
	}
	if plan.IsIndex(doc.desc.MediaType) {
		var idx ocispec.Index
		if err := json.Unmarshal(doc.data, &idx); err != nil {
			return fmt.Errorf("reading the index: %w", err)
		}
		children := make([]child, len(idx.Manifests))
		for i, d := range idx.Manifests {
			children[i] = child{desc: d, from: ch.from, source: ch.source}
		}
		if _, err := cp.ensure(ctx, children); err != nil {
			return err
		}
	} else {
		var m ocispec.Manifest
		if err := json.Unmarshal(doc.data, &m); err != nil {
			return fmt.Errorf("reading the manifest: %w", err)
		}
		if err := cp.blobs(ctx, ch, append([]ocispec.Descriptor{m.Config}, m.Layers...)); err != nil {
			return err
		}
	}
	return cp.putManifest(ctx, doc.desc.Digest.String(), doc)
}

// blobs brings the blobs of ch into the target repository, concurrently.
// Non-distributable (foreign) layers, which registries do not hand out,
// are left out, as Docker leaves them out.
func (cp *copier) blobs(ctx context.Context, ch child, blobs []ocispec.Descriptor) error {
	seen := map[digest.Digest]bool{}
	var todo []ocispec.Descriptor
	for _, b := range blobs {
		if seen[b.Digest] || nonDistributable(b.MediaType) {
			continue
		}
		seen[b.Digest] = true
		todo = append(todo, b)
	}
	cp.progress.add(ch.source, todo)
	var wg sync.WaitGroup
	errs := make([]error, len(todo))
	for i, b := range todo {
		wg.Go(func() { errs[i] = cp.blob(ctx, ch, b) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Media types of layers that registries do not distribute: Windows base
// layers, pulled from the URLs in their descriptors.
const (
	mediaTypeDockerForeignLayer      = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	mediaTypeOCINonDistributablePref = "application/vnd.oci.image.layer.nondistributable."
)

// nonDistributable reports whether a layer of this media type lives outside
// registries.
func nonDistributable(mediaType string) bool {
	return mediaType == mediaTypeDockerForeignLayer || strings.HasPrefix(mediaType, mediaTypeOCINonDistributablePref)
}

// blob brings one blob of ch into the target repository, once per push
// however many children share it.
func (cp *copier) blob(ctx context.Context, ch child, d ocispec.Descriptor) error {
	if err := d.Digest.Validate(); err != nil {
		return err
	}
	var streamed int64
	_, err := cp.blobsIn.do(ctx, d.Digest, func() (struct{}, error) {
		var err error
		if ch.from.domain == cp.target.domain {
			streamed, err = cp.mount(ctx, ch, d)
		} else {
			streamed, err = cp.fetchBlob(ctx, ch, d)
		}
		return struct{}{}, err
	})
	if err != nil {
		return err
	}
	cp.progress.done(ch.source, d, streamed)
	return nil
}

// mount mounts a blob from another repository of the target's registry; a
// 201 says it is there. A 202 means the registry opened an upload instead:
// the blob is then streamed from the source into it. It returns the bytes
// streamed.
func (cp *copier) mount(ctx context.Context, ch child, d ocispec.Descriptor) (int64, error) {
	resp, err := cp.rd.c.do(ctx, request{
		method: http.MethodPost,
		repo:   cp.target,
		path:   "blobs/uploads/",
		query:  url.Values{"mount": {d.Digest.String()}, "from": {ch.from.path}},
		caps:   docker.HostCapabilityPush,
	}, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return 0, fmt.Errorf("mounting blob %s: %w", d.Digest, err)
	}
	drain(ctx, resp)
	if resp.StatusCode == http.StatusCreated {
		return 0, nil
	}
	log.G(ctx).WithField("digest", d.Digest).Debug("registry did not mount the blob: uploading it")
	loc, err := resp.Location()
	if err != nil {
		return 0, fmt.Errorf("upload of blob %s: %w", d.Digest, err)
	}
	return cp.upload(ctx, ch, d, loc)
}

// fetchBlob brings a blob from another registry: nothing to do when the
// target repository has it, else it is streamed from the source registry
// into a new upload. It returns the bytes streamed.
func (cp *copier) fetchBlob(ctx context.Context, ch child, d ocispec.Descriptor) (int64, error) {
	ok, err := cp.blobExists(ctx, cp.target, d)
	if err != nil || ok {
		return 0, err
	}
	log.G(ctx).WithField("digest", d.Digest).WithField("from", ch.from.domain).Debug("copying the blob across registries")
	return cp.upload(ctx, ch, d, nil)
}

// blobExists reports whether repository r has the blob d.
func (cp *copier) blobExists(ctx context.Context, r repo, d ocispec.Descriptor) (bool, error) {
	resp, err := cp.rd.c.do(ctx, request{
		method: http.MethodHead,
		repo:   r,
		path:   "blobs/" + d.Digest.String(),
		caps:   docker.HostCapabilityPush,
	}, http.StatusOK, http.StatusNotFound)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("looking for blob %s in %s: %w", d.Digest, r, err)
	}
	drain(ctx, resp)
	return resp.StatusCode == http.StatusOK, nil
}

// upload streams a blob from the source into the target repository (into
// the upload at loc, or a new one when loc is nil), verifying it as it
// goes, as a whole operation that is started again (with a new upload)
// after a transient failure. It returns the bytes streamed.
func (cp *copier) upload(ctx context.Context, ch child, d ocispec.Descriptor, loc *url.URL) (int64, error) {
	for attempt := 1; ; attempt++ {
		counter := cp.progress.counter(ch.source, d)
		err := cp.uploadOnce(ctx, ch.from, d, loc, counter)
		n := counter.close(err == nil)
		if err == nil {
			return n, nil
		}
		if !transient(err) || attempt >= cp.policy.Attempts {
			return 0, err
		}
		wait := cp.policy.backoff(attempt)
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

func (cp *copier) uploadOnce(ctx context.Context, from repo, d ocispec.Descriptor, loc *url.URL, counter *blobCounter) error {
	c := cp.rd.c
	if loc == nil {
		resp, err := c.do(ctx, request{method: http.MethodPost, repo: cp.target, path: "blobs/uploads/", caps: docker.HostCapabilityPush}, http.StatusAccepted)
		if err != nil {
			return fmt.Errorf("starting the upload of blob %s: %w", d.Digest, err)
		}
		drain(ctx, resp)
		if loc, err = resp.Location(); err != nil {
			return fmt.Errorf("upload of blob %s: %w", d.Digest, err)
		}
	}
	src, err := c.do(ctx, request{method: http.MethodGet, repo: from, path: "blobs/" + d.Digest.String(), caps: docker.HostCapabilityPull}, http.StatusOK)
	if err != nil {
		return fmt.Errorf("reading blob %s: %w", d.Digest, err)
	}
	defer drain(ctx, src)
	resp, err := c.do(ctx, request{
		method:   http.MethodPut,
		repo:     cp.target,
		location: loc,
		query:    url.Values{"digest": {d.Digest.String()}},
		header:   http.Header{"Content-Type": {"application/octet-stream"}},
		stream:   counter.reader(newVerifier(src.Body, d)),
		size:     d.Size,
		caps:     docker.HostCapabilityPush,
	}, http.StatusCreated)
	if err != nil {
		return fmt.Errorf("uploading blob %s: %w", d.Digest, err)
	}
	drain(ctx, resp)
	return nil
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

// putManifest writes a manifest or index document under ref (its digest,
// or a tag).
func (cp *copier) putManifest(ctx context.Context, ref string, doc document) error {
	resp, err := cp.rd.c.do(ctx, request{
		method: http.MethodPut,
		repo:   cp.target,
		path:   "manifests/" + ref,
		header: http.Header{"Content-Type": {doc.desc.MediaType}},
		body:   doc.data,
		caps:   docker.HostCapabilityPush,
	}, http.StatusCreated, http.StatusOK, http.StatusAccepted)
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok && doc.desc.MediaType == ocispec.MediaTypeImageIndex && rejectsMediaType(e) {
			e.Hint = HintIndexType
		}
		return fmt.Errorf("writing %s:%s: %w", cp.target, ref, err)
	}
	drain(ctx, resp)
	return nil
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
