package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/opencontainers/go-digest"
)

// TagDigest reads where a tag of repository r points now; empty when the
// tag (or the repository) does not exist.
func (c *Client) TagDigest(ctx context.Context, r Repo, tag string) (digest.Digest, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodHead,
		repo:   r,
		path:   "manifests/" + tag,
		header: http.Header{"Accept": {manifestAccept}},
		caps:   docker.HostCapabilityResolve,
	}, http.StatusOK, http.StatusNotFound)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", nil
		}
		return "", err
	}
	drain(ctx, resp)
	if resp.StatusCode == http.StatusNotFound {
		return "", nil
	}
	if d := digest.Digest(resp.Header.Get("Docker-Content-Digest")); d.Validate() == nil {
		return d, nil
	}
	doc, err := c.ReadManifest(ctx, r, tag) // no digest header: read the document
	if err != nil {
		return "", err
	}
	return doc.Desc.Digest, nil
}

// HasManifest reports whether the manifest d is in repository r. It asks
// the registry itself (the host that takes writes), not a mirror.
func (c *Client) HasManifest(ctx context.Context, r Repo, d digest.Digest) (bool, error) {
	return c.has(ctx, r, "manifests/"+d.String(), http.Header{"Accept": {manifestAccept}})
}

// HasBlob reports whether repository r has the blob d, asking the registry
// itself.
func (c *Client) HasBlob(ctx context.Context, r Repo, d digest.Digest) (bool, error) {
	ok, err := c.has(ctx, r, "blobs/"+d.String(), nil)
	if err != nil {
		return false, fmt.Errorf("looking for blob %s in %s: %w", d, r, err)
	}
	return ok, nil
}

func (c *Client) has(ctx context.Context, r Repo, path string, header http.Header) (bool, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodHead,
		repo:   r,
		path:   path,
		header: header,
		caps:   docker.HostCapabilityPush,
	}, http.StatusOK, http.StatusNotFound)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	drain(ctx, resp)
	return resp.StatusCode == http.StatusOK, nil
}
