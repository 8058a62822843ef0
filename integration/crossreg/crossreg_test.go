// Package crossreg tests pushes whose sources are on another registry than
// the target: two embedded registries, each behind its own counting proxy,
// sources on one and the target on the other.
package crossreg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/libtest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// foreignURL is where the foreign layers of the test images say they live.
const foreignURL = "https://example.invalid/windows/base.tar.gz"

// side is one registry with its proxy. Test images are pushed to the
// registry directly, and assertions read it directly: the proxy counts only
// the library's requests.
type side struct {
	*clitest.Env
	t *testing.T
}

// startSide starts a registry with opts and its proxy. Its Client sends
// the registry's credentials (opts.Username and opts.Password).
func startSide(t *testing.T, opts registrytest.Options) *side {
	t.Helper()
	return &side{Env: clitest.NewEnv(t, opts), t: t}
}

// ref names repo:tag on the proxy.
func (s *side) ref(name string) reference.Named {
	s.t.Helper()
	n, err := reference.ParseNormalizedNamed(s.Proxy.Host() + "/" + name)
	if err != nil {
		s.t.Fatal(err)
	}
	return reference.TagNameOnly(n)
}

func (s *side) manifest(repo string, d digest.Digest) (ocispec.Manifest, bool) {
	s.t.Helper()
	_, body, _, err := imagetest.GetManifest(context.Background(), s.Client, s.Registry.URL(), repo, d.String())
	if errors.Is(err, imagetest.ErrNotFound) {
		return ocispec.Manifest{}, false
	}
	if err != nil {
		s.t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		s.t.Fatal(err)
	}
	return m, true
}

func (s *side) blob(repo string, d digest.Digest) []byte {
	s.t.Helper()
	b, err := imagetest.GetBlob(context.Background(), s.Client, s.Registry.URL(), repo, d)
	if err != nil {
		s.t.Fatalf("blob %s from %s: %v", d, repo, err)
	}
	if digest.FromBytes(b) != d {
		s.t.Fatalf("blob %s from %s has digest %s", d, repo, digest.FromBytes(b))
	}
	return b
}

func (s *side) hasBlob(repo string, d digest.Digest) bool {
	s.t.Helper()
	ok, err := imagetest.BlobExists(context.Background(), s.Client, s.Registry.URL(), repo, d)
	if err != nil {
		s.t.Fatal(err)
	}
	return ok
}

// hasImage checks that the manifest d and every blob it refers to (but
// foreign layers) are in repo.
func (s *side) hasImage(repo string, d digest.Digest) {
	s.t.Helper()
	m, ok := s.manifest(repo, d)
	if !ok {
		s.t.Fatalf("manifest %s not in %s", d, repo)
	}
	for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if len(b.URLs) == 0 && !s.hasBlob(repo, b.Digest) {
			s.t.Errorf("blob %s of %s not in %s", b.Digest, d, repo)
		}
	}
}

// checkReadOnly fails unless every request that reached the registry was
// a read.
func (s *side) checkReadOnly() {
	s.t.Helper()
	if n := s.Proxy.Writes(); n != 0 {
		s.t.Errorf("%d writes reached the source registry", n)
	}
	for _, r := range s.Proxy.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.t.Errorf("source registry got %s", r)
		}
	}
}

// env is a source registry and a target registry.
type env struct {
	t        *testing.T
	src, dst *side
	cfgDir   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	// Both registries must accept manifests with foreign layers, whose
	// blobs they do not have.
	opts := registrytest.Options{ManifestURLsAllow: []string{`^https://example\.invalid/`}}
	return &env{t: t, src: startSide(t, opts), dst: startSide(t, opts), cfgDir: t.TempDir()}
}

func (e *env) spec(target string, tags []string, entries ...spec.Entry) *spec.Spec {
	return &spec.Spec{Name: "test", Target: e.dst.ref(target).(reference.NamedTagged), Tags: tags, Manifests: entries}
}

func (e *env) opts() libtest.Options {
	return libtest.Options{ClientOptions: registry.Options{PlainHTTP: true, DockerConfig: e.cfgDir}}
}

// progressLog keeps the last Progress of each source.
type progressLog struct {
	mu    sync.Mutex
	last  map[string]publish.Progress
	calls int
}

func (l *progressLog) report(p publish.Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]publish.Progress{}
	}
	l.last[p.Source] = p
	l.calls++
}

// layerFile reads one file out of a tar.gz layer.
func layerFile(t *testing.T, layer []byte, name string) string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(layer))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("no %s in the layer", name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

func linux(arch string) *ocispec.Platform { return &ocispec.Platform{OS: "linux", Architecture: arch} }

// platformImage is an image whose first layer holds hello.txt naming its
// platform, then a base layer shared by all of them.
func platformImage(p ocispec.Platform, f imagetest.Format) imagetest.Image {
	return imagetest.Image{
		Platform: p,
		Format:   f,
		Files:    map[string][]byte{"hello.txt": []byte("hello from " + p.OS + "/" + p.Architecture)},
		Layers:   []imagetest.Layer{{Files: []imagetest.File{{Name: "base.txt", Content: []byte("shared base")}}}},
	}
}

func TestCopyAcrossRegistries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64 := e.src.Push("build/hello", "amd64", platformImage(*linux("amd64"), imagetest.Docker))
	arm64 := e.src.Push("build/hello", "arm64", platformImage(*linux("arm64"), imagetest.OCI))
	winImg := platformImage(ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}, imagetest.Docker)
	// Layers: hello.txt, the foreign base, the shared layer.
	winImg.Layers = append([]imagetest.Layer{{Files: []imagetest.File{{Name: "windows-base", Content: []byte("not for registries")}}, URLs: []string{foreignURL}}}, winImg.Layers...)
	win := e.src.Push("build/hello", "windows", winImg)
	// A source on the target's registry, in another repository: mounted.
	s390x := e.dst.Push("staging/hello", "s390x", platformImage(*linux("s390x"), imagetest.Docker))

	s := e.spec("release/hello:1", []string{"latest"},
		spec.Entry{Image: e.src.ref("build/hello:amd64"), Platform: linux("amd64")},
		spec.Entry{Image: e.src.ref("build/hello:arm64"), Platform: linux("arm64")},
		spec.Entry{Image: e.src.ref("build/hello:windows")},
		spec.Entry{Image: e.dst.ref("staging/hello:s390x"), Platform: linux("s390x")},
	)
	var progress progressLog
	opts := e.opts()
	opts.Progress = progress.report
	res, err := libtest.Push(context.Background(), s, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Manifests {
		if !m.Copied {
			t.Errorf("%s (%s) not copied", m.Source, m.Platform)
		}
	}
	e.src.checkReadOnly()

	// The target alone serves every platform's layers.
	for _, tc := range []struct {
		d     ocispec.Descriptor
		hello string
	}{
		{amd64, "hello from linux/amd64"},
		{arm64, "hello from linux/arm64"},
		{win, "hello from windows/amd64"},
		{s390x, "hello from linux/s390x"},
	} {
		m, ok := e.dst.manifest("release/hello", tc.d.Digest)
		if !ok {
			t.Fatalf("%s: manifest %s not in the target", tc.hello, tc.d.Digest)
		}
		e.dst.blob("release/hello", m.Config.Digest)
		for i, l := range m.Layers {
			if len(l.URLs) > 0 {
				continue
			}
			b := e.dst.blob("release/hello", l.Digest)
			if i == 0 { // the layer of the image's Files
				if got := layerFile(t, b, "hello.txt"); got != tc.hello {
					t.Errorf("hello.txt from the target: %q, want %q", got, tc.hello)
				}
			}
		}
	}

	// The foreign layer is neither read nor copied.
	wm, _ := e.dst.manifest("release/hello", win.Digest)
	foreign := wm.Layers[1]
	if len(foreign.URLs) == 0 || foreign.MediaType != imagetest.MediaTypeDockerForeignLayer {
		t.Fatalf("first Windows layer %+v is not foreign", foreign)
	}
	if e.dst.hasBlob("release/hello", foreign.Digest) {
		t.Error("the foreign layer was copied into the target")
	}
	for _, r := range append(e.src.Proxy.Requests(), e.dst.Proxy.Requests()...) {
		if strings.Contains(r.Path+"?"+r.RawQuery, foreign.Digest.Encoded()) {
			t.Errorf("request for the foreign layer: %s", r)
		}
	}

	// The same-registry source is mounted, not streamed; the shared base
	// layer is copied once.
	var mounts, puts int
	for _, r := range e.dst.Proxy.Requests() {
		if r.Method == http.MethodPost && strings.Contains(r.RawQuery, "mount=") {
			mounts++
		}
		if r.Method == http.MethodPut && strings.Contains(r.Path, "/blobs/uploads/") {
			puts++
		}
	}
	// s390x's hello layer and config are mounted; amd64's, arm64's and
	// windows' are uploaded (6); the base layer they all share (Docker and
	// OCI layers of the same bytes have one digest) is brought in once,
	// mounted or uploaded, whichever comes first.
	if mounts+puts != 9 || mounts < 2 || puts < 6 {
		t.Errorf("%d mounts, %d uploads: want 2 and 6 plus the base once\n%s", mounts, puts, clitest.Requests(e.dst.Proxy))
	}

	// Progress: every source's blobs are done, and bytes were streamed.
	var streamed int64
	for _, src := range []string{"build/hello:amd64", "build/hello:arm64", "build/hello:windows", "staging/hello:s390x"} {
		name := e.src.ref(src).String()
		if strings.HasPrefix(src, "staging/") {
			name = e.dst.ref(src).String()
		}
		p, ok := progress.last[name]
		if !ok {
			t.Errorf("no progress for %s: %v", name, progress.last)
			continue
		}
		if p.BlobsDone != p.Blobs || p.BytesDone != p.BytesTotal || p.Blobs < 2 {
			t.Errorf("last progress of %s: %+v", name, p)
		}
		streamed += p.Streamed
	}
	if streamed == 0 {
		t.Error("no bytes streamed, says the progress")
	}

	t.Run("rerun writes nothing", func(t *testing.T) {
		e.src.Proxy.Reset()
		e.dst.Proxy.Reset()
		res, err := libtest.Push(context.Background(), s, e.opts())
		if err != nil {
			t.Fatal(err)
		}
		if res.Changed || e.dst.Proxy.Writes() != 0 {
			t.Errorf("changed %v, %d writes to the target\n%s", res.Changed, e.dst.Proxy.Writes(), clitest.Requests(e.dst.Proxy))
		}
		e.src.checkReadOnly()
	})

	t.Run("a lost index is pushed again without copying blobs again", func(t *testing.T) {
		e.src.Proxy.Reset()
		e.dst.Proxy.Reset()
		s2 := e.spec("release/hello:2", nil, s.Manifests...)
		if _, err := libtest.Push(context.Background(), s2, e.opts()); err != nil {
			t.Fatal(err)
		}
		for _, r := range e.src.Proxy.Requests() {
			if strings.Contains(r.Path, "/blobs/") && r.Method == http.MethodGet && !isConfig(r.Path, e) {
				t.Errorf("layer read again from the source: %s", r)
			}
		}
		e.src.checkReadOnly()
	})
}

// isConfig reports whether a blob path names a config (read for the
// platform rules on every push).
func isConfig(path string, e *env) bool {
	for _, tag := range []string{"amd64", "arm64", "windows"} {
		d, err := imagetest.HeadManifest(context.Background(), e.src.Client, e.src.Registry.URL(), "build/hello", tag)
		if err != nil {
			e.t.Fatal(err)
		}
		m, _ := e.src.manifest("build/hello", d.Digest)
		if strings.HasSuffix(path, m.Config.Digest.String()) {
			return true
		}
	}
	return false
}

func TestIndexSourcesAcrossRegistries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// format of the images in the buildx index.
		format imagetest.Format
		// tag of the source: "v1" the buildx index, "nested" an index of it
		// and one more image.
		tag      string
		platform *ocispec.Platform
		typ      spec.IndexType
		// want lists the index entries: images by arch, attestations by
		// "att-" + arch.
		want    []string
		warning string
	}{
		{"all entries and their attestations", imagetest.OCI, "v1", nil, "", []string{"amd64", "arm64", "att-amd64", "att-arm64"}, ""},
		{"one platform and its attestation", imagetest.OCI, "v1", linux("arm64"), "", []string{"arm64", "att-arm64"}, ""},
		{"nested index flattened", imagetest.OCI, "nested", nil, "", []string{"amd64", "arm64", "s390x", "att-amd64", "att-arm64"}, ""},
		{"docker list drops attestations", imagetest.Docker, "v1", nil, spec.TypeDocker, []string{"amd64", "arm64"}, "attestation manifest(s) left out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			bx, err := imagetest.PushBuildx(ctx, e.src.Client, e.src.Registry.URL(), "build/multi", "v1", []imagetest.Image{
				platformImage(*linux("amd64"), tc.format), platformImage(*linux("arm64"), tc.format),
			})
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]ocispec.Descriptor{
				"amd64": bx.Images[0], "arm64": bx.Images[1],
				"att-amd64": bx.Attestations[0], "att-arm64": bx.Attestations[1],
			}
			if tc.tag == "nested" {
				s390x := e.src.Push("build/multi", "", platformImage(*linux("s390x"), tc.format))
				byName["s390x"] = s390x
				if _, err := imagetest.PushIndex(ctx, e.src.Client, e.src.Registry.URL(), "build/multi", "nested",
					[]ocispec.Descriptor{bx.Index, s390x}, imagetest.IndexOptions{Format: imagetest.OCI}); err != nil {
					t.Fatal(err)
				}
			}
			s := e.spec("release/multi:1", nil, spec.Entry{Image: e.src.ref("build/multi:" + tc.tag), Platform: tc.platform})
			opts := e.opts()
			opts.Type = tc.typ
			res, err := libtest.Push(ctx, s, opts)
			if err != nil {
				t.Fatal(err)
			}
			var got, want []digest.Digest
			for _, m := range res.Manifests {
				got = append(got, m.Digest)
			}
			for _, n := range tc.want {
				want = append(want, byName[n].Digest)
			}
			if strings.Join(digestStrings(got), " ") != strings.Join(digestStrings(want), " ") {
				t.Errorf("index entries %v, want %v (%v)", got, want, tc.want)
			}
			for _, n := range tc.want {
				e.dst.hasImage("release/multi", byName[n].Digest)
			}
			for n, d := range byName {
				if _, ok := e.dst.manifest("release/multi", d.Digest); ok && !contains(tc.want, n) {
					t.Errorf("%s copied into the target, but not in the index", n)
				}
			}
			if tc.warning != "" && !strings.Contains(strings.Join(res.Warnings, "\n"), tc.warning) {
				t.Errorf("warnings %q, want one saying %q", res.Warnings, tc.warning)
			}
			// Every platform's layer, pulled from the target.
			for _, n := range tc.want {
				if strings.HasPrefix(n, "att-") {
					continue
				}
				m, _ := e.dst.manifest("release/multi", byName[n].Digest)
				if got := layerFile(t, e.dst.blob("release/multi", m.Layers[0].Digest), "hello.txt"); got != "hello from linux/"+n {
					t.Errorf("%s: hello.txt %q", n, got)
				}
			}
			e.src.checkReadOnly()

			e.src.Proxy.Reset()
			e.dst.Proxy.Reset()
			if _, err := libtest.Push(ctx, s, opts); err != nil {
				t.Fatal(err)
			}
			if n := e.dst.Proxy.Writes() + e.src.Proxy.Writes(); n != 0 {
				t.Errorf("rerun: %d writes", n)
			}
		})
	}
}

func digestStrings(ds []digest.Digest) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Each registry gets its own credentials: the flags' for the target, the
// Docker config's for the source.
func TestCredentialsPerRegistry(t *testing.T) {
	t.Parallel()
	src := startSide(t, registrytest.Options{Username: "builder", Password: "source-secret"})
	dst := startSide(t, registrytest.Options{Username: "releaser", Password: "target-secret"})
	e := &env{t: t, src: src, dst: dst, cfgDir: t.TempDir()}
	d := e.src.Push("build/hello", "amd64", platformImage(*linux("amd64"), imagetest.Docker))
	s := e.spec("release/hello:1", nil, spec.Entry{Image: e.src.ref("build/hello:amd64")})
	opts := e.opts()
	opts.Username, opts.Password = "releaser", "target-secret"

	t.Run("no credentials for the source", func(t *testing.T) {
		_, err := libtest.Push(context.Background(), s, opts)
		if !errors.Is(err, registry.ErrUnauthorized) || dst.Proxy.Writes() != 0 {
			t.Errorf("error %v, %d writes", err, dst.Proxy.Writes())
		}
	})
	t.Run("source credentials from the Docker config", func(t *testing.T) {
		auth := base64.StdEncoding.EncodeToString([]byte("builder:source-secret"))
		cfg := `{"auths":{"` + src.Proxy.Host() + `":{"auth":"` + auth + `"}}}`
		if err := os.WriteFile(filepath.Join(e.cfgDir, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := libtest.Push(context.Background(), s, opts); err != nil {
			t.Fatal(err)
		}
		e.dst.hasImage("release/hello", d.Digest)
		e.src.checkReadOnly()
	})
}

// TestStreamedUploadRetriedWhole breaks a streamed blob upload into the
// target twice — a 502 answer, then a connection dropped once the body was
// sent — and checks that the copy starts over as a whole operation (a new
// upload session each time, the source read again) and ends with the blob
// in the target.
func TestStreamedUploadRetriedWhole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	img := e.src.Push("build/hello", "amd64", platformImage(*linux("amd64"), imagetest.Docker))
	finish := proxy.Match(http.MethodPut, `/v2/release/hello/blobs/uploads/`)
	e.dst.Proxy.SetFault(proxy.Chain(
		proxy.Times(1, finish, proxy.Respond(http.StatusBadGateway, nil, "upstream went away")),
		proxy.Times(1, finish, proxy.Action{Reset: proxy.ResetAfterBody}),
	))

	s := e.spec("release/hello:1", nil, spec.Entry{Image: e.src.ref("build/hello:amd64"), Platform: linux("amd64")})
	if _, err := libtest.Push(context.Background(), s, e.opts()); err != nil {
		t.Fatalf("%v\n%s", err, clitest.Requests(e.dst.Proxy))
	}
	e.src.checkReadOnly()
	e.dst.hasImage("release/hello", img.Digest)

	sessions, finishes := 0, 0
	for _, r := range e.dst.Proxy.Requests() {
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/blobs/uploads/"):
			sessions++
		case r.Method == http.MethodPut && strings.Contains(r.Path, "/blobs/uploads/"):
			finishes++
		}
	}
	// Three blobs (config and two layers) streamed; one of them twice more.
	if sessions != finishes || finishes < 5 {
		t.Errorf("%d upload sessions, %d finishing PUTs; want a new session for each of the 2 retries (>= 5)\n%s",
			sessions, finishes, clitest.Requests(e.dst.Proxy))
	}
}
