package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/manifest-push/manifest-push/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// MaxManifestSize is the largest manifest or index ReadManifest reads.
const MaxManifestSize = content.MaxManifestSize

// manifestAccept lists every manifest media type manifest-push reads.
const manifestAccept = ocispec.MediaTypeImageIndex + ", " + images.MediaTypeDockerSchema2ManifestList + ", " +
	ocispec.MediaTypeImageManifest + ", " + images.MediaTypeDockerSchema2Manifest

// ReadManifest reads the manifest or index that ref (a tag or a digest)
// names in repository r, at most MaxManifestSize bytes. By digest, the bytes
// must have that digest; by tag, the digest is computed from the bytes, and
// a Docker-Content-Digest header that disagrees is an ErrDigestMismatch.
// The media type is the one the document states, else the response's
// Content-Type, else what its fields say; a manifest that is neither an
// image manifest nor an index is ErrUnsupported. A repository the context
// pushes to (WithScope) is read from the registry itself, never from a
// pull mirror.
func (c *Client) ReadManifest(ctx context.Context, r Repo, ref string) (Document, error) {
	return c.readManifest(ctx, r, ref, false)
}

// readManifest is ReadManifest; own asks the registry itself.
func (c *Client) readManifest(ctx context.Context, r Repo, ref string, own bool) (Document, error) {
	want, err := digest.Parse(ref)
	if err != nil {
		want = ""
	}
	caps := docker.HostCapabilityPull
	if want == "" {
		caps |= docker.HostCapabilityResolve
	}
	resp, err := c.do(ctx, request{
		method: http.MethodGet,
		repo:   r,
		path:   "manifests/" + ref,
		header: http.Header{"Accept": {manifestAccept}},
		caps:   caps,
		own:    own,
	}, http.StatusOK)
	if err != nil {
		return Document{}, err
	}
	defer drain(ctx, resp)
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxManifestSize+1))
	if err != nil {
		return Document{}, transportError(resp.Request, err)
	}
	if len(data) > MaxManifestSize {
		return Document{}, fmt.Errorf("%s: manifest larger than %d bytes", refString(r, ref), MaxManifestSize)
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
		return Document{}, fmt.Errorf("%s: digest algorithm %s: %w", refString(r, ref), alg, ErrUnsupported)
	}
	got := alg.FromBytes(data)
	if want != "" && got != want {
		return Document{}, fmt.Errorf("%s@%s: content has digest %s: %w", r, want, got, ErrDigestMismatch)
	}
	if header != "" && header != got && !sameContent(header, got, data) {
		return Document{}, fmt.Errorf("%s: registry says %s, content has digest %s: %w", refString(r, ref), header, got, ErrDigestMismatch)
	}
	mt, err := content.MediaTypeWith(data, resp.Header.Get("Content-Type"))
	if err != nil {
		return Document{}, fmt.Errorf("%s: %w", refString(r, ref), err)
	}
	return Document{Desc: ocispec.Descriptor{MediaType: mt, Digest: got, Size: int64(len(data))}, Data: data}, nil
}

// sameContent reports whether header, a registry's Docker-Content-Digest
// in another algorithm than got (a registry that answers sha256 for a
// manifest read by its sha512 digest: go-containerregistry's), is the
// digest of data all the same.
func sameContent(header, got digest.Digest, data []byte) bool {
	alg := header.Algorithm()
	return header.Validate() == nil && alg != got.Algorithm() && alg.Available() && alg.FromBytes(data) == header
}

// ReadBlob reads a small blob (a config) of repository r, verified against
// its descriptor; one larger than limit bytes is refused unread.
func (c *Client) ReadBlob(ctx context.Context, r Repo, d ocispec.Descriptor, limit int64) ([]byte, error) {
	if d.Size > limit {
		return nil, fmt.Errorf("%s@%s: blob of %d bytes, more than the %d read into memory", r, d.Digest, d.Size, limit)
	}
	if err := d.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", r, err)
	}
	resp, err := c.do(ctx, request{
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
