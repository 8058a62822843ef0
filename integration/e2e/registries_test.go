package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// The tests of this file push through a registry profile (proxy.Profile):
// the proxy in front of the embedded registry answers as ECR, GHCR, Docker
// Hub, GitLab, Artifact Registry, Harbor, Quay, Gitea or a lagging replica
// is documented to (the README's "Registries" table
// cites the sources). Nothing here is verified against the real services.

// world is a target registry behind a profile, with a source image set:
// linux/amd64 (an OCI image signed, with an SBOM: tag-schema referrers) and
// linux/arm64 in src/app on the same registry, linux/arm/v7 in lib/app on
// another registry, and linux/s390x in src/app for an --append.
type world struct {
	*env
	other                      *clitest.Env
	prof                       *proxy.Profile
	amd64, arm64, armv7, s390x ocispec.Descriptor
	sig, sbom                  ocispec.Descriptor
	target                     string // team/app
	sources                    []string
	// hidesTagSchema: the registry answers a read of the tag sha256-<hex>
	// with the manifest of that digest (GitLab), so tag-schema referrers
	// are not found there; registries_referrers_test.go has what must
	// happen then.
	hidesTagSchema bool
}

// newWorld starts the registries, pushes the images and switches on the
// profile that mk makes from o (Upstream and Client filled in).
func newWorld(t *testing.T, mk func(o proxy.ProfileOptions) *proxy.Profile, o proxy.ProfileOptions) *world {
	t.Helper()
	e := newEnv(t)
	w := &world{env: e, other: clitest.NewEnv(t, registrytest.Options{}), target: "team/app"}
	ctx := context.Background()
	var err error
	w.amd64, err = imagetest.PushImage(ctx, e.Client, e.Registry.URL(), "src/app", "amd64", imagetest.Image{Platform: plat(t, "linux/amd64"), Format: imagetest.OCI})
	if err != nil {
		t.Fatal(err)
	}
	w.arm64 = e.image("src/app", "arm64", "linux/arm64")
	w.s390x = e.image("src/app", "s390x", "linux/s390x")
	w.armv7 = w.other.Push("lib/app", "armv7", imagetest.Image{Platform: plat(t, "linux/arm/v7")})
	s := side{name: "distribution", base: e.Registry.URL(), client: e.Client, proxy: e.Proxy}
	subject := ocispec.Descriptor{MediaType: w.amd64.MediaType, Digest: w.amd64.Digest, Size: w.amd64.Size}
	w.sig = s.artifact(t, "src/app", &subject, "application/vnd.dev.cosign.artifact.sig.v1+json", "signature of amd64", "")
	w.sbom = s.artifact(t, "src/app", &subject, "application/spdx+json", "SBOM of amd64", "")
	w.sources = []string{e.ref("src/app:amd64"), e.ref("src/app:arm64"), w.other.Host() + "/lib/app:armv7"}

	o.Upstream, o.Client = e.Registry.URL(), e.Client
	w.prof = mk(o)
	t.Cleanup(w.prof.Close)
	e.Proxy.SetFault(w.prof.Fault)
	return w
}

// push runs a first push of the three sources to team/app:1 with the tag
// latest.
func (w *world) push(extra ...string) clitest.Result {
	w.t.Helper()
	args := append([]string{"--plain-http"}, extra...)
	args = append(args, "from-args", "--target", w.ref(w.target+":1"), "--tags", "latest")
	return w.run(append(args, w.sources...)...)
}

// wantPushed checks the index at team/app:1 and latest: digest d, the
// three children in the target repository, the signature and SBOM of
// amd64 found there by the tag schema.
func (w *world) wantPushed(r clitest.Result, d digest.Digest) {
	w.t.Helper()
	p := w.index(w.target, "1")
	if p.digest != d {
		w.t.Fatalf("%s:1 is %s, the Digest line says %s\n%s", w.target, p.digest, d, r)
	}
	wantEntries(w.t, p, []entry{
		{desc: w.amd64, platform: plat(w.t, "linux/amd64")},
		{desc: w.arm64, platform: plat(w.t, "linux/arm64")},
		{desc: w.armv7, platform: plat(w.t, "linux/arm/v7")},
	})
	if got := w.TagDigest(w.target, "latest"); got != d {
		w.t.Errorf("%s:latest is %s, want %s", w.target, got, d)
	}
	for _, c := range []ocispec.Descriptor{w.amd64, w.arm64, w.armv7} {
		w.hasImage(w.target, c.Digest)
	}
	if w.hidesTagSchema {
		return
	}
	s := side{base: w.Registry.URL(), client: w.Client}
	got := digests(s.referrers(w.t, w.target, w.amd64.Digest))
	for _, want := range []digest.Digest{w.sig.Digest, w.sbom.Digest} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			w.t.Errorf("referrer %s of amd64 is not in %s (it lists %v)\n%s", want, w.target, got, r)
		}
	}
}

// cycle is what every profile must take: a first push (sources in
// another repository and on another registry, a signed child with an
// SBOM), a rerun that writes nothing, and an --append.
func (w *world) cycle() digest.Digest {
	w.t.Helper()
	r := w.push()
	clitest.WantCode(w.t, r, 0)
	d, _ := digestLine(w.t, r)
	w.wantPushed(r, d)

	w.Proxy.Reset()
	r = w.push()
	clitest.WantCode(w.t, r, 0)
	if got, _ := digestLine(w.t, r); got != d {
		w.t.Errorf("rerun digest %s, first push %s", got, d)
	}
	w.wantNoWrites(r)

	w.Proxy.Reset()
	r = w.run("--plain-http", "from-args", "--append", "--target", w.ref(w.target+":1"), w.ref("src/app:s390x"))
	clitest.WantCode(w.t, r, 0)
	d2, _ := digestLine(w.t, r)
	p := w.index(w.target, "1")
	if p.digest != d2 || len(p.index.Manifests) != 4 {
		w.t.Errorf("after --append %s:1 is %s with %d entries, want %s with 4\n%s", w.target, p.digest, len(p.index.Manifests), d2, r)
	}
	w.hasImage(w.target, w.s390x.Digest)
	return d
}

// requests lists the requests through the proxy that match method and
// whose path contains part.
func (e *env) requests(method, part string) []proxy.Request {
	var out []proxy.Request
	for _, r := range e.Proxy.Requests() {
		if r.Method == method && strings.Contains(r.Path, part) {
			out = append(out, r)
		}
	}
	return out
}

// wantMountsOnce fails when a blob's mount was asked for more than once:
// a refused mount is an upload, not a loop of scope requests.
func (e *env) wantMountsOnce() {
	e.t.Helper()
	seen := map[string]int{}
	for _, r := range e.requests(http.MethodPost, "/blobs/uploads/") {
		if strings.Contains(r.RawQuery, "mount=") {
			seen[r.RawQuery]++
		}
	}
	for q, n := range seen {
		if n > 1 {
			e.t.Errorf("mount %s asked %d times\n%s", q, n, clitest.Requests(e.Proxy))
		}
	}
}

// wantStatus fails unless some request through the proxy matching method
// and part was answered status: the profile's behaviour was met.
func (e *env) wantStatus(method, part string, status int) {
	e.t.Helper()
	for _, r := range e.requests(method, part) {
		if r.Status == status {
			return
		}
	}
	e.t.Errorf("no %s %s answered %d: the profile's behaviour was not met\n%s", method, part, status, clitest.Requests(e.Proxy))
}

// wantTagsStay fails unless each tag of team/app points where it did.
func (w *world) wantTagsStay(before map[string]digest.Digest) {
	w.t.Helper()
	for tag, d := range before {
		if got := w.TagDigest(w.target, tag); got != d {
			w.t.Errorf("%s:%s moved from %s to %s", w.target, tag, d, got)
		}
	}
}

// wantMovedTagRefused pushes a change (linux/s390x added) over team/app:1
// and latest, where the profile keeps tags immutable: exit 1, the tag
// named as immutable, no tag moved, the tag PUT made once.
func (w *world) wantMovedTagRefused(status int) clitest.Result {
	w.t.Helper()
	before := map[string]digest.Digest{"1": w.TagDigest(w.target, "1"), "latest": w.TagDigest(w.target, "latest")}
	w.Proxy.Reset()
	r := w.run("--plain-http", "from-args", "--append", "--target", w.ref(w.target+":1"), "--tags", "latest", w.ref("src/app:s390x"))
	clitest.WantCode(w.t, r, 1)
	clitest.WantStderr(w.t, r, `tag "1" of `+w.ref(w.target)+" is immutable", fmt.Sprint(status))
	w.wantTagsStay(before)
	if puts := w.requests(http.MethodPut, "/manifests/1"); len(puts) != 1 {
		w.t.Errorf("the immutable tag was PUT %d times, want once (never retried)\n%s", len(puts), clitest.Requests(w.Proxy))
	}
	return r
}

// ECR: a mount answered 202 without mounting, PATCH answered 201,
// PutImage throttled: pushed, reruns write nothing; an immutable tag that
// must move and a missing repository fail with exit 1, naming them.
func TestRegistryECR(t *testing.T) {
	t.Parallel()
	t.Run("push", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, proxy.ECR, proxy.ProfileOptions{PutImagePerSecond: 2})
		w.cycle()
		w.wantStatus(http.MethodPut, "/v2/team/app/manifests/", http.StatusTooManyRequests)
	})
	t.Run("immutable", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, proxy.ECR, proxy.ProfileOptions{ImmutableTags: true})
		r := w.push()
		clitest.WantCode(t, r, 0)
		d, _ := digestLine(t, r)
		w.wantPushed(r, d)
		w.Proxy.Reset()
		r = w.push()
		clitest.WantCode(t, r, 0) // same digest: nothing written, so ECR has nothing to refuse
		w.wantNoWrites(r)
		r = w.wantMovedTagRefused(http.StatusBadRequest)
		clitest.WantStderr(t, r, "TAG_INVALID")
	})
	t.Run("missing repository", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, proxy.ECR, proxy.ProfileOptions{Repositories: []string{"src/app"}})
		r := w.push()
		clitest.WantCode(t, r, 1)
		clitest.WantStderr(t, r, "repository "+w.ref(w.target)+" does not exist", "create it first", "NAME_UNKNOWN")
		if tags := w.tags(w.target); tags != nil {
			t.Errorf("%s has tags %v, want none", w.target, tags)
		}
		w.wantMountsOnce()
	})
}

// GHCR: 429 with the wait only in the body ("retry-after: 10ms"): waited
// for, pushed.
func TestRegistryGHCR(t *testing.T) {
	t.Parallel()
	w := newWorld(t, proxy.GHCR, proxy.ProfileOptions{Throttle: 3})
	w.Proxy.Reset()
	r := w.push()
	clitest.WantCode(t, r, 0)
	throttled := 0
	for _, req := range w.Proxy.Requests() {
		if req.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled != 3 {
		t.Errorf("%d answers were 429, want the profile's 3 (then retried)\n%s", throttled, clitest.Requests(w.Proxy))
	}
	d, _ := digestLine(t, r)
	w.wantPushed(r, d)
	w.cycle() // again: a rerun of the same push writes nothing, then --append
}

// Docker Hub: blob reads redirected to a CDN on another host, a plain-text
// 429 from the abuse limiter, manifest GETs counted as pulls; an exhausted
// pull limit (429, Retry-After: 3600) fails at once saying when it resets;
// an immutable tag (403) is exit 1, not an authentication failure.
func TestRegistryDockerHub(t *testing.T) {
	t.Parallel()
	dockerHub := func(o proxy.ProfileOptions) *proxy.Profile {
		p, err := proxy.DockerHub(o)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("push", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, dockerHub, proxy.ProfileOptions{Throttle: 2})
		w.cycle()
		if n := len(w.prof.CDN.Requests()); n == 0 {
			t.Errorf("no blob read reached the CDN host\n%s", clitest.Requests(w.Proxy))
		}
		for _, r := range w.prof.CDN.Requests() {
			if r.Header.Get("Authorization") != "" {
				t.Errorf("credentials reached the CDN host: %s", r)
			}
		}
	})
	t.Run("pull limit", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, dockerHub, proxy.ProfileOptions{})
		w.prof.SetPullsLeft(0)
		r := w.push()
		clitest.WantCode(t, r, 1)
		clitest.WantStderr(t, r, "429 Too Many Requests", "pull rate limit", "the registry asks to wait 1h0m0s: its limit resets at ")
		w.wantNoWrites(r)
		// Each manifest GET refused once: an hour is not waited for, nor
		// asked again.
		limited := map[string]int{}
		for _, req := range w.requests(http.MethodGet, "/manifests/") {
			if req.Status == http.StatusTooManyRequests {
				limited[req.Path]++
			}
		}
		if len(limited) == 0 {
			t.Errorf("no manifest GET answered 429: the limit was not met\n%s", clitest.Requests(w.Proxy))
		}
		for path, n := range limited {
			if n > 1 {
				t.Errorf("GET %s answered 429 %d times, want once (no retry of an hour's wait)\n%s", path, n, clitest.Requests(w.Proxy))
			}
		}
	})
	t.Run("limit past --timeout", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, dockerHub, proxy.ProfileOptions{})
		// A wait the retry policy would take (20 s, under its 30 s cap)
		// but longer than what is left of --timeout: not waited for.
		w.Proxy.SetFault(proxy.Chain(proxy.Always(proxy.Match(http.MethodGet, "/manifests/"), proxy.RetryAfter(http.StatusTooManyRequests, "20")), w.prof.Fault))
		r := w.run("--plain-http", "--timeout", "5s", "from-args", "--target", w.ref(w.target+":1"), w.ref("src/app:amd64"))
		clitest.WantCode(t, r, 1)
		clitest.WantStderr(t, r, "429 Too Many Requests", "the registry asks to wait 20s: its limit resets at ")
		w.wantNoWrites(r)
		seen := map[string]int{}
		for _, req := range w.requests(http.MethodGet, "/manifests/") {
			if seen[req.Path]++; seen[req.Path] > 1 {
				t.Errorf("GET %s was made %d times, want once (a 429 whose wait is past --timeout is not retried)\n%s", req.Path, seen[req.Path], clitest.Requests(w.Proxy))
			}
		}
	})
	t.Run("immutable", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, dockerHub, proxy.ProfileOptions{ImmutableTags: true})
		clitest.WantCode(t, w.push(), 0)
		w.wantMovedTagRefused(http.StatusForbidden)
	})
}

// GitLab: a mount from another project is 401: an upload instead, the
// mount not asked again; pushed with exit 0.
func TestRegistryGitLab(t *testing.T) {
	t.Parallel()
	w := newWorld(t, proxy.GitLab, proxy.ProfileOptions{})
	w.hidesTagSchema = true
	r := w.push()
	clitest.WantCode(t, r, 0)
	d, _ := digestLine(t, r)
	w.wantPushed(r, d)
	w.wantStatus(http.MethodPost, "/v2/team/app/blobs/uploads/", http.StatusUnauthorized)
	w.wantMountsOnce()
}

// Artifact Registry: no PATCH, relative upload Locations.
func TestRegistryArtifactRegistry(t *testing.T) {
	t.Parallel()
	w := newWorld(t, proxy.ArtifactRegistry, proxy.ProfileOptions{})
	w.cycle()
	if n := len(w.requests(http.MethodPatch, "/")); n != 0 {
		t.Errorf("%d PATCH requests, want none", n)
	}
}

// Harbor: a mount from another project is 401 "project P not found": an
// upload instead; a missing project and an immutable tag (412) are exit 1
// naming them.
func TestRegistryHarbor(t *testing.T) {
	t.Parallel()
	t.Run("push", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, proxy.Harbor, proxy.ProfileOptions{Repositories: []string{"src", "team"}})
		w.cycle()
		w.wantMountsOnce()
	})
	t.Run("across projects", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, proxy.Harbor, proxy.ProfileOptions{})
		clitest.WantCode(t, w.push(), 0)
		w.wantStatus(http.MethodPost, "/v2/team/app/blobs/uploads/", http.StatusUnauthorized)
		w.wantMountsOnce()
	})
	t.Run("missing project", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, proxy.Harbor, proxy.ProfileOptions{Repositories: []string{"src"}})
		r := w.push()
		clitest.WantCode(t, r, 1)
		clitest.WantStderr(t, r, "repository "+w.ref(w.target)+" does not exist", "create it first", "project team not found")
		if tags := w.tags(w.target); tags != nil {
			t.Errorf("%s has tags %v, want none", w.target, tags)
		}
	})
	t.Run("immutable", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, proxy.Harbor, proxy.ProfileOptions{ImmutableTags: true})
		clitest.WantCode(t, w.push(), 0)
		w.wantMovedTagRefused(http.StatusPreconditionFailed)
	})
}

// Quay: a mount answered 202, Range without "bytes=".
func TestRegistryQuay(t *testing.T) {
	t.Parallel()
	w := newWorld(t, proxy.Quay, proxy.ProfileOptions{})
	w.cycle()
	w.wantStatus(http.MethodPost, "/v2/team/app/blobs/uploads/", http.StatusAccepted)
}

// Gitea and Forgejo: relative Location, Content-Range required on PATCH.
func TestRegistryGitea(t *testing.T) {
	t.Parallel()
	w := newWorld(t, proxy.Gitea, proxy.ProfileOptions{})
	w.cycle()
}

// Replication lag: the registry refuses the children and the index with
// MANIFEST_BLOB_UNKNOWN for 500 ms after what they refer to was written; a
// first push still succeeds.
func TestRegistryReplicationLag(t *testing.T) {
	t.Parallel()
	w := newWorld(t, proxy.Lagging, proxy.ProfileOptions{Lag: 500 * time.Millisecond})
	r := w.push()
	clitest.WantCode(t, r, 0)
	d, _ := digestLine(t, r)
	w.wantPushed(r, d)
	refused := map[string]bool{}
	for _, req := range w.requests(http.MethodPut, "/v2/team/app/manifests/") {
		if req.Status == http.StatusBadRequest {
			refused[req.Path] = true
		}
	}
	child, index := false, false
	for p := range refused {
		child = child || strings.HasSuffix(p, w.amd64.Digest.String()) || strings.HasSuffix(p, w.arm64.Digest.String()) || strings.HasSuffix(p, w.armv7.Digest.String())
		index = index || strings.HasSuffix(p, d.String())
	}
	if !child || !index {
		t.Errorf("refused a child %v, the index %v: the lag was not met\n%s", child, index, clitest.Requests(w.Proxy))
	}
}

// Eight --append jobs at once through a registry whose tag reads lag
// their writes by 1.5 s (the README's "Registries", eventual consistency),
// in the shape of TestConcurrentAppendsConverge: every job exits 0 and
// the tag ends up holding all eight and the base entry.
func TestConcurrentAppendsConvergeWithTagLag(t *testing.T) {
	t.Parallel()
	const reps = 3
	e := newEnv(t)
	prof := proxy.Lagging(proxy.ProfileOptions{Upstream: e.Registry.URL(), Client: e.Client, TagLag: 1500 * time.Millisecond})
	t.Cleanup(prof.Close)
	appended := []ocispec.Platform{
		plat(t, "linux/arm64"), plat(t, "linux/arm/v7"), plat(t, "linux/arm/v6"), plat(t, "linux/ppc64le"),
		plat(t, "linux/s390x"), plat(t, "linux/riscv64"), plat(t, "linux/386"), windows,
	}
	images := make([]ocispec.Descriptor, len(appended))
	for i, p := range appended {
		images[i] = e.Push("build/app", fmt.Sprintf("job%d", i), imagetest.Image{Platform: p})
	}
	base := e.image("build/app", "base", "linux/amd64")
	cfg := filepath.Join(t.TempDir(), "docker")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		t.Fatal(err)
	}
	e.Proxy.SetDelay(20 * time.Millisecond)
	e.Proxy.SetFault(prof.Fault)
	for rep := range reps {
		tag := fmt.Sprintf("rep%d", rep)
		r := e.run("--plain-http", "from-args", "--target", e.ref("app:"+tag), e.ref("build/app:base"))
		clitest.WantCode(t, r, 0)
		time.Sleep(1600 * time.Millisecond) // the base tag is seen by every job

		cmds := make([]*exec.Cmd, len(appended))
		outs := make([]*bytes.Buffer, len(appended))
		for i := range appended {
			cmds[i] = exec.CommandContext(t.Context(), bin, "--plain-http", "-o", "json", "from-args", "--append",
				"--target", e.ref("app:"+tag), e.ref(fmt.Sprintf("build/app:job%d", i)))
			cmds[i].Env = []string{"HOME=" + e.Dir, "DOCKER_CONFIG=" + cfg, "PATH=" + os.Getenv("PATH")}
			outs[i] = new(bytes.Buffer)
			cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		}
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("repetition %d, appender %d: %v\n%s", rep, i, err, outs[i])
			}
		}
		p := e.index("app", tag) // read from the registry directly: no lag
		want := map[digest.Digest]bool{base.Digest: true}
		for _, img := range images {
			want[img.Digest] = true
		}
		for _, m := range p.index.Manifests {
			delete(want, m.Digest)
		}
		if len(want) != 0 {
			t.Errorf("repetition %d: app:%s lacks %d of the 9 entries: %v", rep, tag, len(want), digests(p.index.Manifests))
		}
	}
}

// Docker Hub counts every manifest GET as a pull: a rerun that changes
// nothing reads the target's index at most (one GET) and checks the
// sources with HEAD (the README's "Registries", "Pull budget").
func TestRegistryDockerHubRerunPullBudget(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(o proxy.ProfileOptions) *proxy.Profile {
		p, err := proxy.DockerHub(o)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}, proxy.ProfileOptions{})
	clitest.WantCode(t, w.push(), 0)
	before := w.prof.Pulls()
	w.Proxy.Reset()
	r := w.push()
	clitest.WantCode(t, r, 0)
	w.wantNoWrites(r)
	// The target's index, and the referrers tag-schema index of the signed
	// entry in the source and in the target (this registry has no
	// referrers API: the tag schema is the only list there is; its reads
	// are the documented exception, README "Registries").
	schema := len(w.requests(http.MethodGet, "/manifests/sha256-"))
	if pulls := w.prof.Pulls() - before; pulls-schema > 1 || schema > 2 {
		t.Errorf("the rerun made %d manifest GETs on Docker Hub (%d of them referrers tag-schema indexes), want at most 1 besides those two (sources checked with HEAD)\n%s", pulls, schema, clitest.Requests(w.Proxy))
	}
	t.Logf("rerun: %d manifest GETs, %d of them the referrers tag-schema indexes", w.prof.Pulls()-before, schema)
}
