// Package registrylib tests the registry library of manifest-push against
// the real distribution registry, embedded, behind the counting proxy.
package registrylib

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/integration/imagetest"
	"github.com/manifest-push/manifest-push/integration/proxy"
	"github.com/manifest-push/manifest-push/integration/registrytest"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// env is a registry with the proxy in front of it. Test images are pushed
// to the registry directly, so the proxy counts only the library's
// requests.
type env struct {
	t   *testing.T
	reg *registrytest.Registry
	px  *proxy.Proxy
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, registrytest.Options{})
}

func newEnvWith(t *testing.T, opts registrytest.Options) *env {
	t.Helper()
	reg, err := registrytest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	px, err := proxy.Start(reg.URL(), proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	return &env{t: t, reg: reg, px: px}
}

// image pushes a one-layer image to repo:tag and returns its descriptor.
func (e *env) image(repo, tag string, p ocispec.Platform, f imagetest.Format) ocispec.Descriptor {
	e.t.Helper()
	d, err := imagetest.PushImage(context.Background(), e.reg.Client(), e.reg.URL(), repo, tag, imagetest.Image{Platform: p, Format: f})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// ref names repo:tag on the proxy.
func (e *env) ref(s string) reference.Named {
	e.t.Helper()
	n, err := reference.ParseNormalizedNamed(e.px.Host() + "/" + s)
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

func (e *env) opts() registry.PushOptions {
	return registry.PushOptions{HostOptions: registry.HostOptions{PlainHTTP: true, DockerConfig: e.t.TempDir()}}
}

// tagDigest reads where repo:tag points in the registry; empty when absent.
func (e *env) tagDigest(repo, ref string) digest.Digest {
	e.t.Helper()
	d, err := imagetest.HeadManifest(context.Background(), e.reg.Client(), e.reg.URL(), repo, ref)
	if errors.Is(err, imagetest.ErrNotFound) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return d.Digest
}

// hasImage checks that the manifest d and all its blobs are in repo.
func (e *env) hasImage(repo string, d digest.Digest) {
	e.t.Helper()
	ctx := context.Background()
	_, body, _, err := imagetest.GetManifest(ctx, e.reg.Client(), e.reg.URL(), repo, d.String())
	if err != nil {
		e.t.Fatalf("manifest %s not in %s: %v", d, repo, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		e.t.Fatal(err)
	}
	for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		ok, err := imagetest.BlobExists(ctx, e.reg.Client(), e.reg.URL(), repo, b.Digest)
		if err != nil || !ok {
			e.t.Errorf("blob %s of %s not in %s (%v)", b.Digest, d, repo, err)
		}
	}
}

// requests renders what went through the proxy, one request a line.
func (e *env) requests() string {
	var b strings.Builder
	for _, r := range e.px.Requests() {
		fmt.Fprintln(&b, r)
	}
	return b.String()
}

// checkWrites fails unless every write went to the target repository.
func (e *env) checkWrites(target string) {
	e.t.Helper()
	for _, r := range e.px.Requests() {
		if r.IsWrite() && !strings.HasPrefix(r.Path, "/v2/"+target+"/") {
			e.t.Errorf("write outside the target repository: %s", r)
		}
		if r.Method == http.MethodDelete {
			e.t.Errorf("delete: %s", r)
		}
	}
}

func linux(arch, variant string) *ocispec.Platform {
	return &ocispec.Platform{OS: "linux", Architecture: arch, Variant: variant}
}
