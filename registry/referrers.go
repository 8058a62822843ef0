package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	if err := d.Validate(); err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{
		method: http.MethodGet,
		repo:   r,
		path:   "referrers/" + d.String(),
		header: http.Header{"Accept": {ocispec.MediaTypeImageIndex}},
		caps:   docker.HostCapabilityPull,
	}, http.StatusOK, http.StatusNotFound)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("listing the referrers of %s@%s: %w", r, d, err)
	}
	if err == nil {
		defer drain(ctx, resp)
		ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
		if resp.StatusCode == http.StatusOK && strings.TrimSpace(ct) == ocispec.MediaTypeImageIndex {
			data, err := io.ReadAll(io.LimitReader(resp.Body, MaxManifestSize+1))
			if err != nil {
				return nil, transportError(resp.Request, err)
			}
			if len(data) > MaxManifestSize {
				return nil, fmt.Errorf("the referrers of %s@%s: a list larger than %d bytes", r, d, MaxManifestSize)
			}
			return referrersOf(data)
		}
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
