package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// The publishing workflows of docs/rules.md: the completeness gate, reruns
// that heal, by-digest pushes, mirrors.

// gateRequired is the --require list of the gate tests.
const gateRequired = "linux/amd64,linux/arm64,linux/s390x"

// gate is one CI job of a gated matrix: it appends src to repo:target
// through the staging tag.
func (e *env) gate(staging, target, src string, extra ...string) clitest.Result {
	e.t.Helper()
	args := append([]string{"--plain-http"}, extra...)
	args = append(args, "from-args", "--append", "--require", gateRequired, "--staging-tag", staging,
		"--target", e.ref(target), src)
	return e.run(args...)
}

// platformsOf lists the platforms of idx's entries, sorted.
func platformsOf(idx ocispec.Index) []string {
	var out []string
	for _, m := range idx.Manifests {
		if m.Platform != nil {
			out = append(out, platforms.FormatAll(*m.Platform))
		}
	}
	slices.Sort(out)
	return out
}

// srcDigest is repo@digest of d on the proxy host.
func (e *env) srcDigest(repo string, d ocispec.Descriptor) string {
	return e.ref(repo + "@" + d.Digest.String())
}

// Three jobs of one run, one platform each, in turn: the public tag does not
// exist after the first two (each exits 0 and names what is missing, in
// text and JSON), and after the third it holds exactly the three required
// platforms, the index the staging tag holds. A later run with its own
// staging tag leaves the published tag alone until it completes.
func TestGateSequential(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64, s390x := e.image("src/app", "amd64", "linux/amd64"), e.image("src/app", "arm64", "linux/arm64"), e.image("src/app", "s390x", "linux/s390x")

	r := e.gate("1.0-run-1", "app:1.0", e.srcDigest("src/app", amd64))
	clitest.WantCode(t, r, 0)
	t.Logf("job 1:\n%s", r)
	if want := e.ref("app") + ":1.0-run-1 staged; still missing: linux/arm64, linux/s390x (" + e.ref("app:1.0") + " moves once they are in)"; !slices.Contains(stdoutLines(r), want) {
		t.Errorf("stdout does not say %q\n%s", want, r)
	}
	if d := e.TagDigest("app", "1.0"); d != "" {
		t.Fatalf("after job 1 the public tag exists (%s)", d)
	}
	if got := platformsOf(e.index("app", "1.0-run-1").index); !slices.Equal(got, []string{"linux/amd64"}) {
		t.Errorf("the staging tag holds %v after job 1", got)
	}

	r = e.gate("1.0-run-1", "app:1.0", e.srcDigest("src/app", arm64), "-o", "json")
	clitest.WantCode(t, r, 0)
	t.Logf("job 2:\n%s", r)
	lines := jsonLines(t, r)
	if len(lines) != 1 || lines[0].Staging == nil {
		t.Fatalf("JSON of job 2 has no staging\n%s", r)
	}
	if st := lines[0].Staging; st.Tag != "1.0-run-1" || st.Complete || !slices.Equal(st.Missing, []string{"linux/s390x"}) {
		t.Errorf("JSON staging %+v, want tag 1.0-run-1, not complete, missing [linux/s390x]", *st)
	}
	if len(lines[0].Tags) != 0 || lines[0].Target != e.ref("app:1.0") {
		t.Errorf("JSON target %q tags %+v, want the public target and no tag moved", lines[0].Target, lines[0].Tags)
	}
	if d := e.TagDigest("app", "1.0"); d != "" {
		t.Fatalf("after job 2 the public tag exists (%s)", d)
	}

	r = e.gate("1.0-run-1", "app:1.0", e.srcDigest("src/app", s390x))
	clitest.WantCode(t, r, 0)
	t.Logf("job 3:\n%s", r)
	for _, want := range []string{e.ref("app") + ":1.0-run-1 holds every required platform: the target tags move to it", e.ref("app") + ":1.0 updated (new)"} {
		if !slices.Contains(stdoutLines(r), want) {
			t.Errorf("stdout does not say %q\n%s", want, r)
		}
	}
	published := e.index("app", "1.0")
	if got := platformsOf(published.index); !slices.Equal(got, []string{"linux/amd64", "linux/arm64", "linux/s390x"}) {
		t.Errorf("the public tag holds %v, want exactly the three required platforms", got)
	}
	if d, _ := digestLine(t, r); d != published.digest || e.TagDigest("app", "1.0-run-1") != published.digest {
		t.Errorf("Digest: %s; the public tag %s, the staging tag %s: want the same", d, published.digest, e.TagDigest("app", "1.0-run-1"))
	}
	for _, m := range published.index.Manifests {
		e.hasImage("app", m.Digest)
	}

	// Run 2 rebuilds every platform: its first two jobs leave 1.0 alone.
	amd64v2 := e.Push("src/app", "amd64-v2", imagetest.Image{Platform: plat(t, "linux/amd64"), Labels: map[string]string{"run": "2"}})
	arm64v2 := e.Push("src/app", "arm64-v2", imagetest.Image{Platform: plat(t, "linux/arm64"), Labels: map[string]string{"run": "2"}})
	s390xv2 := e.Push("src/app", "s390x-v2", imagetest.Image{Platform: plat(t, "linux/s390x"), Labels: map[string]string{"run": "2"}})
	for i, img := range []ocispec.Descriptor{amd64v2, arm64v2} {
		clitest.WantCode(t, e.gate("1.0-run-2", "app:1.0", e.srcDigest("src/app", img)), 0)
		if d := e.TagDigest("app", "1.0"); d != published.digest {
			t.Fatalf("run 2, job %d moved the public tag to %s before the run completed", i+1, d)
		}
	}
	r = e.gate("1.0-run-2", "app:1.0", e.srcDigest("src/app", s390xv2))
	clitest.WantCode(t, r, 0)
	t.Logf("run 2, job 3:\n%s", r)
	got := e.index("app", "1.0")
	if got.digest == published.digest {
		t.Fatal("run 2 completed and the public tag did not move")
	}
	var children []digest.Digest
	for _, m := range got.index.Manifests {
		children = append(children, m.Digest)
	}
	slices.Sort(children)
	want := []digest.Digest{amd64v2.Digest, arm64v2.Digest, s390xv2.Digest}
	slices.Sort(want)
	if !slices.Equal(children, want) {
		t.Errorf("after run 2 the public tag holds %v, want run 2's images %v", children, want)
	}
	if d := e.TagDigest("app", "1.0-run-1"); d != published.digest {
		t.Errorf("run 1's staging tag moved to %s", d)
	}
}

// Six jobs of one run started together, five times (fresh tags each), one
// required platform each, through a registry that takes 10 ms a request: a
// poller reading the public tag every 50 ms never sees an index that lacks
// a required platform, and at the end the tag holds all six.
func TestGateConcurrent(t *testing.T) {
	t.Parallel()
	const reps = 5
	e := newEnv(t)
	plats := []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/s390x", "linux/riscv64"}
	images := make([]ocispec.Descriptor, len(plats))
	for i, p := range plats {
		images[i] = e.image("build/app", fmt.Sprintf("job%d", i), p)
	}
	require := strings.Join(plats, ",")
	want := slices.Clone(plats)
	for i := range want {
		want[i] = platforms.FormatAll(plat(t, want[i]))
	}
	slices.Sort(want)
	cfg := filepath.Join(t.TempDir(), "docker")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		t.Fatal(err)
	}

	e.Proxy.SetDelay(10 * time.Millisecond)
	var reads, seen, partial atomic.Int64
	for rep := range reps {
		tag := fmt.Sprintf("2.%d", rep)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var bad []string
		var mu sync.Mutex
		wg.Go(func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				reads.Add(1)
				_, body, _, err := imagetest.GetManifest(context.Background(), e.Client, e.Registry.URL(), "app", tag)
				if err != nil {
					continue // not published yet
				}
				seen.Add(1)
				var idx ocispec.Index
				if err := json.Unmarshal(body, &idx); err != nil || !slices.Equal(platformsOf(idx), want) {
					partial.Add(1)
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%v (%v)", platformsOf(idx), err))
					mu.Unlock()
				}
			}
		})

		cmds := make([]*exec.Cmd, len(plats))
		outs := make([]*bytes.Buffer, len(plats))
		errs := make([]*bytes.Buffer, len(plats))
		for i := range plats {
			cmds[i] = exec.CommandContext(t.Context(), bin, "--plain-http", "-o", "json", "from-args", "--append",
				"--require", require, "--staging-tag", tag+"-run-1", "--target", e.ref("app:"+tag), e.ref(fmt.Sprintf("build/app:job%d", i)))
			cmds[i].Env = []string{"HOME=" + e.Dir, "DOCKER_CONFIG=" + cfg, "PATH=" + os.Getenv("PATH")}
			outs[i], errs[i] = new(bytes.Buffer), new(bytes.Buffer)
			cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
		}
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		completed := 0
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("repetition %d, job %d (%s): %v\n%s%s", rep, i, plats[i], err, outs[i], errs[i])
				continue
			}
			var res jsonResult
			if err := json.Unmarshal(outs[i].Bytes(), &res); err != nil || res.Staging == nil {
				t.Errorf("repetition %d, job %d: JSON %v\n%s", rep, i, err, outs[i])
				continue
			}
			if res.Staging.Complete {
				completed++
			}
		}
		// One more read after every job has ended, then the poller stops.
		time.Sleep(60 * time.Millisecond)
		close(stop)
		wg.Wait()
		if len(bad) > 0 {
			t.Errorf("repetition %d: the public tag was read holding a partial index %d time(s): %v", rep, len(bad), bad)
		}
		final := e.index("app", tag)
		if got := platformsOf(final.index); !slices.Equal(got, want) {
			t.Fatalf("repetition %d: app:%s holds %v, want %v", rep, tag, got, want)
		}
		for _, m := range final.index.Manifests {
			e.hasImage("app", m.Digest)
		}
		t.Logf("repetition %d: %d of 6 jobs saw the staging index complete", rep, completed)
	}
	t.Logf("poller: %d reads of the public tag, %d found it published, %d partial", reads.Load(), seen.Load(), partial.Load())
	if seen.Load() == 0 {
		t.Error("the poller never saw the public tag: it checked nothing")
	}
}

// Misuse of the gate flags is exit 2, says what to do, and sends nothing.
func TestGateMisuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	src := e.ref("src/app:amd64")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"require without append", []string{"--require", "linux/amd64", "--staging-tag", "1.0-run-1"}, "--require needs --append and --staging-tag TAG"},
		{"require without staging tag", []string{"--append", "--require", "linux/amd64"}, "--require needs --append and --staging-tag TAG"},
		{"staging tag without require", []string{"--append", "--staging-tag", "1.0-run-1"}, "--staging-tag is for the completeness gate"},
		{"by-digest with require", []string{"--by-digest", "--append", "--require", "linux/amd64", "--staging-tag", "1.0-run-1"}, "--by-digest moves no tag and --require moves the target tag"},
		{"staging tag is the target tag", []string{"--append", "--require", "linux/amd64", "--staging-tag", "1.0"}, "--staging-tag 1.0 is a tag the index is published under"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.Proxy.Reset()
			args := append([]string{"--plain-http", "from-args"}, tc.args...)
			r := e.run(append(args, "--target", e.ref("app:1.0"), src)...)
			clitest.WantCode(t, r, 2)
			clitest.WantStderr(t, r, tc.want)
			t.Logf("%s", r.Stderr)
			e.wantNoRequests(r)
		})
	}
}

// A clean-up job deletes a child of a published index: verify exits 5 and
// says that a rerun repairs it; the rerun copies it back; verify then exits
// 0; a rerun with nothing missing writes nothing.
func TestHeal(t *testing.T) {
	t.Parallel()
	e := deleting(t)
	amd64, arm64, _ := e.linuxImages("src")
	push := func() clitest.Result {
		return e.run("--plain-http", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", e.ref("src:ARCH"), "--target", e.ref("app:1"), "--tags", "latest")
	}
	clitest.WantCode(t, push(), 0)
	index := e.TagDigest("app", "1")

	e.delete("/v2/app/manifests/" + amd64.Digest.String())
	r := e.run("--plain-http", "verify", e.ref("app:1"))
	clitest.WantCode(t, r, 5)
	t.Logf("verify after the clean-up:\n%s", r)
	clitest.WantStderr(t, r, "hint: run the push that published it again", "a rerun copies the missing manifests back")

	e.Proxy.Reset()
	r = push()
	clitest.WantCode(t, r, 0)
	t.Logf("healing rerun:\n%s", r)
	e.hasImage("app", amd64.Digest)
	e.hasImage("app", arm64.Digest)
	if d := e.TagDigest("app", "1"); d != index {
		t.Errorf("the rerun moved the tag to %s", d)
	}
	var puts []string
	for _, req := range e.Proxy.Requests() {
		if req.IsWrite() {
			puts = append(puts, req.String())
		}
		if req.Method == http.MethodPut && strings.Contains(req.Path, "/manifests/") && !strings.HasSuffix(req.Path, amd64.Digest.String()) {
			t.Errorf("the healing rerun wrote a manifest other than the missing child: %s", req)
		}
	}
	t.Logf("healing rerun: %d requests, %d writes: %v", e.Proxy.Count(), e.Proxy.Writes(), puts)
	if !slices.Contains(puts, "PUT /v2/app/manifests/"+amd64.Digest.String()+" 201") {
		t.Errorf("the missing child was not written back\n%s", clitest.Requests(e.Proxy))
	}
	e.WantWritesOnlyTo("app")

	r = e.run("--plain-http", "verify", e.ref("app:1"))
	clitest.WantCode(t, r, 0)
	if strings.Contains(r.Stderr, "hint:") {
		t.Errorf("verify of a whole index gives a hint\n%s", r)
	}

	e.Proxy.Reset()
	r = push()
	clitest.WantCode(t, r, 0)
	e.wantNoWrites(r)
	heads := 0
	for _, req := range e.Proxy.Requests() {
		if req.Method == http.MethodHead && strings.Contains(req.Path, "/v2/app/manifests/sha256:") {
			heads++
		}
	}
	t.Logf("rerun with nothing missing: %d requests, %d writes, %d HEADs of children in the target", e.Proxy.Count(), e.Proxy.Writes(), heads)
	if heads != 2 {
		t.Errorf("the rerun looked for %d children in the target, want 2\n%s", heads, clitest.Requests(e.Proxy))
	}
}

// --by-digest writes the children and the index and moves no tag: the tag
// list is as before, the index is there by digest, stdout ends with its
// Digest: line, and a rerun writes nothing. Then the README's recipe goes
// on: the index is signed by its digest, and a push without --by-digest
// moves the tags to that same index.
func TestByDigest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	args := e.TwoPlatforms()
	clitest.WantCode(t, e.run("--plain-http", "from-args", "--platforms", "linux/amd64", "--template", e.ref("src/ARCH:v1"), "--target", e.ref("dst/img:0.9")), 0)
	before := e.tags("dst/img")
	old := e.TagDigest("dst/img", "0.9")

	e.Proxy.Reset()
	r := e.run(append([]string{"--plain-http"}, append(args, "--by-digest")...)...)
	clitest.WantCode(t, r, 0)
	t.Logf("%s", r)
	d, size := digestLine(t, r)
	if want := e.ref("dst/img") + "@" + d.String() + " pushed by digest; no tag moved"; !slices.Contains(stdoutLines(r), want) {
		t.Errorf("stdout does not say %q\n%s", want, r)
	}
	if got := e.tags("dst/img"); !slices.Equal(got, before) {
		t.Errorf("tags %v after --by-digest, want %v", got, before)
	}
	if e.TagDigest("dst/img", "0.9") != old {
		t.Error("the existing tag moved")
	}
	head, err := imagetest.HeadManifest(context.Background(), e.Client, e.Registry.URL(), "dst/img", d.String())
	if err != nil || head.Size != size {
		t.Fatalf("HEAD dst/img@%s: %v (size %d, want %d)", d, err, head.Size, size)
	}
	p := e.index("dst/img", d.String())
	for _, m := range p.index.Manifests {
		e.hasImage("dst/img", m.Digest)
	}
	for _, req := range e.Proxy.Requests() {
		if req.Method == http.MethodPut && strings.Contains(req.Path, "/manifests/") && !strings.Contains(req.Path, "/manifests/sha256:") {
			t.Errorf("--by-digest wrote a tag: %s", req)
		}
	}

	e.Proxy.Reset()
	r = e.run(append([]string{"--plain-http", "-o", "json"}, append(args, "--by-digest")...)...)
	clitest.WantCode(t, r, 0)
	e.wantNoWrites(r)
	t.Logf("rerun: %d requests, %d writes", e.Proxy.Count(), e.Proxy.Writes())
	if lines := jsonLines(t, r); len(lines) != 1 || !lines[0].ByDigest || lines[0].Digest != d || len(lines[0].Tags) != 0 || lines[0].Changed {
		t.Errorf("rerun JSON %+v, want byDigest, digest %s, no tags, unchanged", lines, d)
	}

	// The README's recipe takes the digest from the --quiet output, whose
	// only line is the Digest: line.
	r = e.run(append([]string{"--plain-http", "--quiet"}, append(args, "--by-digest")...)...)
	clitest.WantCode(t, r, 0)
	if want := fmt.Sprintf("Digest: %s %d\n", d, size); r.Stdout != want {
		t.Errorf("--quiet --by-digest stdout %q, want %q", r.Stdout, want)
	}

	// Sign it, as cosign does (a signature under the tag
	// sha256-<hex>.sig of the index's digest), then tag it: the tags point
	// at the same index, so the signature made for its digest holds, and
	// verify finds it whole.
	s := side{base: e.Registry.URL(), client: e.Client, proxy: e.Proxy}
	sig := s.artifact(t, "dst/img", nil, "application/vnd.dev.cosign.simplesigning.v1+json", "cosign signature of the index", tagOf(d)+".sig")
	e.Proxy.Reset()
	r = e.run(append([]string{"--plain-http"}, args...)...)
	clitest.WantCode(t, r, 0)
	if e.TagDigest("dst/img", "1") != d || e.TagDigest("dst/img", "latest") != d {
		t.Errorf("the tags do not point at %s\n%s", d, r)
	}
	if got := e.TagDigest("dst/img", tagOf(d)+".sig"); got != sig.Digest {
		t.Errorf("the signature of the tagged index is %q, want %s", got, sig.Digest)
	}
	t.Logf("tagging: %d requests, %d writes", e.Proxy.Count(), e.Proxy.Writes())
	clitest.WantCode(t, e.run("--plain-http", "verify", e.ref("dst/img:1")), 0)
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// One run publishes the same index to the target and two mirrors on other
// registries (--mirror on from-args, mirrors: in a spec): each holds the
// same digest under its tags, every child and the cosign signature of a
// child; one JSON line per target; a mirror on a closed port fails, named,
// while the target and the other mirror are published, and the exit code
// is 1.
func TestMirrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m1 := &env{Env: clitest.NewEnv(t, registrytest.Options{}), t: t}
	m2 := &env{Env: clitest.NewEnv(t, registrytest.Options{}), t: t}
	amd64 := e.Push("src", "amd64", imagetest.Image{Platform: plat(t, "linux/amd64"), Format: imagetest.OCI})
	arm64 := e.Push("src", "arm64", imagetest.Image{Platform: plat(t, "linux/arm64"), Format: imagetest.OCI})
	s := side{base: e.Registry.URL(), client: e.Client, proxy: e.Proxy}
	sig := s.artifact(t, "src", nil, "application/vnd.dev.cosign.simplesigning.v1+json", "cosign signature", tagOf(amd64.Digest)+".sig")

	check := func(t *testing.T, x *env, repo, tag string, d digest.Digest) {
		t.Helper()
		for _, tg := range []string{tag, "latest"} {
			if got := x.TagDigest(repo, tg); got != d {
				t.Errorf("%s/%s:%s is %q, want %s", x.Registry.Host(), repo, tg, got, d)
			}
		}
		x.hasImage(repo, amd64.Digest)
		x.hasImage(repo, arm64.Digest)
		if got := x.TagDigest(repo, tagOf(amd64.Digest)+".sig"); got != sig.Digest {
			t.Errorf("the cosign signature in %s/%s is %q, want %s", x.Registry.Host(), repo, got, sig.Digest)
		}
	}

	t.Run("from-args", func(t *testing.T) {
		r := e.run("--plain-http", "-o", "json", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", e.ref("src:ARCH"),
			"--target", e.ref("app:1.0"), "--tags", "latest", "--mirror", m1.ref("mirror/app:1.0"), "--mirror", m2.ref("team/app:v1.0"))
		clitest.WantCode(t, r, 0)
		t.Logf("%s", r)
		lines := jsonLines(t, r)
		if len(lines) != 3 {
			t.Fatalf("%d JSON lines, want 3 (one per target)\n%s", len(lines), r)
		}
		d := e.TagDigest("app", "1.0")
		for i, want := range []string{e.ref("app:1.0"), m1.ref("mirror/app:1.0"), m2.ref("team/app:v1.0")} {
			if lines[i].Target != want || lines[i].Digest != d || lines[i].Error != "" || !lines[i].Changed {
				t.Errorf("JSON line %d: target %q digest %s error %q changed %v, want %s, %s, no error, changed", i, lines[i].Target, lines[i].Digest, lines[i].Error, lines[i].Changed, want, d)
			}
		}
		check(t, e, "app", "1.0", d)
		check(t, m1, "mirror/app", "1.0", d)
		check(t, m2, "team/app", "v1.0", d)
		if !bytes.Equal(e.index("app", "1.0").body, m1.index("mirror/app", "1.0").body) {
			t.Error("the mirror's index bytes differ from the target's")
		}
		m1.WantWritesOnlyTo("mirror/app")
		m2.WantWritesOnlyTo("team/app")

		// A rerun writes nothing anywhere.
		for _, x := range []*env{e, m1, m2} {
			x.Proxy.Reset()
		}
		r = e.run("--plain-http", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", e.ref("src:ARCH"),
			"--target", e.ref("app:1.0"), "--tags", "latest", "--mirror", m1.ref("mirror/app:1.0"), "--mirror", m2.ref("team/app:v1.0"))
		clitest.WantCode(t, r, 0)
		t.Logf("rerun:\n%s", r)
		for _, x := range []*env{e, m1, m2} {
			x.wantNoWrites(r)
		}
	})

	t.Run("spec with a mirror on a closed port", func(t *testing.T) {
		dead := closedPort(t)
		for _, x := range []*env{e, m1, m2} {
			x.Proxy.Reset()
		}
		path := e.WriteFile("mirrors.yaml", fmt.Sprintf(`image: %s
tags: [latest]
mirrors:
  - %s
  - %s/down/app:2.0
manifests:
  - image: %s
    platform: {os: linux, architecture: amd64}
  - image: %s
    platform: {os: linux, architecture: arm64}
`, e.ref("app:2.0"), m1.ref("mirror/app:2.0"), dead, e.ref("src:amd64"), e.ref("src:arm64")))
		r := e.run("--plain-http", "--timeout", "30s", "from-spec", path)
		t.Logf("%s", r)
		clitest.WantCode(t, r, 1)
		clitest.WantStderr(t, r, "error: mirror "+dead+"/down/app:2.0: ")
		d := e.TagDigest("app", "2.0")
		if d == "" {
			t.Fatal("the target was not published")
		}
		check(t, e, "app", "2.0", d)
		check(t, m1, "mirror/app", "2.0", d)
		if n := strings.Count(r.Stdout, "Digest: "+d.String()); n != 2 {
			t.Errorf("%d Digest: lines, want 2 (the target and the mirror that was published)\n%s", n, r)
		}

		r = e.run("--plain-http", "--timeout", "30s", "-o", "json", "from-spec", path)
		clitest.WantCode(t, r, 1)
		lines := jsonLines(t, r)
		if len(lines) != 3 {
			t.Fatalf("%d JSON lines, want 3\n%s", len(lines), r)
		}
		if lines[0].Error != "" || lines[1].Error != "" || lines[2].Target != dead+"/down/app:2.0" || !strings.Contains(lines[2].Error, dead) {
			t.Errorf("JSON: want the target and the first mirror without error, the dead mirror named with its error\n%s", r)
		}
	})
}
