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

// Referrers lists the manifests of repository r whose subject is d (OCI
// image-spec 1.1 referrers: signatures, SBOMs, attestations), through the
// registry's referrers API (GET /v2/<name>/referrers/<digest>). A registry
// without the API answers 404; the list then comes from the referrers tag
// schema: the index tagged sha256-<hex> (for d = sha256:<hex>), none when
// that tag does not exist. The document read is at most MaxManifestSize.
func (c *Client) Referrers(ctx context.Context, r Repo, d digest.Digest) ([]ocispec.Descriptor, error) {
	descs, ok, err := c.ReferrersAPI(ctx, r, d)
	if err != nil || ok {
		return descs, err
	}
	doc, err := c.ReadManifest(ctx, r, ReferrersTag(d))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the referrers tag of %s@%s: %w", r, d, err)
	}
	return referrersOf(doc.Data)
}

// ReferrersAPI lists the referrers of d in r through the referrers API
// only. ok is false when the registry does not offer the API (it answers
// 404, or something other than an image index): the referrers tag schema
// is then where they are. A registry with the API answers an empty list for
// a digest nothing refers to; a repository that does not exist is a 404
// NAME_UNKNOWN from either kind, and reported as ok false with
// ErrNotFound's error nil.
func (c *Client) ReferrersAPI(ctx context.Context, r Repo, d digest.Digest) (descs []ocispec.Descriptor, ok bool, err error) {
	if err := d.Validate(); err != nil {
		return nil, false, err
	}
	resp, err := c.do(ctx, request{
		method: http.MethodGet,
		repo:   r,
		path:   "referrers/" + d.String(),
		header: http.Header{"Accept": {ocispec.MediaTypeImageIndex}},
		caps:   docker.HostCapabilityPull,
	}, http.StatusOK, http.StatusNotFound)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("listing the referrers of %s@%s: %w", r, d, err)
	}
	defer drain(ctx, resp)
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

// ReferrersTag is the tag of the referrers tag schema for d: its algorithm,
// a dash and its hex (sha256:abc… gives sha256-abc…).
func ReferrersTag(d digest.Digest) string {
	return d.Algorithm().String() + "-" + d.Encoded()
}

func referrersOf(data []byte) ([]ocispec.Descriptor, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("reading a referrers list: %w", err)
	}
	return idx.Manifests, nil
}
