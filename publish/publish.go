// Package publish holds manifest-push's use cases: Push (resolve every
// source, build the index, write what the target lacks) and Inspect. Each
// reads through a Registry, asks the pure planner (package plan) what to
// write, and writes through the Registry, in the order docs/rules.md gives.
//
// A Go program embeds manifest-push by building one registry.Client for its
// run and calling these functions with it (Push, Inspect, Verify):
//
//	c := registry.NewClient(registry.Options{})
//	res, err := publish.Push(ctx, c, s, publish.Options{})
package publish

import (
	"context"
	"errors"

	"github.com/manifest-push/manifest-push/content"

	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Registry is what the use cases need of a registry: the primitive
// operations of *registry.Client. Tests of the decision logic pass a fake.
// None of them hands back state for the caller to pass in again.
type Registry interface {
	// Repository reads repository r (manifests by digest, blobs), verified:
	// a content.Fetcher, as an OCI layout is one.
	Repository(r registry.Repo) content.Fetcher
	// ReadManifest reads a manifest or index by tag or digest, verified.
	ReadManifest(ctx context.Context, r registry.Repo, ref string) (registry.Document, error)
	// Head reads the descriptor of what a tag or digest names, without
	// reading the document (no pull counted); what is not there wraps
	// registry.ErrNotFound.
	Head(ctx context.Context, r registry.Repo, ref string) (ocispec.Descriptor, error)
	// HasBlob reports whether a blob is in a repository.
	HasBlob(ctx context.Context, r registry.Repo, d digest.Digest) (bool, error)
	// CopyBlob brings a blob from a place (a Repository of this registry
	// client, or another content.Fetcher such as a layout) into a
	// repository (mount or stream) and returns the bytes streamed.
	CopyBlob(ctx context.Context, from content.Fetcher, to registry.Repo, d ocispec.Descriptor, newMeter func() registry.Meter) (int64, error)
	// PutManifest writes a manifest or index under a digest or tag.
	PutManifest(ctx context.Context, r registry.Repo, ref string, doc registry.Document) error
	// PutTagged writes a manifest or index under its digest and asks the
	// registry to point tags at it in the same request; it returns the
	// tags the registry confirmed. Tags not confirmed are the caller's to
	// write one by one (PutManifest).
	PutTagged(ctx context.Context, r registry.Repo, doc registry.Document, tags []string) ([]string, error)
	// Referrers lists what refers to a manifest in a repository: OCI
	// referrers (API or tag schema) and cosign tags.
	Referrers(ctx context.Context, r registry.Repo, subject digest.Digest) ([]registry.Referrer, error)
	// AddReferrers writes referrers of a manifest into a repository so
	// that Referrers finds them there.
	AddReferrers(ctx context.Context, r registry.Repo, subject digest.Digest, add []registry.Attachment) error
}

var _ Registry = (*registry.Client)(nil)

// tagDigest reads where tag points in r (a HEAD, or the document when the
// registry gives no digest); empty when the tag does not exist.
func tagDigest(ctx context.Context, reg Registry, r registry.Repo, tag string) (digest.Digest, error) {
	d, err := reg.Head(ctx, r, tag)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return "", nil
	case err != nil:
		return "", err
	case d.Digest != "":
		return d.Digest, nil
	}
	doc, err := reg.ReadManifest(ctx, r, tag)
	if errors.Is(err, registry.ErrNotFound) {
		return "", nil
	}
	return doc.Desc.Digest, err
}

// hasManifest reports whether manifest d is in r.
func hasManifest(ctx context.Context, reg Registry, r registry.Repo, d digest.Digest) (bool, error) {
	_, err := reg.Head(ctx, r, d.String())
	if errors.Is(err, registry.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
