package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Limits on what is read into memory.
const (
	maxManifestSize = 4 << 20
	maxConfigSize   = 8 << 20
)

// manifestAccept lists every manifest media type manifest-push reads.
const manifestAccept = ocispec.MediaTypeImageIndex + ", " + plan.MediaTypeDockerManifestList + ", " +
	ocispec.MediaTypeImageManifest + ", " + plan.MediaTypeDockerManifest

// document is a manifest or an index whose bytes were verified against its
// digest.
type document struct {
	desc ocispec.Descriptor
	data []byte
}

// memo runs a function once per digest and remembers its result; a failure
// is forgotten, so the next caller tries again (perhaps from another
// repository).
type memo[T any] struct {
	mu sync.Mutex
	m  map[digest.Digest]*memoCall[T]
}

type memoCall[T any] struct {
	done chan struct{}
	v    T
	err  error
}

func (m *memo[T]) do(ctx context.Context, d digest.Digest, fn func() (T, error)) (T, error) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[digest.Digest]*memoCall[T]{}
	}
	if c, ok := m.m[d]; ok {
		m.mu.Unlock()
		select {
		case <-c.done:
			return c.v, c.err
		case <-ctx.Done():
			var zero T
			return zero, context.Cause(ctx)
		}
	}
	c := &memoCall[T]{done: make(chan struct{})}
	m.m[d] = c
	m.mu.Unlock()
	c.v, c.err = fn()
	if c.err != nil {
		m.mu.Lock()
		delete(m.m, d)
		m.mu.Unlock()
	}
	close(c.done)
	return c.v, c.err
}

// put remembers v for d, unless something is remembered already.
func (m *memo[T]) put(d digest.Digest, v T) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[digest.Digest]*memoCall[T]{}
	}
	if _, ok := m.m[d]; ok {
		return
	}
	c := &memoCall[T]{done: make(chan struct{}), v: v}
	close(c.done)
	m.m[d] = c
}

// reader reads manifests, indexes and configs, verified, each digest once.
type reader struct {
	c         *client
	docs      memo[document]
	platforms memo[*ocispec.Platform]
}

// byTag reads the manifest or index a tag points at, and computes its
// digest from the bytes. A Docker-Content-Digest header that disagrees is
// a mismatch.
func (rd *reader) byTag(ctx context.Context, r repo, tag string) (document, error) {
	doc, err := rd.get(ctx, r, tag, "")
	if err != nil {
		return document{}, err
	}
	rd.docs.put(doc.desc.Digest, doc)
	return doc, nil
}

// byDigest reads the manifest or index d from r, verified against d.
func (rd *reader) byDigest(ctx context.Context, r repo, d digest.Digest) (document, error) {
	return rd.docs.do(ctx, d, func() (document, error) {
		return rd.get(ctx, r, d.String(), d)
	})
}

func (rd *reader) get(ctx context.Context, r repo, ref string, want digest.Digest) (document, error) {
	caps := docker.HostCapabilityPull
	if want == "" {
		caps |= docker.HostCapabilityResolve
	}
	resp, err := rd.c.do(ctx, request{
		method: http.MethodGet,
		repo:   r,
		path:   "manifests/" + ref,
		header: http.Header{"Accept": {manifestAccept}},
		caps:   caps,
	}, http.StatusOK)
	if err != nil {
		return document{}, err
	}
	defer drain(ctx, resp)
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return document{}, transportError(resp.Request, err)
	}
	if len(data) > maxManifestSize {
		return document{}, fmt.Errorf("%s:%s: manifest larger than %d bytes", r, ref, maxManifestSize)
	}
	header := digest.Digest(resp.Header.Get("Docker-Content-Digest"))
	alg := digest.Canonical
	switch {
	case want != "":
		alg = want.Algorithm()
	case header != "" && header.Validate() == nil:
		alg = header.Algorithm()
	}
	if !alg.Available() {
		return document{}, fmt.Errorf("%s:%s: digest algorithm %s: %w", r, ref, alg, ErrUnsupported)
	}
	got := alg.FromBytes(data)
	if want != "" && got != want {
		return document{}, fmt.Errorf("%s@%s: content has digest %s: %w", r, want, got, ErrDigestMismatch)
	}
	if header != "" && header != got {
		return document{}, fmt.Errorf("%s:%s: registry says %s, content has digest %s: %w", r, ref, header, got, ErrDigestMismatch)
	}
	mt, err := mediaTypeOf(data, resp.Header.Get("Content-Type"))
	if err != nil {
		return document{}, fmt.Errorf("%s:%s: %w", r, ref, err)
	}
	return document{desc: ocispec.Descriptor{MediaType: mt, Digest: got, Size: int64(len(data))}, data: data}, nil
}

// mediaTypeOf tells a manifest's media type: the one the document states,
// else the response's Content-Type, else what its fields say.
func mediaTypeOf(data []byte, contentType string) (string, error) {
	var probe struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     string          `json:"mediaType"`
		Manifests     json.RawMessage `json:"manifests"`
		Config        json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return "", fmt.Errorf("not a manifest: %w", err)
	}
	mt := probe.MediaType
	if mt == "" {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.TrimSpace(mt)
	}
	if !plan.IsIndex(mt) && !plan.IsManifest(mt) {
		switch {
		case probe.SchemaVersion == 2 && probe.Manifests != nil:
			mt = ocispec.MediaTypeImageIndex
		case probe.SchemaVersion == 2 && probe.Config != nil:
			mt = ocispec.MediaTypeImageManifest
		default:
			return "", fmt.Errorf("manifest of media type %q (schema %d): %w", mt, probe.SchemaVersion, ErrUnsupported)
		}
	}
	return mt, nil
}

// platform reads the config of an image manifest, verified, and gives the
// platform it declares.
func (rd *reader) platform(ctx context.Context, r repo, config ocispec.Descriptor) (*ocispec.Platform, error) {
	return rd.platforms.do(ctx, config.Digest, func() (*ocispec.Platform, error) {
		data, err := rd.blob(ctx, r, config, maxConfigSize)
		if err != nil {
			return nil, err
		}
		var p ocispec.Platform // an image config has the platform fields at its top level
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("%s@%s: reading the image config: %w", r, config.Digest, err)
		}
		return &p, nil
	})
}

// blob reads a small blob, verified against its descriptor.
func (rd *reader) blob(ctx context.Context, r repo, d ocispec.Descriptor, limit int64) ([]byte, error) {
	if d.Size > limit {
		return nil, fmt.Errorf("%s@%s: blob of %d bytes, more than the %d read into memory", r, d.Digest, d.Size, limit)
	}
	if err := d.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", r, err)
	}
	resp, err := rd.c.do(ctx, request{
		method: http.MethodGet,
		repo:   r,
		path:   "blobs/" + d.Digest.String(),
		caps:   docker.HostCapabilityPull,
	}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	defer drain(ctx, resp)
	data, err := io.ReadAll(io.LimitReader(resp.Body, d.Size+1))
	if err != nil {
		return nil, transportError(resp.Request, err)
	}
	if int64(len(data)) != d.Size || d.Digest.Algorithm().FromBytes(data) != d.Digest {
		return nil, fmt.Errorf("%s@%s: content read does not match the digest and size %d: %w", r, d.Digest, d.Size, ErrDigestMismatch)
	}
	return data, nil
}

// verifier checks a stream against a descriptor as it is read: at its end,
// a wrong size or digest is an ErrDigestMismatch error.
type verifier struct {
	r    io.Reader
	d    ocispec.Descriptor
	v    digest.Verifier
	read int64
}

func newVerifier(r io.Reader, d ocispec.Descriptor) *verifier {
	return &verifier{r: io.LimitReader(r, d.Size+1), d: d, v: d.Digest.Verifier()}
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.read += int64(n)
	if _, werr := v.v.Write(p[:n]); werr != nil {
		return n, werr
	}
	if err == io.EOF && (v.read != v.d.Size || !v.v.Verified()) {
		return n, fmt.Errorf("blob %s: content read does not match the digest and size %d: %w", v.d.Digest, v.d.Size, ErrDigestMismatch)
	}
	return n, err
}
