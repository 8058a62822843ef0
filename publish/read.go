package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxConfigSize is the largest image config read.
const maxConfigSize = 8 << 20

// maxGraphBytes bounds the manifests and indexes one operation reads, in
// all: each is kept for the operation (read once), so a graph of many
// large documents (10,000 nested indexes of 4 MiB each) is refused, not
// held. A real multi-platform image is far below it (an index of 256
// entries and its manifests: about a megabyte).
const maxGraphBytes = 32 << 20

// errTooManyBytes: the documents of the graph exceed maxGraphBytes.
var errTooManyBytes = fmt.Errorf("manifests and indexes of more than %d MiB in all: refused", maxGraphBytes>>20)

// reader reads manifests, indexes and configs through a Registry, each
// digest once per operation.
type reader struct {
	reg Registry
	// bytes counts the document bytes read (see maxGraphBytes).
	bytes atomic.Int64
	// strict judges every source by its own config (StrictPlatform): no
	// entry of the target's index describes one.
	strict bool
	// configs remembers the platforms of image configs read (nil: none).
	configs   ConfigCache
	docs      memo[registry.Document]
	platforms memo[*ocispec.Platform]
	// layouts are the OCI image layouts the operation reads, by path.
	layouts layouts
}

// place is where a graph's manifests and blobs are read: a repository of
// the registry, or an OCI image layout. Both are content.Fetchers; the use
// cases read every source through one and never ask which it is.
type place interface {
	content.Fetcher
	// String names it in messages, and tells places apart: REGISTRY/REPO,
	// or oci-layout:PATH.
	String() string
	// fetcher is what the registry client copies blobs from
	// (registry.Client.CopyBlob: it mounts from a repository of its own).
	fetcher() content.Fetcher
	// referrers lists what refers to subject there (nothing, where nothing
	// can: a layout keeps no referrers).
	referrers(ctx context.Context, subject digest.Digest) ([]registry.Referrer, error)
	// vouch makes sure, before anything is written, that the blobs of
	// manifest d can be copied whole from there: a registry repository
	// vouches for what it holds (nothing read); a layout reads each blob to
	// its end.
	vouch(ctx context.Context, rd *reader, d digest.Digest) error
}

// repoPlace is a registry repository as a place.
type repoPlace struct {
	content.Fetcher
	reg  Registry
	repo registry.Repo
}

func (p repoPlace) String() string           { return p.repo.String() }
func (p repoPlace) fetcher() content.Fetcher { return p.Fetcher }
func (p repoPlace) referrers(ctx context.Context, subject digest.Digest) ([]registry.Referrer, error) {
	return p.reg.Referrers(ctx, p.repo, subject)
}
func (repoPlace) vouch(context.Context, *reader, digest.Digest) error { return nil }

// at is repository r as a place to read from.
func (rd *reader) at(r registry.Repo) place {
	return repoPlace{Fetcher: rd.reg.Repository(r), reg: rd.reg, repo: r}
}

// same reports whether a and b are one place.
func same(a place, b registry.Repo) bool { return a.String() == b.String() }

// document reads what ref names: by digest when it has one, else by tag
// (latest when it has neither).
func (rd *reader) document(ctx context.Context, ref reference.Named) (registry.Document, error) {
	r := registry.RepoOf(ref)
	if d, ok := ref.(reference.Digested); ok {
		return rd.byDigest(ctx, rd.at(r), d.Digest())
	}
	tag := "latest"
	if t, ok := ref.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return rd.byTag(ctx, r, tag)
}

// byTag reads the manifest or index a tag points at; its digest is
// remembered for later reads by digest.
func (rd *reader) byTag(ctx context.Context, r registry.Repo, tag string) (registry.Document, error) {
	doc, err := rd.reg.ReadManifest(ctx, r, tag)
	if err == nil {
		err = rd.count(doc)
	}
	if err != nil {
		return registry.Document{}, err
	}
	rd.docs.put(doc.Desc.Digest, doc)
	return doc, nil
}

// byDigest reads the manifest or index d from p, verified against d.
func (rd *reader) byDigest(ctx context.Context, p place, d digest.Digest) (registry.Document, error) {
	return rd.docs.do(ctx, d, func() (registry.Document, error) {
		doc, err := p.ReadManifest(ctx, d)
		if err == nil {
			err = rd.count(doc)
		}
		return doc, err
	})
}

// platform reads the config of an image manifest, verified, and gives the
// platform it declares, as the registry holds it (not normalised).
func (rd *reader) platform(ctx context.Context, at place, config ocispec.Descriptor) (*ocispec.Platform, error) {
	return rd.platforms.do(ctx, config.Digest, func() (*ocispec.Platform, error) {
		data, err := at.ReadBlob(ctx, config, maxConfigSize)
		if err != nil {
			return nil, err
		}
		var p ocispec.Platform // an image config has the platform fields at its top level
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("%s@%s: reading the image config: %w", at, config.Digest, err)
		}
		return &p, nil
	})
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
			if c.err != nil && ctx.Err() == nil && (errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded)) {
				// Its caller's work was cancelled, not this one's: try
				// again (a failure is not remembered).
				return m.do(ctx, d, fn)
			}
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

// config is the platform remembered for image manifest d.
func (rd *reader) config(d digest.Digest) (ocispec.Platform, bool) {
	if rd.configs == nil {
		return ocispec.Platform{}, false
	}
	return rd.configs.Config(d)
}

// remember keeps the platform of image manifest d's config, read and
// verified.
func (rd *reader) remember(d digest.Digest, p ocispec.Platform) {
	if rd.configs != nil {
		rd.configs.PutConfig(d, p)
	}
}

// count adds doc to the bytes read, and fails once they exceed
// maxGraphBytes.
func (rd *reader) count(doc registry.Document) error {
	if rd.bytes.Add(int64(len(doc.Data))) > maxGraphBytes {
		return errTooManyBytes
	}
	return nil
}
