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

	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Registry is what the use cases need of a registry: the primitive
// operations of *registry.Client. Tests of the decision logic pass a fake.
type Registry interface {
	// ReadManifest reads a manifest or index by tag or digest, verified.
	ReadManifest(ctx context.Context, r registry.Repo, ref string) (registry.Document, error)
	// ReadBlob reads a small blob, verified, refusing one over limit bytes.
	ReadBlob(ctx context.Context, r registry.Repo, d ocispec.Descriptor, limit int64) ([]byte, error)
	// Head reads the descriptor of what a tag or digest names, without
	// reading the document (no pull counted).
	Head(ctx context.Context, r registry.Repo, ref string) (ocispec.Descriptor, error)
	// TagDigest reads where a tag points; empty when it does not exist.
	TagDigest(ctx context.Context, r registry.Repo, tag string) (digest.Digest, error)
	// HasManifest reports whether a manifest is in a repository.
	HasManifest(ctx context.Context, r registry.Repo, d digest.Digest) (bool, error)
	// HasBlob reports whether a blob is in a repository.
	HasBlob(ctx context.Context, r registry.Repo, d digest.Digest) (bool, error)
	// CopyBlob brings a blob from one repository into another (mount or
	// stream) and returns the bytes streamed.
	CopyBlob(ctx context.Context, from, to registry.Repo, d ocispec.Descriptor, newMeter func() registry.Meter) (int64, error)
	// PushBlob uploads a blob from a stream (a layout's), unless the
	// repository has it.
	PushBlob(ctx context.Context, r registry.Repo, d ocispec.Descriptor, open registry.BlobOpener, newMeter func() registry.Meter) (int64, error)
	// PutManifest writes a manifest or index under a digest or tag.
	PutManifest(ctx context.Context, r registry.Repo, ref string, doc registry.Document) error
	// ScanReferrers reads how a repository keeps referrers (its tags,
	// whether it has the referrers API), once per operation.
	ScanReferrers(ctx context.Context, r registry.Repo) (registry.ReferrerScan, error)
	// Referrers lists what refers to a manifest in a scanned repository:
	// OCI referrers (API or tag schema) and cosign tags.
	Referrers(ctx context.Context, s registry.ReferrerScan, subject digest.Digest) ([]registry.Referrer, error)
	// AddReferrers writes referrers of a manifest into a scanned
	// repository so that Referrers finds them there.
	AddReferrers(ctx context.Context, s registry.ReferrerScan, subject digest.Digest, add []registry.Attachment) error
}

var _ Registry = (*registry.Client)(nil)
