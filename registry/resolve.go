package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxNesting bounds how deep indexes inside an index are followed.
const maxNesting = 8

// document reads what ref names: by digest when it has one, else by tag
// (latest when it has neither).
func (rd *reader) document(ctx context.Context, ref reference.Named) (document, error) {
	r := repoOf(ref)
	if d, ok := ref.(reference.Digested); ok {
		return rd.byDigest(ctx, r, d.Digest())
	}
	tag := "latest"
	if t, ok := ref.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return rd.byTag(ctx, r, tag)
}

// source resolves one spec entry: the manifest or index it names, then the
// image config of a manifest, or the entries of an index (nested indexes
// flattened, attestation manifests kept). With ignoreMissing, a source the
// registry says does not exist comes back marked Missing.
func (rd *reader) source(ctx context.Context, e spec.Entry, ignoreMissing bool) (plan.Source, error) {
	src := plan.Source{Entry: e, Repository: e.Image.Name()}
	doc, err := rd.document(ctx, e.Image)
	if err != nil {
		if ignoreMissing && errors.Is(err, ErrNotFound) {
			src.Missing = true
			return src, nil
		}
		return src, fmt.Errorf("source %s: %w", e.Image, err)
	}
	src.Descriptor = doc.desc
	r := repoOf(e.Image)
	switch {
	case plan.IsIndex(doc.desc.MediaType):
		src.Children, err = rd.children(ctx, r, doc, 0)
	default:
		var m ocispec.Manifest
		if err = json.Unmarshal(doc.data, &m); err != nil {
			err = fmt.Errorf("reading the manifest: %w", err)
			break
		}
		src.Config, err = rd.platform(ctx, r, m.Config)
	}
	if err != nil {
		return src, fmt.Errorf("source %s: %w", e.Image, err)
	}
	return src, nil
}

// children lists an index's entries in order, replacing each nested index
// by its own entries.
func (rd *reader) children(ctx context.Context, r repo, doc document, depth int) ([]ocispec.Descriptor, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("indexes nested more than %d deep", maxNesting)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(doc.data, &idx); err != nil {
		return nil, fmt.Errorf("reading the index %s: %w", doc.desc.Digest, err)
	}
	var out []ocispec.Descriptor
	for _, d := range idx.Manifests {
		if !plan.IsIndex(d.MediaType) {
			out = append(out, d)
			continue
		}
		nested, err := rd.byDigest(ctx, r, d.Digest)
		if err != nil {
			return nil, err
		}
		if nested.desc.Size != d.Size {
			return nil, fmt.Errorf("index %s: size %d, the parent says %d: %w", d.Digest, nested.desc.Size, d.Size, ErrDigestMismatch)
		}
		cs, err := rd.children(ctx, r, nested, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// tagDigest reads where a tag points now; empty when it does not exist.
func (rd *reader) tagDigest(ctx context.Context, r repo, tag string) (digest.Digest, error) {
	resp, err := rd.c.do(ctx, request{
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
	doc, err := rd.byTag(ctx, r, tag) // no digest header: read the document
	if err != nil {
		return "", err
	}
	return doc.desc.Digest, nil
}

// exists reports whether the manifest d is in repository r.
func (rd *reader) exists(ctx context.Context, r repo, d ocispec.Descriptor) (bool, error) {
	resp, err := rd.c.do(ctx, request{
		method: http.MethodHead,
		repo:   r,
		path:   "manifests/" + d.Digest.String(),
		header: http.Header{"Accept": {manifestAccept}},
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
