package faults

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// push is the from-args run every test makes: src/amd64:v1 and
// src/arm64:v1 as dst/img:1, plain HTTP through the proxy, plus extra.
func (e *env) push(extra ...string) clitest.Result {
	e.t.Helper()
	args := []string{"from-args", "--plain-http", "--platforms", "linux/amd64,linux/arm64",
		"--template", e.Host() + "/src/ARCH:v1", "--target", e.Host() + "/dst/img:1"}
	return e.Run(bin, clitest.RunOptions{}, append(args, extra...)...)
}

// sources pushes the two source images and returns their digests.
func (e *env) sources() (amd64, arm64 digest.Digest) {
	e.t.Helper()
	return e.LinuxImage("src/amd64", "v1", "amd64").Digest, e.LinuxImage("src/arm64", "v1", "arm64").Digest
}

// children reads repo:tag as an index and returns its manifests' digests.
func (e *env) children(repo, tag string) []digest.Digest {
	e.t.Helper()
	_, body, _, err := imagetest.GetManifest(context.Background(), e.Client, e.Registry.URL(), repo, tag)
	if err != nil {
		e.t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		e.t.Fatal(err)
	}
	var ds []digest.Digest
	for _, m := range idx.Manifests {
		ds = append(ds, m.Digest)
	}
	return ds
}

// wantPushed checks that dst/img:1 is an index of exactly want.
func (e *env) wantPushed(want ...digest.Digest) {
	e.t.Helper()
	got := e.children("dst/img", "1")
	if strings.Join(digestStrings(got), " ") != strings.Join(digestStrings(want), " ") {
		e.t.Errorf("dst/img:1 holds %v, want %v", got, want)
	}
}

func digestStrings(ds []digest.Digest) []string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
	}
	return s
}

// faultStatuses counts the requests the proxy answered with a fault.
func (e *env) faults() int {
	n := 0
	for _, r := range e.Proxy.Requests() {
		if r.Fault {
			n++
		}
	}
	return n
}

// indexPut matches the PUTs by digest in dst/img: the children copied into
// the target repository, then the index.
var indexPut = proxy.Match(http.MethodPut, `^/v2/dst/img/manifests/sha256:`)

// theIndexPut matches the PUT of the index itself (a Docker manifest list
// or an OCI index), by its content type.
func theIndexPut(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return r.Method == http.MethodPut && (ct == "application/vnd.docker.distribution.manifest.list.v2+json" || ct == ocispec.MediaTypeImageIndex)
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		retryAfter func() string
	}{
		{"seconds", func() string { return "1" }},
		{"HTTP date", func() string { return time.Now().Add(time.Second).UTC().Format(http.TimeFormat) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, registrytest.Options{})
			a, b := e.sources()
			// The first source GET and the index PUT are refused once each.
			e.Proxy.SetFault(proxy.Chain(
				proxy.Times(1, proxy.Match(http.MethodGet, `^/v2/src/amd64/manifests/`), proxy.RetryAfter(http.StatusTooManyRequests, tc.retryAfter())),
				proxy.Times(1, theIndexPut, proxy.RetryAfter(http.StatusTooManyRequests, tc.retryAfter())),
			))
			r := e.push("--timeout", "30s")
			wantCode(t, r, 0)
			if n := e.faults(); n != 2 {
				t.Errorf("%d faults injected, want 2\n%s", n, clitest.Requests(e.Proxy))
			}
			e.wantPushed(a, b)
		})
	}
}

func TestTransientStatus(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, registrytest.Options{})
			a, b := e.sources()
			body := `{"errors":[{"code":"UNKNOWN","message":"injected"}]}`
			e.Proxy.SetFault(proxy.Chain(
				proxy.Times(2, proxy.Match(http.MethodGet, `^/v2/src/arm64/manifests/`), proxy.Respond(status, nil, body)),
				proxy.Times(2, indexPut, proxy.Respond(status, nil, body)),
				proxy.Times(1, proxy.Match(http.MethodPut, `^/v2/dst/img/manifests/1$`), proxy.Respond(status, nil, body)),
			))
			r := e.push()
			wantCode(t, r, 0)
			if n := e.faults(); n != 5 {
				t.Errorf("%d faults injected, want 5\n%s", n, clitest.Requests(e.Proxy))
			}
			e.wantPushed(a, b)
		})
	}
}

func TestTransientStatusNeverRecovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{})
	e.sources()
	e.Proxy.SetFault(proxy.Always(indexPut, proxy.Respond(http.StatusServiceUnavailable, nil, "")))
	r := e.push()
	wantCode(t, r, 1)
	clitest.WantStderr(t, r, "503 Service Unavailable", "PUT ")
	puts := map[string]int{}
	for _, req := range e.Proxy.Requests() {
		if req.Fault {
			puts[req.Path]++
		}
	}
	if len(puts) == 0 {
		t.Errorf("no PUT by digest\n%s", clitest.Requests(e.Proxy))
	}
	for path, n := range puts {
		if n != 5 {
			t.Errorf("PUT %s sent %d times, want 5 (the retry policy's attempts)\n%s", path, n, clitest.Requests(e.Proxy))
		}
	}
	if d := e.TagDigest("dst/img", "1"); d != "" {
		t.Errorf("dst/img:1 is %s, want no tag", d)
	}
}

// TestResetDuringManifestPut drops the connection of a manifest PUT after
// the client sent it: before the registry saw it, and after it stored it.
// The PUT is idempotent and sent again.
func TestResetDuringManifestPut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mode proxy.ResetMode
	}{
		{"after body", proxy.ResetAfterBody},
		{"after upstream", proxy.ResetAfterUpstream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, registrytest.Options{})
			a, b := e.sources()
			e.Proxy.SetFault(proxy.Chain(
				proxy.Times(1, theIndexPut, proxy.Action{Reset: tc.mode}),
				proxy.Times(1, proxy.Match(http.MethodPut, `^/v2/dst/img/manifests/1$`), proxy.Action{Reset: tc.mode}),
			))
			r := e.push()
			wantCode(t, r, 0)
			if n := e.faults(); n != 2 {
				t.Errorf("%d faults injected, want 2\n%s", n, clitest.Requests(e.Proxy))
			}
			e.wantPushed(a, b)
		})
	}
}

// TestSlowerThanTimeout: a registry that stalls longer than --timeout ends
// the run at the timeout, with exit 1 and a message saying what the run was
// waiting for.
func TestSlowerThanTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{})
	e.sources()
	e.Proxy.SetFault(proxy.Always(proxy.Match("", `^/v2/src/amd64/manifests/v1$`), proxy.Stall(time.Minute)))
	start := time.Now()
	r := e.push("--timeout", "2s")
	took := time.Since(start)
	wantCode(t, r, 1)
	clitest.WantStderr(t, r, "--timeout 2s", "HEAD http://"+e.Host()+"/v2/src/amd64/manifests/v1")
	if took > 20*time.Second {
		t.Errorf("the run took %v with --timeout 2s", took)
	}
	if n := e.Proxy.Writes(); n != 0 {
		t.Errorf("%d writes, want none", n)
	}
}

// TestInterrupt: SIGINT cancels the requests in flight; the run ends at
// once, writing nothing.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{})
	e.sources()
	stalled := make(chan struct{}, 4)
	e.Proxy.SetFault(func(r *http.Request, _ int) proxy.Action {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/src/amd64/manifests/") {
			stalled <- struct{}{}
			return proxy.Stall(time.Minute)
		}
		return proxy.Pass()
	})
	cmd := exec.Command(bin, "from-args", "--plain-http", "--platforms", "linux/amd64,linux/arm64",
		"--template", e.Host()+"/src/ARCH:v1", "--target", e.Host()+"/dst/img:1")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.Dir, "DOCKER_CONFIG=" + e.Dir}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stalled:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill() // the test failed already
		t.Fatal("the binary never reached the registry")
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the run ended %v after SIGINT", took)
	}
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 1 {
		t.Errorf("exit %v, want 1\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupt signal received") {
		t.Errorf("stderr does not say the run was cancelled:\n%s", stderr.String())
	}
	if n := e.Proxy.Writes(); n != 0 {
		t.Errorf("%d writes, want none", n)
	}
}

// TestRegistryDown: nothing listens at the registry's address.
func TestRegistryDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{})
	e.Proxy.Close()
	r := e.push("--timeout", "20s")
	wantCode(t, r, 1)
	clitest.WantStderr(t, r, e.Host(), "connection refused")
}

// TestReadOnlyRegistry: distribution in read-only mode answers every write
// with a plain 405.
func TestReadOnlyRegistry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rw := newEnv(t, registrytest.Options{Dir: dir})
	rw.sources()
	rw.Registry.Close()
	e := newEnv(t, registrytest.Options{Dir: dir, ReadOnly: true})
	r := e.push()
	wantCode(t, r, 1)
	clitest.WantStderr(t, r, "405 Method Not Allowed", "the registry refuses writes")
	if d := e.TagDigest("dst/img", "1"); d != "" {
		t.Errorf("dst/img:1 is %s, want no tag", d)
	}
}

// TestOCIIndexRejected: a registry that refuses the OCI index media type;
// the message suggests --type docker.
func TestOCIIndexRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{})
	e.sources()
	e.Proxy.SetFault(func(r *http.Request, _ int) proxy.Action {
		if r.Method == http.MethodPut && r.Header.Get("Content-Type") == ocispec.MediaTypeImageIndex {
			return proxy.Respond(http.StatusBadRequest, http.Header{"Content-Type": {"application/json"}},
				`{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}`)
		}
		return proxy.Pass()
	})
	// Annotations make the index OCI.
	r := e.push("--annotations", "org.opencontainers.image.source=https://example.com")
	wantCode(t, r, 1)
	clitest.WantStderr(t, r, "MANIFEST_INVALID", "--type docker")
	if d := e.TagDigest("dst/img", "1"); d != "" {
		t.Errorf("dst/img:1 is %s, want no tag", d)
	}
	// Without annotations the sources (Docker images) give a Docker
	// manifest list, which this registry takes.
	r = e.push("--type", "docker")
	wantCode(t, r, 0)
}

// TestSourceTagMovedDuringPush: the source tag moves right after the tool
// resolved it; the index holds the digest resolved then, and the tag is
// resolved once.
func TestSourceTagMovedDuringPush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{})
	a, b := e.sources()
	var moved digest.Digest
	e.Proxy.SetFault(proxy.Times(1, proxy.Match("", `^/v2/src/amd64/manifests/v1$`), proxy.Action{
		ModifyResponse: func(*http.Response) error {
			d, err := imagetest.PushImage(context.Background(), e.Client, e.Registry.URL(), "src/amd64", "v1",
				imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, Labels: map[string]string{"moved": "yes"}})
			moved = d.Digest
			return err
		},
	}))
	r := e.push()
	wantCode(t, r, 0)
	if moved == "" || moved == a {
		t.Fatalf("the tag did not move (%s)", moved)
	}
	e.wantPushed(a, b)
	byTag := 0
	for _, req := range e.Proxy.Requests() {
		if req.Path == "/v2/src/amd64/manifests/v1" {
			byTag++
		}
	}
	if byTag != 1 {
		t.Errorf("src/amd64:v1 asked for %d times, want once\n%s", byTag, clitest.Requests(e.Proxy))
	}
}

// TestLyingDigest: the registry's Docker-Content-Digest does not match
// the bytes; verification refuses and nothing is written.
func TestLyingDigest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{})
	e.sources()
	e.Proxy.SetFault(proxy.Always(proxy.Match("", `^/v2/src/amd64/manifests/`),
		proxy.SetResponseHeader("Docker-Content-Digest", "sha256:"+strings.Repeat("1", 64))))
	r := e.push()
	wantCode(t, r, 1)
	clitest.WantStderr(t, r, "digest")
	if n := e.Proxy.Writes(); n != 0 {
		t.Errorf("%d writes, want none\n%s", n, clitest.Requests(e.Proxy))
	}
	if d := e.TagDigest("dst/img", "1"); d != "" {
		t.Errorf("dst/img:1 is %s, want no tag", d)
	}
}

// TestTagPutFails: the last tag's PUT fails after the target tag and the
// first extra tag were moved. stderr names the updated and the not
// updated tags with their previous digests; a rerun completes the job
// with one write.
func TestTagPutFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{})
	a, b := e.sources()
	r := e.Run(bin, clitest.RunOptions{}, "from-args", "--plain-http", "--platforms", "linux/amd64",
		"--template", e.Host()+"/src/ARCH:v1", "--target", e.Host()+"/dst/img:1", "--tags", "latest")
	wantCode(t, r, 0)
	before := e.TagDigest("dst/img", "latest")

	e.Proxy.SetFault(proxy.Always(proxy.Match(http.MethodPut, `^/v2/dst/img/manifests/latest$`),
		proxy.Respond(http.StatusBadRequest, http.Header{"Content-Type": {"application/json"}},
			`{"errors":[{"code":"TAG_INVALID","message":"tag is frozen"}]}`)))
	r = e.push("--tags", "2,latest")
	wantCode(t, r, 1)
	clitest.WantStderr(t, r, "updated: 1 2", "not updated: latest (still "+string(before)+")", "TAG_INVALID")
	if e.TagDigest("dst/img", "1") != e.TagDigest("dst/img", "2") || e.TagDigest("dst/img", "latest") != before {
		t.Errorf("after the failure: 1=%s 2=%s latest=%s (was %s)", e.TagDigest("dst/img", "1"), e.TagDigest("dst/img", "2"), e.TagDigest("dst/img", "latest"), before)
	}

	e.Proxy.SetFault(nil)
	e.Proxy.Reset()
	r = e.push("--tags", "2,latest")
	wantCode(t, r, 0)
	if e.Proxy.Writes() != 1 {
		t.Errorf("rerun wrote %d times, want 1 (the latest tag)\n%s", e.Proxy.Writes(), clitest.Requests(e.Proxy))
	}
	if e.TagDigest("dst/img", "latest") != e.TagDigest("dst/img", "1") {
		t.Error("rerun left latest behind")
	}
	e.wantPushed(a, b)
}
