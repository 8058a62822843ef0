package publish

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ConfigCache remembers, by the digest of an image manifest, the platform
// its config declares (as the registry holds it, not normalised). A
// manifest's digest fixes its config's digest, and so that platform: an
// entry is true for ever. A rerun whose source is in the target's index
// already then gets the platform a fresh push would read without reading
// the manifest or its config (a registry such as Docker Hub counts each
// manifest GET as a pull): the index it builds is the one a fresh target
// gets, with the same warnings (docs/rules.md, "Reruns").
type ConfigCache interface {
	// Config returns the platform remembered for manifest d.
	Config(d digest.Digest) (ocispec.Platform, bool)
	// PutConfig remembers the platform of manifest d, read and verified.
	PutConfig(d digest.Digest, p ocispec.Platform)
}

// DirCache is a ConfigCache kept in a directory (the CLI uses the user's
// cache directory), one small file per manifest digest. A file that cannot
// be read or written is a miss: the source is read from the registry.
func DirCache(dir string) ConfigCache { return dirCache(dir) }

type dirCache string

func (c dirCache) path(d digest.Digest) (string, bool) {
	if d.Validate() != nil {
		return "", false
	}
	return filepath.Join(string(c), d.Algorithm().String(), d.Encoded()+".json"), true
}

func (c dirCache) Config(d digest.Digest) (ocispec.Platform, bool) {
	var p ocispec.Platform
	path, ok := c.path(d)
	if !ok {
		return p, false
	}
	data, err := os.ReadFile(path)
	if err != nil || len(data) > 64<<10 || json.Unmarshal(data, &p) != nil || p.OS == "" || p.Architecture == "" {
		return ocispec.Platform{}, false
	}
	return p, true
}

func (c dirCache) PutConfig(d digest.Digest, p ocispec.Platform) {
	path, ok := c.path(d)
	if !ok {
		return
	}
	data, err := json.Marshal(p)
	if err != nil || os.MkdirAll(filepath.Dir(path), 0o700) != nil {
		return
	}
	// Written whole, then renamed: a reader never sees half a file.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		_ = os.Remove(tmp.Name()) // a miss next time: nothing lost
	}
}

// MemoryCache is a ConfigCache in memory, for a Go program that pushes
// several times in one process.
func MemoryCache() ConfigCache { return &memCache{m: map[digest.Digest]ocispec.Platform{}} }

type memCache struct {
	mu sync.Mutex
	m  map[digest.Digest]ocispec.Platform
}

func (c *memCache) Config(d digest.Digest) (ocispec.Platform, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[d]
	return p, ok
}

func (c *memCache) PutConfig(d digest.Digest, p ocispec.Platform) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[d] = p
}
