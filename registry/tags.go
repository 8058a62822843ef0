package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TagDigest reads where a tag of repository r points now; empty when the
// tag (or the repository) does not exist. It asks the registry itself,
// never a pull mirror: where a tag points decides what is written.
func (c *Client) TagDigest(ctx context.Context, r Repo, tag string) (digest.Digest, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodHead,
		repo:   r,
		path:   "manifests/" + tag,
		header: http.Header{"Accept": {manifestAccept}},
		caps:   docker.HostCapabilityResolve,
		own:    true,
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
	doc, err := c.readManifest(ctx, r, tag, true) // no digest header: read the document
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

// MaxTags caps the tags ListTags reads.
const MaxTags = 100000

// ListTags lists the tags of repository r, every page (the registry's Link
// header), at most MaxTags; a repository that does not exist has none.
func (c *Client) ListTags(ctx context.Context, r Repo) ([]string, error) {
	var tags []string
	query := url.Values{"n": {"10000"}}
	for page := 0; ; page++ {
		resp, err := c.do(ctx, request{
			method: http.MethodGet,
			repo:   r,
			path:   "tags/list",
			query:  query,
			caps:   docker.HostCapabilityPull,
		}, http.StatusOK)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if e, ok := errors.AsType[*Error](err); ok && e.StatusCode == http.StatusBadRequest && page == 0 && query.Has("n") {
			// A registry that refuses a page size this large: its own.
			query = url.Values{}
			page--
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing the tags of %s: %w", r, err)
		}
		var list struct {
			Tags []string `json:"tags"`
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, MaxManifestSize+1))
		link := resp.Header.Get("Link")
		drain(ctx, resp)
		if err != nil {
			return nil, transportError(resp.Request, err)
		}
		if len(data) > MaxManifestSize {
			return nil, fmt.Errorf("the tags of %s: a list larger than %d bytes", r, MaxManifestSize)
		}
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("the tags of %s: %w", r, err)
		}
		tags = append(tags, list.Tags...)
		if len(tags) > MaxTags {
			return nil, fmt.Errorf("%s has more than %d tags", r, MaxTags)
		}
		next := nextPage(link)
		if next == nil || len(list.Tags) == 0 {
			return tags, nil
		}
		query = next
	}
}

// nextPage reads the query of the next page from a Link header
// (</v2/name/tags/list?n=1000&last=x>; rel="next").
func nextPage(link string) url.Values {
	target, rest, ok := strings.Cut(link, ">")
	if !ok || !strings.Contains(rest, `rel="next"`) {
		return nil
	}
	u, err := url.Parse(strings.TrimPrefix(strings.TrimSpace(target), "<"))
	if err != nil || u.Query().Get("last") == "" {
		return nil
	}
	return u.Query()
}

// Head reads what ref (a tag or a digest) names in repository r without
// reading it: its digest, media type and size, from the answer's
// Docker-Content-Digest, Content-Type and Content-Length. A registry
// counts a HEAD in no pull budget (Docker Hub counts manifest GETs). The
// descriptor is the registry's word, not verified bytes: the digest is
// empty when the registry does not say it, and a caller that needs the
// bytes reads them by that digest.
func (c *Client) Head(ctx context.Context, r Repo, ref string) (ocispec.Descriptor, error) {
	caps := docker.HostCapabilityPull
	if _, err := digest.Parse(ref); err != nil {
		caps |= docker.HostCapabilityResolve
	}
	resp, err := c.do(ctx, request{
		method: http.MethodHead,
		repo:   r,
		path:   "manifests/" + ref,
		header: http.Header{"Accept": {manifestAccept}},
		caps:   caps,
	}, http.StatusOK)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	drain(ctx, resp)
	d := ocispec.Descriptor{Size: resp.ContentLength}
	d.MediaType, _, _ = strings.Cut(resp.Header.Get("Content-Type"), ";")
	d.MediaType = strings.TrimSpace(d.MediaType)
	if h := digest.Digest(resp.Header.Get("Docker-Content-Digest")); h.Validate() == nil {
		d.Digest = h
	}
	return d, nil
}
