package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
)

// threeRepoSpec is a spec whose sources are in the repositories a, b and c
// and whose target is target/hello:1.0 with the extra tags 1 and latest.
const threeRepoSpec = `image: ${REG}/target/hello:1.0
tags: ["1", "latest"]
manifests:
  - image: ${REG}/a/img:amd64
    platform: {os: linux, architecture: amd64}
  - image: ${REG}/b/img:arm64
    platform: {os: linux, architecture: arm64}
  - image: ${REG}/c/img:armv7
    platform: {os: linux, architecture: arm, variant: v7}
`

// threeRepos pushes the sources of threeRepoSpec.
func (e *env) threeRepos() (amd64, arm64, armv7 ocispec.Descriptor) {
	e.t.Helper()
	return e.image("a/img", "amd64", "linux/amd64"), e.image("b/img", "arm64", "linux/arm64"), e.image("c/img", "armv7", "linux/arm/v7")
}

func TestCrossRepositoryFromSpec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64, armv7 := e.threeRepos()
	path := e.WriteFile("hello.yaml", threeRepoSpec)

	r := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)

	dgst, size := digestLine(t, r)
	repo := e.ref("target/hello")
	wantLines := []string{
		"+ linux/amd64",
		"+ linux/arm64",
		"+ linux/arm/v7",
		repo + ":1.0 updated (new)",
		repo + ":1 updated (new)",
		repo + ":latest updated (new)",
		fmt.Sprintf("Digest: %s %d", dgst, size),
	}
	if diff := cmp.Diff(wantLines, stdoutLines(r)); diff != "" {
		t.Errorf("stdout (-want +got):\n%s\n%s", diff, r)
	}

	p := e.index("target/hello", "1.0")
	if p.digest != dgst || int64(len(p.body)) != size {
		t.Errorf("registry holds %s %d, the Digest line says %s %d", p.digest, len(p.body), dgst, size)
	}
	if p.contentType != imagetest.MediaTypeDockerManifestList {
		t.Errorf("media type %s, want the Docker manifest list (every child is Docker, no annotation)", p.contentType)
	}
	if len(p.index.Annotations) != 0 {
		t.Errorf("index annotations %v, want none", p.index.Annotations)
	}
	wantEntries(t, p, []entry{
		{desc: amd64, platform: plat(t, "linux/amd64")},
		{desc: arm64, platform: plat(t, "linux/arm64")},
		{desc: armv7, platform: plat(t, "linux/arm/v7")},
	})
	wantSelected(t, p.index, map[string]selection{
		"linux/amd64":  {host: plat(t, "linux/amd64"), digest: amd64.Digest},
		"linux/arm64":  {host: plat(t, "linux/arm64"), digest: arm64.Digest},
		"linux/arm/v7": {host: plat(t, "linux/arm/v7"), digest: armv7.Digest},
	})
	for _, tag := range []string{"1.0", "1", "latest"} {
		if got := e.TagDigest("target/hello", tag); got != dgst {
			t.Errorf("target/hello:%s is %q, want %s", tag, got, dgst)
		}
	}
	if diff := cmp.Diff([]string{"1", "1.0", "latest"}, e.tags("target/hello")); diff != "" {
		t.Errorf("target tags (-want +got):\n%s", diff)
	}
	for _, d := range []ocispec.Descriptor{amd64, arm64, armv7} {
		e.hasImage("target/hello", d.Digest)
	}

	// The sources are untouched: nothing was written to their repositories,
	// and their tags are as they were.
	e.WantWritesOnlyTo("target/hello")
	for repo, want := range map[string]ocispec.Descriptor{"a/img": amd64, "b/img": arm64, "c/img": armv7} {
		for _, req := range e.Proxy.Requests() {
			if req.IsWrite() && strings.HasPrefix(req.Path, "/v2/"+repo+"/") {
				t.Errorf("write to the source repository %s: %s", repo, req)
			}
		}
		tags := e.tags(repo)
		if len(tags) != 1 {
			t.Errorf("%s tags %v, want one", repo, tags)
			continue
		}
		if got := e.TagDigest(repo, tags[0]); got != want.Digest {
			t.Errorf("%s:%s is %s, was %s", repo, tags[0], got, want.Digest)
		}
	}
}

func TestRerunWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.threeRepos()
	path := e.WriteFile("hello.yaml", threeRepoSpec)

	first := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, first, 0)
	d1, n1 := digestLine(t, first)

	e.Proxy.Reset()
	second := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, second, 0)
	e.wantNoWrites(second)
	d2, n2 := digestLine(t, second)
	if d1 != d2 || n1 != n2 {
		t.Errorf("rerun gave %s %d, first run %s %d", d2, n2, d1, n1)
	}
	repo := e.ref("target/hello")
	want := []string{
		repo + ":1.0 unchanged",
		repo + ":1 unchanged",
		repo + ":latest unchanged",
		fmt.Sprintf("Digest: %s %d", d1, n1),
	}
	if diff := cmp.Diff(want, stdoutLines(second)); diff != "" {
		t.Errorf("rerun stdout (-want +got):\n%s\n%s", diff, second)
	}
	if got := e.TagDigest("target/hello", "1.0"); got != d1 {
		t.Errorf("target/hello:1.0 is %s, want %s", got, d1)
	}
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.threeRepos()
	path := e.WriteFile("hello.yaml", threeRepoSpec)

	dry := e.run("--plain-http", "from-spec", "--dry-run", path)
	clitest.WantCode(t, dry, 0)
	e.wantNoWrites(dry)
	dd, dn := digestLine(t, dry)

	// The index document comes first on stdout: it is the JSON document
	// whose digest the Digest line gives.
	out := strings.TrimRight(dry.Stdout, "\n")
	end := strings.LastIndex(out, "\n}")
	if !strings.HasPrefix(out, "{") || end < 0 {
		t.Fatalf("dry-run stdout does not start with the index document\n%s", dry)
	}
	doc := out[:end+2]
	if got := digest.FromString(doc); got != dd || int64(len(doc)) != dn {
		t.Errorf("printed document is %s %d, the Digest line says %s %d\n%s", got, len(doc), dd, dn, doc)
	}
	repo := e.ref("target/hello")
	for _, tag := range []string{"1.0", "1", "latest"} {
		if !slices.Contains(stdoutLines(dry), repo+":"+tag+" would update (new)") {
			t.Errorf("dry-run does not say %q\n%s", repo+":"+tag+" would update (new)", dry)
		}
	}
	if tags := e.tags("target/hello"); tags != nil {
		t.Errorf("after --dry-run the target has tags %v, want none", tags)
	}
	if got := e.TagDigest("target/hello", "1.0"); got != "" {
		t.Errorf("after --dry-run target/hello:1.0 is %s, want absent", got)
	}

	real := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, real, 0)
	rd, rn := digestLine(t, real)
	if rd != dd || rn != dn {
		t.Errorf("real push gave %s %d, --dry-run said %s %d", rd, rn, dd, dn)
	}
	p := e.index("target/hello", "1.0")
	if string(p.body) != doc {
		t.Errorf("pushed bytes differ from the dry-run document\npushed:\n%s\ndry-run:\n%s", p.body, doc)
	}
}

func TestUntaggedTargetIsLatest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64 := e.image("src", "amd64", "linux/amd64")
	path := e.WriteFile("hello.yaml", `image: ${REG}/untagged
manifests:
  - image: ${REG}/src:amd64
    platform: {os: linux, architecture: amd64}
`)
	r := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)
	d, _ := digestLine(t, r)
	if !slices.Contains(stdoutLines(r), e.ref("untagged")+":latest updated (new)") {
		t.Errorf("stdout does not say %s:latest updated (new)\n%s", e.ref("untagged"), r)
	}
	if diff := cmp.Diff([]string{"latest"}, e.tags("untagged")); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	p := e.index("untagged", "latest")
	if p.digest != d {
		t.Errorf("untagged:latest is %s, Digest line %s", p.digest, d)
	}
	wantEntries(t, p, []entry{{desc: amd64, platform: plat(t, "linux/amd64")}})
}

func TestGlobalFlagsAfterCommandAndPushAlias(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.threeRepos()
	path := e.WriteFile("hello.yaml", threeRepoSpec)

	// Global flag after the command name.
	r := e.run("from-spec", "--plain-http", path)
	clitest.WantCode(t, r, 0)
	d, _ := digestLine(t, r)
	if got := e.TagDigest("target/hello", "1.0"); got != d {
		t.Fatalf("target/hello:1.0 is %q, want %s", got, d)
	}

	// manifest-tool's spelling, global flag after the subcommand: the same
	// index, unchanged.
	e.Proxy.Reset()
	r = e.run("push", "from-spec", "--plain-http", path)
	clitest.WantCode(t, r, 0)
	e.wantNoWrites(r)
	if d2, _ := digestLine(t, r); d2 != d {
		t.Errorf("push from-spec gave %s, from-spec %s", d2, d)
	}
	// Its stdout is manifest-tool's: the Digest line alone; the tag lines
	// go to stderr.
	if lines := stdoutLines(r); len(lines) != 1 {
		t.Errorf("push from-spec printed %d lines on stdout, want the Digest line alone\n%s", len(lines), r)
	}
	clitest.WantStderr(t, r, e.ref("target/hello")+":1.0 unchanged")

	// push from-args, global flag between push and from-args, to another target.
	r = e.run("push", "--plain-http", "from-args",
		"--platforms", "linux/amd64", "--template", e.ref("a/img:ARCH"), "--target", e.ref("alias/hello:2"))
	clitest.WantCode(t, r, 0)
	d3, _ := digestLine(t, r)
	if got := e.TagDigest("alias/hello", "2"); got != d3 {
		t.Errorf("alias/hello:2 is %q, want %s", got, d3)
	}
}

func TestSpecFromStdin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64, armv7 := e.threeRepos()
	r := e.runWith(clitest.RunOptions{Stdin: threeRepoSpec}, "--plain-http", "from-spec", "-")
	clitest.WantCode(t, r, 0)
	d, _ := digestLine(t, r)
	p := e.index("target/hello", "1.0")
	if p.digest != d {
		t.Errorf("target/hello:1.0 is %s, Digest line %s", p.digest, d)
	}
	wantEntries(t, p, []entry{
		{desc: amd64, platform: plat(t, "linux/amd64")},
		{desc: arm64, platform: plat(t, "linux/arm64")},
		{desc: armv7, platform: plat(t, "linux/arm/v7")},
	})

	// The same spec from a file gives the same digest.
	path := e.WriteFile("hello.yaml", threeRepoSpec)
	r = e.run("--plain-http", "from-spec", "--dry-run", path)
	clitest.WantCode(t, r, 0)
	if d2, _ := digestLine(t, r); d2 != d {
		t.Errorf("from a file %s, from stdin %s", d2, d)
	}
}

func TestTwoSpecsOneBad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("src", "amd64", "linux/amd64")
	good := e.WriteFile("good.yaml", `image: ${REG}/good/hello:1
manifests:
  - image: ${REG}/src:amd64
    platform: {os: linux, architecture: amd64}
`)
	bad := e.WriteFile("bad.yaml", `image: ${REG}/bad/hello:1
manifests:
  - image: ${REG}/src:amd64
    platfrom: {os: linux, architecture: amd64}
`)

	// Every spec is loaded and validated before any request: one bad file
	// and nothing is pushed, for any of them.
	t.Run("text", func(t *testing.T) {
		r := e.run("--plain-http", "from-spec", good, bad)
		clitest.WantCode(t, r, 2)
		clitest.WantStderr(t, r, bad+":4:5:", `unknown key "platfrom"`, "error: nothing pushed: 1 of the 2 spec files given is invalid; fix it and run again")
		if r.Stdout != "" {
			t.Errorf("stdout %q, want nothing", r.Stdout)
		}
		e.wantNoRequests(r)
		if tags := e.tags("good/hello"); tags != nil {
			t.Errorf("good/hello has tags %v", tags)
		}
	})

	t.Run("json", func(t *testing.T) {
		e.Proxy.Reset()
		r := e.run("--plain-http", "--output", "json", "from-spec", good, bad)
		clitest.WantCode(t, r, 2)
		lines := jsonLines(t, r)
		if len(lines) != 2 {
			t.Fatalf("%d JSON lines, want 2 (one per spec)\n%s", len(lines), r)
		}
		g, b := lines[0], lines[1]
		if g.Spec != good || b.Spec != bad {
			t.Errorf("spec fields %q, %q; want %q, %q", g.Spec, b.Spec, good, bad)
		}
		if !strings.Contains(g.Error, "nothing pushed: 1 of the 2 spec files given is invalid") || g.Target != e.ref("good/hello:1") || g.Digest != "" {
			t.Errorf("good line: %+v", g)
		}
		if !strings.Contains(b.Error, `unknown key "platfrom"`) {
			t.Errorf("bad line's error %q does not name the unknown key", b.Error)
		}
		if b.Digest != "" || b.Changed {
			t.Errorf("bad line: %+v", b)
		}
		e.wantNoRequests(r)
	})
}

func TestForceAndQuiet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.threeRepos()
	path := e.WriteFile("hello.yaml", threeRepoSpec)
	r := e.run("--plain-http", "--quiet", "from-spec", path)
	clitest.WantCode(t, r, 0)
	d, n := digestLine(t, r)
	// --quiet: the Digest line only.
	if diff := cmp.Diff([]string{fmt.Sprintf("Digest: %s %d", d, n)}, stdoutLines(r)); diff != "" {
		t.Errorf("--quiet stdout (-want +got):\n%s\n%s", diff, r)
	}

	e.Proxy.Reset()
	r = e.run("--plain-http", "from-spec", "--force", path)
	clitest.WantCode(t, r, 0)
	if e.Proxy.Writes() == 0 {
		t.Errorf("--force wrote nothing\n%s", r)
	}
	e.WantWritesOnlyTo("target/hello")
	if d2, n2 := digestLine(t, r); d2 != d || n2 != n {
		t.Errorf("--force gave %s %d, first push %s %d", d2, n2, d, n)
	}
	for _, tag := range []string{"1.0", "1", "latest"} {
		if line := fmt.Sprintf("%s:%s updated (was %s)", e.ref("target/hello"), tag, d); !slices.Contains(stdoutLines(r), line) {
			t.Errorf("--force does not say %q\n%s", line, r)
		}
	}
}

func TestRepeatedTagsDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("src", "amd64", "linux/amd64")
	r := e.run("--plain-http", "from-args", "--platforms", "linux/amd64", "--template", e.ref("src:ARCH"),
		"--target", e.ref("hello:1.2"), "--tags", "1.2,1,latest", "--tags", "1")
	clitest.WantCode(t, r, 0)
	d, n := digestLine(t, r)
	repo := e.ref("hello")
	want := []string{"+ linux/amd64", repo + ":1.2 updated (new)", repo + ":1 updated (new)", repo + ":latest updated (new)", fmt.Sprintf("Digest: %s %d", d, n)}
	if diff := cmp.Diff(want, stdoutLines(r)); diff != "" {
		t.Errorf("stdout (-want +got):\n%s\n%s", diff, r)
	}
	if diff := cmp.Diff([]string{"1", "1.2", "latest"}, e.tags("hello")); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}
