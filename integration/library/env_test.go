// Package library tests the registry library of manifest-push against
// the real distribution registry, embedded, behind the counting proxy.
package library

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/libtest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// env is a registry with the proxy in front of it. Test images are pushed
// to the registry directly, so the proxy counts only the library's
// requests.
type env struct {
	*clitest.Env
	t *testing.T
	// configs is the test's config cache, as the CLI keeps one in the
	// user's cache directory: pushes in one test share it.
	configs publish.ConfigCache
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, registrytest.Options{})
}

func newEnvWith(t *testing.T, opts registrytest.Options) *env {
	t.Helper()
	return &env{Env: clitest.NewEnv(t, opts), t: t, configs: publish.MemoryCache()}
}

// image pushes a one-layer image to repo:tag and returns its descriptor.
func (e *env) image(repo, tag string, p ocispec.Platform, f imagetest.Format) ocispec.Descriptor {
	e.t.Helper()
	return e.Push(repo, tag, imagetest.Image{Platform: p, Format: f})
}

// ref names repo:tag on the proxy.
func (e *env) ref(s string) reference.Named {
	e.t.Helper()
	n, err := reference.ParseNormalizedNamed(e.Proxy.Host() + "/" + s)
	if err != nil {
		e.t.Fatal(err)
	}
	return reference.TagNameOnly(n)
}

func (e *env) spec(target string, tags []string, entries ...spec.Entry) *spec.Spec {
	return &spec.Spec{Name: "test", Target: e.ref(target).(reference.NamedTagged), Tags: tags, Manifests: entries}
}

func (e *env) entry(image string, p *ocispec.Platform) spec.Entry {
	return spec.Entry{Image: e.ref(image), Platform: p}
}

func (e *env) opts() libtest.Options {
	return libtest.Options{ClientOptions: registry.Options{PlainHTTP: true, DockerConfig: e.t.TempDir()}, PushOptions: publish.Options{Configs: e.configs}}
}

// hasImage checks that the manifest d and all its blobs are in repo.
func (e *env) hasImage(repo string, d digest.Digest) {
	e.t.Helper()
	ctx := context.Background()
	_, body, _, err := imagetest.GetManifest(ctx, e.Client, e.Registry.URL(), repo, d.String())
	if err != nil {
		e.t.Fatalf("manifest %s not in %s: %v", d, repo, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		e.t.Fatal(err)
	}
	for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		ok, err := imagetest.BlobExists(ctx, e.Client, e.Registry.URL(), repo, b.Digest)
		if err != nil || !ok {
			e.t.Errorf("blob %s of %s not in %s (%v)", b.Digest, d, repo, err)
		}
	}
}

func linux(arch, variant string) *ocispec.Platform {
	return &ocispec.Platform{OS: "linux", Architecture: arch, Variant: variant}
}
