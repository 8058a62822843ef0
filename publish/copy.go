package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
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
	target registry.Repo
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
	from   registry.Repo
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
	ok, err := cp.rd.reg.HasManifest(ctx, cp.target, ch.desc.Digest)
	if err != nil || ok {
		return false, err
	}
	return true, cp.copyManifest(ctx, ch)
}

// copyManifest copies a manifest known to be missing: the blobs of an image
// manifest, or the children of an index, then the manifest itself.
func (cp *copier) copyManifest(ctx context.Context, ch child) error {
	return cp.copyAs(ctx, ch, ch.desc.Digest.String())
}

// copyAs is copyManifest writing the manifest under ref (its digest, or a
// tag).
func (cp *copier) copyAs(ctx context.Context, ch child, ref string) error {
	doc, err := cp.rd.byDigest(ctx, ch.from, ch.desc.Digest)
	if err != nil {
		return err
	}
	if plan.IsIndex(doc.Desc.MediaType) {
		var idx ocispec.Index
		if err := json.Unmarshal(doc.Data, &idx); err != nil {
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
		if err := json.Unmarshal(doc.Data, &m); err != nil {
			return fmt.Errorf("reading the manifest: %w", err)
		}
		if err := cp.blobs(ctx, ch, append([]ocispec.Descriptor{m.Config}, m.Layers...)); err != nil {
			return err
		}
	}
	return cp.rd.reg.PutManifest(ctx, cp.target, ref, doc)
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
	var streamed int64
	_, err := cp.blobsIn.do(ctx, d.Digest, func() (struct{}, error) {
		var err error
		streamed, err = cp.rd.reg.CopyBlob(ctx, ch.from, cp.target, d, cp.progress.meter(ch.source, d))
		return struct{}{}, err
	})
	if err != nil {
		return err
	}
	cp.progress.done(ch.source, d, streamed)
	return nil
}
