package library

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/libtest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestCrossRepositoryPush pushes an index of three images from three other
// repositories into a fresh one, after a dry run; then reruns it (zero
// writes), and adds an extra tag (one write).
func TestCrossRepositoryPush(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	win := ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}
	amd := e.image("src/amd64", "v1", *linux("amd64", ""), imagetest.Docker)
	arm := e.image("src/arm", "v1", *linux("arm", "v7"), imagetest.Docker)
	w := e.image("other/win", "v1", win, imagetest.Docker)
	s := e.spec("dst/img:1.0", []string{"1", "latest"},
		e.entry("src/amd64:v1", linux("amd64", "")),
		e.entry("src/arm:v1", linux("arm", "v7")),
		e.entry("other/win:v1", nil), // platform from the config, os.version included
	)
	const n, tags = 3, 3

	dry := e.opts()
	dry.DryRun = true
	plannedRes, err := libtest.Push(ctx, s, dry)
	if err != nil {
		t.Fatal(err)
	}
	if e.Proxy.Writes() != 0 || !plannedRes.DryRun || !plannedRes.Changed {
		t.Fatalf("dry run: %d writes, result %+v\n%s", e.Proxy.Writes(), plannedRes, clitest.Requests(e.Proxy))
	}
	for _, tag := range plannedRes.Tags {
		if tag.Status != publish.TagWouldUpdate {
			t.Errorf("dry run: tag %s %s", tag.Tag, tag.Status)
		}
	}
	// Reads: each source's HEAD, manifest and config, the tags, and for
	// each of the three source repositories the referrers look-up (its tag
	// list and a referrers API probe).
	if want := 3*n + tags + 2*3; e.Proxy.Count() != want {
		t.Errorf("dry run: %d requests, want %d:\n%s", e.Proxy.Count(), want, clitest.Requests(e.Proxy))
	}

	e.Proxy.Reset()
	res, err := libtest.Push(ctx, s, e.opts())
	if err != nil {
		t.Fatalf("%v\n%s", err, clitest.Requests(e.Proxy))
	}
	t.Logf("first push, %d requests, %d writes:\n%s", e.Proxy.Count(), e.Proxy.Writes(), clitest.Requests(e.Proxy))
	if res.Digest != plannedRes.Digest || string(res.Index) != string(plannedRes.Index) {
		t.Errorf("the dry run planned %s, the push pushed %s", plannedRes.Digest, res.Digest)
	}
	if !res.Changed || res.MediaType != content.MediaTypeDockerManifestList {
		t.Errorf("result %+v", res)
	}
	for _, tag := range res.Tags {
		if tag.Status != publish.TagUpdated || tag.Previous != "" {
			t.Errorf("tag %+v", tag)
		}
		if got := e.TagDigest("dst/img", tag.Tag); got != res.Digest {
			t.Errorf("tag %s points at %s, want %s", tag.Tag, got, res.Digest)
		}
	}
	want := []publish.ManifestResult{
		{Source: e.ref("src/amd64:v1").String(), Digest: amd.Digest, MediaType: amd.MediaType, Size: amd.Size, Platform: "linux/amd64", Copied: true},
		{Source: e.ref("src/arm:v1").String(), Digest: arm.Digest, MediaType: arm.MediaType, Size: arm.Size, Platform: "linux/arm/v7", Copied: true},
		{Source: e.ref("other/win:v1").String(), Digest: w.Digest, MediaType: w.MediaType, Size: w.Size, Platform: "windows/amd64:10.0.17763.6189", Copied: true},
	}
	for i := range want {
		if i >= len(res.Manifests) || !cmp.Equal(res.Manifests[i], want[i], cmpopts.EquateEmpty()) {
			t.Errorf("manifests %+v\nwant %+v", res.Manifests, want)
			break
		}
	}
	for _, d := range []ocispec.Descriptor{amd, arm, w} {
		e.hasImage("dst/img", d.Digest)
	}
	e.WantWritesOnlyTo("dst/img")
	mounts := 0
	for _, r := range e.Proxy.Requests() {
		if r.Method == http.MethodHead && strings.Contains(r.Path, "/blobs/") {
			t.Errorf("existence check of a blob: %s", r)
		}
		if r.Method == http.MethodPost && strings.Contains(r.RawQuery, "mount=") {
			mounts++
			if r.Status != http.StatusCreated {
				t.Errorf("mount not done: %s", r)
			}
		}
	}
	if mounts != 2*n {
		t.Errorf("%d mounts, want %d", mounts, 2*n)
	}

	t.Run("rerun writes nothing", func(t *testing.T) {
		e.Proxy.Reset()
		again, err := libtest.Push(ctx, s, e.opts())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("rerun, %d requests:\n%s", e.Proxy.Count(), clitest.Requests(e.Proxy))
		if again.Digest != res.Digest || again.Changed || e.Proxy.Writes() != 0 {
			t.Errorf("rerun: digest %s changed %v writes %d", again.Digest, again.Changed, e.Proxy.Writes())
		}
		for _, tag := range again.Tags {
			if tag.Status != publish.TagUnchanged || tag.Previous != res.Digest {
				t.Errorf("tag %+v", tag)
			}
		}
		// A rerun looks at each source with HEAD only (what the target
		// holds describes it), and at each child in the target (a rerun
		// heals what a clean-up job deleted).
		if want := 2*n + tags + 2*3; e.Proxy.Count() != want {
			t.Errorf("%d requests, want %d", e.Proxy.Count(), want)
		}
	})

	t.Run("dry run of a pushed index is unchanged", func(t *testing.T) {
		e.Proxy.Reset()
		again, err := libtest.Push(ctx, s, dry)
		if err != nil {
			t.Fatal(err)
		}
		if again.Changed || e.Proxy.Writes() != 0 || again.Tags[0].Status != publish.TagUnchanged {
			t.Errorf("result %+v, %d writes", again, e.Proxy.Writes())
		}
	})

	t.Run("a new extra tag is the only write", func(t *testing.T) {
		e.Proxy.Reset()
		s2 := *s
		s2.Tags = []string{"1", "latest", "stable"}
		again, err := libtest.Push(ctx, &s2, e.opts())
		if err != nil {
			t.Fatal(err)
		}
		if e.Proxy.Writes() != 1 || again.Tags[3].Status != publish.TagUpdated || again.Tags[1].Status != publish.TagUnchanged {
			t.Errorf("result %+v, requests:\n%s", again.Tags, clitest.Requests(e.Proxy))
		}
		if got := e.TagDigest("dst/img", "stable"); got != res.Digest {
			t.Errorf("stable points at %s", got)
		}
	})

	t.Run("force writes again", func(t *testing.T) {
		e.Proxy.Reset()
		o := e.opts()
		o.Force = true
		again, err := libtest.Push(ctx, s, o)
		if err != nil {
			t.Fatal(err)
		}
		// The tags exist, so the children are looked for: there, not
		// copied; the index is written by digest, then the tags.
		if !again.Changed || e.Proxy.Writes() != 1+tags || again.Manifests[0].Copied {
			t.Errorf("result %+v, requests:\n%s", again, clitest.Requests(e.Proxy))
		}
	})
}

// TestSourceInTargetRepository: sources in the target repository itself are
// not looked for and not copied.
func TestSourceInTargetRepository(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("app/img", "1.0-amd64", *linux("amd64", ""), imagetest.OCI)
	e.image("app/img", "1.0-arm64", *linux("arm64", ""), imagetest.OCI)
	s := e.spec("app/img:1.0", nil, e.entry("app/img:1.0-amd64", nil), e.entry("app/img:1.0-arm64", nil))
	res, err := libtest.Push(context.Background(), s, e.opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.MediaType != ocispec.MediaTypeImageIndex || res.Manifests[0].Copied || res.Manifests[1].Copied {
		t.Errorf("result %+v", res)
	}
	if e.Proxy.Writes() != 2 { // the index by digest, then the tag
		t.Errorf("%d writes:\n%s", e.Proxy.Writes(), clitest.Requests(e.Proxy))
	}
}

// TestMissingSources: a source that does not exist fails the push with
// ErrNotFound and nothing written; with IgnoreMissing it is left out.
func TestMissingSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.image("src/amd64", "v1", *linux("amd64", ""), imagetest.Docker)
	s := e.spec("dst/img:1", nil,
		e.entry("src/amd64:v1", nil),
		e.entry("src/nothere:v1", linux("arm64", "")), // unknown repository
		e.entry("src/amd64:v2", linux("s390x", "")),   // unknown tag
	)
	_, err := libtest.Push(ctx, s, e.opts())
	if !errors.Is(err, registry.ErrNotFound) || !strings.Contains(err.Error(), "src/nothere:v1") || !strings.Contains(err.Error(), "src/amd64:v2") {
		t.Errorf("error %v; want not found naming both sources", err)
	}
	if e.Proxy.Writes() != 0 {
		t.Errorf("%d writes", e.Proxy.Writes())
	}

	o := e.opts()
	o.IgnoreMissing = true
	res, err := libtest.Push(ctx, s, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Manifests) != 1 || res.Manifests[0].Platform != "linux/amd64" {
		t.Errorf("manifests %+v", res.Manifests)
	}

	e.Proxy.Reset()
	none := e.spec("dst/none:1", nil, e.entry("src/nothere:v1", linux("arm64", "")))
	if _, err := libtest.Push(ctx, none, o); err == nil || e.Proxy.Writes() != 0 {
		t.Errorf("every source missing: error %v, %d writes", err, e.Proxy.Writes())
	}
}

// TestIndexSources: an index source (buildx output) with a platform gives
// that entry and its attestation; without one, all of them.
func TestIndexSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	bx, err := imagetest.PushBuildx(ctx, e.Client, e.Registry.URL(), "bx/app", "latest", []imagetest.Image{
		{Platform: *linux("amd64", ""), Format: imagetest.OCI},
		{Platform: *linux("arm64", ""), Format: imagetest.OCI},
	})
	if err != nil {
		t.Fatal(err)
	}
	s390x := e.image("src/s390x", "v1", *linux("s390x", ""), imagetest.OCI)

	t.Run("one platform selected", func(t *testing.T) {
		s := e.spec("dst/sel:1", nil, e.entry("bx/app", linux("arm64", "")), e.entry("src/s390x:v1", nil))
		res, err := libtest.Push(ctx, s, e.opts())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range res.Manifests {
			got = append(got, m.Digest.String())
		}
		want := []string{bx.Images[1].Digest.String(), s390x.Digest.String(), bx.Attestations[1].Digest.String()}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("entries %v\nwant %v", got, want)
		}
		for _, d := range want {
			if e.TagDigest("dst/sel", d) == "" {
				t.Errorf("%s not copied into dst/sel", d)
			}
		}
		e.hasImage("dst/sel", bx.Attestations[1].Digest)
	})

	t.Run("all platforms", func(t *testing.T) {
		s := e.spec("dst/all:1", nil, e.entry("bx/app", nil))
		res, err := libtest.Push(ctx, s, e.opts())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Manifests) != 4 {
			t.Errorf("entries %+v", res.Manifests)
		}
		for _, m := range res.Manifests {
			e.hasImage("dst/all", m.Digest)
		}
	})

	t.Run("platform not in the index", func(t *testing.T) {
		e.Proxy.Reset()
		s := e.spec("dst/none:1", nil, e.entry("bx/app", linux("ppc64le", "")))
		_, err := libtest.Push(ctx, s, e.opts())
		if !errors.Is(err, plan.ErrNoPlatformMatch) || e.Proxy.Writes() != 0 {
			t.Errorf("error %v, %d writes", err, e.Proxy.Writes())
		}
	})
}

// TestMountRefused: a registry that will not mount answers 202 and the blob
// is streamed from the source instead.
func TestMountRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Proxy.SetFault(func(r *http.Request, _ int) proxy.Action {
		if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" {
			r.URL.RawQuery = "" // the registry sees a plain upload start: 202
		}
		return proxy.Pass()
	})
	d := e.image("src/amd64", "v1", *linux("amd64", ""), imagetest.Docker)
	s := e.spec("dst/img:1", nil, e.entry("src/amd64:v1", nil))
	if _, err := libtest.Push(context.Background(), s, e.opts()); err != nil {
		t.Fatalf("%v\n%s", err, clitest.Requests(e.Proxy))
	}
	e.hasImage("dst/img", d.Digest)
	uploads := 0
	for _, r := range e.Proxy.Requests() {
		if r.Method == http.MethodPut && strings.Contains(r.Path, "/blobs/uploads/") && r.Status == http.StatusCreated {
			uploads++
		}
	}
	if uploads != 2 {
		t.Errorf("%d uploads, want 2:\n%s", uploads, clitest.Requests(e.Proxy))
	}
	e.WantWritesOnlyTo("dst/img")
}

// TestTagWriteFails: when a tag cannot be written, the error says which
// tags were updated and which were not, and a rerun completes the job.
func TestTagWriteFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.image("src/amd64", "v1", *linux("amd64", ""), imagetest.Docker)
	e.image("src/arm64", "v1", *linux("arm64", ""), imagetest.Docker)
	old := e.spec("dst/img:1.0", []string{"latest"}, e.entry("src/amd64:v1", nil))
	before, err := libtest.Push(ctx, old, e.opts())
	if err != nil {
		t.Fatal(err)
	}

	e.Proxy.SetFault(proxy.Always(proxy.Match(http.MethodPut, "/manifests/latest$"), proxy.Respond(http.StatusForbidden, nil, `{"errors":[{"code":"DENIED","message":"tag is protected"}]}`)))
	s := e.spec("dst/img:1.0", []string{"1", "latest"}, e.entry("src/amd64:v1", nil), e.entry("src/arm64:v1", nil))
	res, err := libtest.Push(ctx, s, e.opts())
	te, ok := errors.AsType[*publish.TagsError](err)
	if !ok || res == nil {
		t.Fatalf("error %v, result %v", err, res)
	}
	if !errors.Is(err, registry.ErrUnauthorized) {
		t.Errorf("error %v does not unwrap to ErrUnauthorized", err)
	}
	if len(te.Updated) != 2 || len(te.NotUpdated) != 1 || te.NotUpdated[0].Tag != "latest" || te.NotUpdated[0].Previous != before.Digest {
		t.Errorf("tags error %+v", te)
	}
	if !strings.Contains(err.Error(), "latest (still "+before.Digest.String()+")") {
		t.Errorf("message %q", err)
	}
	if res.Tags[2].Status != publish.TagNotUpdated || res.Tags[0].Status != publish.TagUpdated {
		t.Errorf("tags %+v", res.Tags)
	}

	e.Proxy.SetFault(nil)
	e.Proxy.Reset()
	again, err := libtest.Push(ctx, s, e.opts())
	if err != nil {
		t.Fatal(err)
	}
	if e.Proxy.Writes() != 1 || again.Tags[2].Status != publish.TagUpdated || e.TagDigest("dst/img", "latest") != res.Digest {
		t.Errorf("rerun: %+v\n%s", again.Tags, clitest.Requests(e.Proxy))
	}
}

// TestFaults: retried and refused faults.
func TestFaults(t *testing.T) {
	t.Parallel()
	t.Run("429 with Retry-After is waited for", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.image("src/amd64", "v1", *linux("amd64", ""), imagetest.Docker)
		e.Proxy.SetFault(proxy.Times(1, proxy.Match(http.MethodGet, "/manifests/v1$"), proxy.RetryAfter(http.StatusTooManyRequests, "1")))
		s := e.spec("dst/img:1", nil, e.entry("src/amd64:v1", nil))
		if _, err := libtest.Push(context.Background(), s, e.opts()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("lying Docker-Content-Digest", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.image("src/amd64", "v1", *linux("amd64", ""), imagetest.Docker)
		e.Proxy.SetFault(proxy.Always(proxy.Match("", "/manifests/v1$"), proxy.SetResponseHeader("Docker-Content-Digest", "sha256:"+strings.Repeat("1", 64))))
		s := e.spec("dst/img:1", nil, e.entry("src/amd64:v1", nil))
		if _, err := libtest.Push(context.Background(), s, e.opts()); !errors.Is(err, registry.ErrDigestMismatch) || e.Proxy.Writes() != 0 {
			t.Errorf("error %v, %d writes", err, e.Proxy.Writes())
		}
	})
	t.Run("a stalled registry ends at the deadline", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.image("src/amd64", "v1", *linux("amd64", ""), imagetest.Docker)
		e.Proxy.SetFault(proxy.Always(proxy.Match("", "/manifests/v1$"), proxy.Stall(time.Minute)))
		s := e.spec("dst/img:1", nil, e.entry("src/amd64:v1", nil))
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := libtest.Push(ctx, s, e.opts())
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "HEAD ") || time.Since(start) > 5*time.Second {
			t.Errorf("error %v after %v", err, time.Since(start))
		}
	})
	t.Run("source on another registry that does not answer", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		// 127.0.0.1:9 is the discard port: nothing answers there. Sources
		// on other registries are copied (see package crossreg); one that
		// cannot be read fails the push before any write.
		s := e.spec("dst/img:1", nil, spec.Entry{Image: mustRef(t, "127.0.0.1:9/img:1")})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := libtest.Push(ctx, s, e.opts()); err == nil || !strings.Contains(err.Error(), "127.0.0.1:9/img:1") || e.Proxy.Writes() != 0 {
			t.Errorf("error %v, %d writes", err, e.Proxy.Writes())
		}
	})
	t.Run("registry rejecting the OCI index", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.image("src/amd64", "v1", *linux("amd64", ""), imagetest.OCI)
		e.Proxy.SetFault(func(r *http.Request, _ int) proxy.Action {
			if r.Method == http.MethodPut && r.Header.Get("Content-Type") == ocispec.MediaTypeImageIndex {
				return proxy.Respond(http.StatusBadRequest, nil, `{"errors":[{"code":"MANIFEST_INVALID","message":"unsupported"}]}`)
			}
			return proxy.Pass()
		})
		s := e.spec("dst/img:1", nil, e.entry("src/amd64:v1", nil))
		_, err := libtest.Push(context.Background(), s, e.opts())
		if err == nil || !strings.Contains(err.Error(), registry.HintIndexType.String()) {
			t.Errorf("error %v", err)
		}
	})
}

// TestNothingOutlivesAFailedPush: a push whose second source is missing
// fails before any write, while the referrer scan of the first source's
// repository (its tag list, held by the registry for 3 s) is still running.
// When Push has returned, no request of it is left running: the scan was
// cancelled and waited for, not left to finish behind the caller's back.
func TestNothingOutlivesAFailedPush(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.image("src/app", "amd64", *linux("amd64", ""), imagetest.OCI)
	e.Proxy.SetFault(func(r *http.Request, _ int) proxy.Action {
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			return proxy.Stall(3 * time.Second)
		}
		if strings.Contains(r.URL.Path, "/src/missing/") {
			return proxy.Stall(300 * time.Millisecond) // after the first source's scan has started
		}
		return proxy.Pass()
	})
	s := e.spec("dst/app:1", nil, e.entry("src/app:amd64", nil), e.entry("src/missing:1", nil))
	started := time.Now()
	_, err := libtest.Push(ctx, s, e.opts())
	if !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("push: %v, want a missing source", err)
	}
	returned := time.Since(started)
	scanned := false
	deadline := time.Now().Add(500 * time.Millisecond)
	for {
		running := 0
		for _, r := range e.Proxy.Requests() {
			scanned = scanned || strings.HasSuffix(r.Path, "/tags/list")
			if r.Duration == 0 {
				running++
			}
		}
		if running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still running after Push returned (in %v)\n%s", running, returned, clitest.Requests(e.Proxy))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !scanned {
		t.Fatalf("the first source's repository was not scanned: the test proves nothing\n%s", clitest.Requests(e.Proxy))
	}
	if e.Proxy.Writes() != 0 {
		t.Errorf("%d writes", e.Proxy.Writes())
	}
	t.Logf("Push returned in %v; every request had ended", returned)
}
