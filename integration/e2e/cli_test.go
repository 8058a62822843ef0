package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
)

// Flags after the arguments are flags, never spec files or references: the
// trap where "from-spec FILE --dry-run" pushed for real and then failed on
// a spec called --dry-run.
func TestFlagsAfterArguments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.threeRepos()
	path := e.WriteFile("hello.yaml", threeRepoSpec)

	r := e.run("--plain-http", "from-spec", path, "--dry-run")
	clitest.WantCode(t, r, 0)
	e.wantNoWrites(r)
	if !slices.Contains(stdoutLines(r), e.ref("target/hello")+":1.0 would update (new)") || r.Stderr != "" {
		t.Errorf("a dry run after the file does not say would update\n%s", r)
	}

	e.Proxy.Reset()
	r = e.run("from-spec", path, "-q", "-o", "json", "--plain-http", "--dry-run")
	clitest.WantCode(t, r, 0)
	e.wantNoWrites(r)
	if lines := jsonLines(t, r); len(lines) != 1 || !lines[0].DryRun || lines[0].Target != e.ref("target/hello:1.0") {
		t.Errorf("-q -o json at the end: %+v\n%s", lines, r)
	}

	// manifest-tool's positions.
	r = e.run("--plain-http", "push", "--type", "oci", "from-spec", path)
	clitest.WantCode(t, r, 0)
	if p := e.index("target/hello", "1.0"); p.contentType != ocispec.MediaTypeImageIndex {
		t.Errorf("push --type oci from-spec gave %s", p.contentType)
	}
	r = e.run("push", "--ignore-missing", "from-args", "--platforms", "linux/amd64,linux/s390x", "--template", e.ref("a/img:ARCH"), "--target", e.ref("mt/hello:1"), "--plain-http")
	clitest.WantCode(t, r, 0)
	clitest.WantStderr(t, r, "warning: "+e.ref("a/img:s390x")+" not found; left out")
	if strings.Contains(r.Stderr, "warning: :") {
		t.Errorf("a warning with an empty position\n%s", r)
	}

	// inspect REF --raw.
	r = e.run("inspect", e.ref("target/hello:1.0"), "--raw", "--plain-http")
	clitest.WantCode(t, r, 0)
	if p := e.index("target/hello", "1.0"); r.Stdout != string(p.body)+"\n" {
		t.Errorf("inspect REF --raw printed\n%s\nwant the document\n%s", r.Stdout, p.body)
	}

	// -- ends the flags: what follows is a spec file, even if it looks like a flag.
	r = e.run("--plain-http", "from-spec", "--", "--dry-run")
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, "--dry-run: cannot open the spec")
}

// The build-matrix merge: each CI job pushed its image and printed its
// digest; one command makes the index from the digests, platforms read from
// the configs.
func TestFromArgsSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64, armv7 := e.linuxImages("build/app")
	at := func(d ocispec.Descriptor) string { return e.ref("build/app@" + d.Digest.String()) }

	r := e.run("--plain-http", "from-args", "--target", e.ref("app:1.2"), "--tags", "latest", at(amd64), at(arm64), at(armv7))
	clitest.WantCode(t, r, 0)
	p := e.index("app", "1.2")
	wantEntries(t, p, []entry{
		{desc: amd64, platform: plat(t, "linux/amd64")},
		{desc: arm64, platform: plat(t, "linux/arm64")},
		{desc: armv7, platform: plat(t, "linux/arm/v7")},
	})
	for _, l := range []string{"+ linux/amd64", "+ linux/arm64", "+ linux/arm/v7", e.ref("app:1.2") + " updated (new)"} {
		if !slices.Contains(stdoutLines(r), l) {
			t.Errorf("stdout has no %q\n%s", l, r)
		}
	}

	// The rerun of the same job writes nothing.
	e.Proxy.Reset()
	r = e.run("--plain-http", "from-args", "--target", e.ref("app:1.2"), "--tags", "latest", at(amd64), at(arm64), at(armv7))
	clitest.WantCode(t, r, 0)
	e.wantNoWrites(r)

	// --platforms selects among what the sources give.
	r = e.run("--plain-http", "from-args", "--platforms", "linux/arm64,linux/arm", "--target", e.ref("app:arm"), at(amd64), at(arm64), at(armv7))
	clitest.WantCode(t, r, 0)
	wantEntries(t, e.index("app", "arm"), []entry{
		{desc: arm64, platform: plat(t, "linux/arm64")},
		{desc: armv7, platform: plat(t, "linux/arm/v7")},
	})
	// ... and one that no source gives is an error, before any write.
	e.Proxy.Reset()
	r = e.run("--plain-http", "from-args", "--platforms", "linux/s390x", "--target", e.ref("app:s390x"), at(amd64), at(arm64))
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, "--platforms: no source gives linux/s390x; they give: linux/amd64, linux/arm64")
	e.wantNoWrites(r)

	// An index source gives its entries (P4); the existing multi-platform
	// tag plus an image it already holds is the same index: unchanged.
	e.Proxy.Reset()
	r = e.run("--plain-http", "from-args", "--target", e.ref("app:1.2"), "--tags", "latest", e.ref("app:1.2"), at(arm64))
	clitest.WantCode(t, r, 0)
	e.wantNoWrites(r)
	if want := e.ref("app") + ":1.2 unchanged"; !slices.Contains(stdoutLines(r), want) {
		t.Errorf("stdout has no %q\n%s", want, r)
	}
}

// The seed's Windows story with one command: the Linux list is published;
// later the Windows job adds its image to it.
func TestWindowsImageLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64, _ := e.linuxImages("app")
	r := e.run("--plain-http", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", e.ref("app:ARCH"), "--target", e.ref("app:1.0"))
	clitest.WantCode(t, r, 0)
	linux := e.TagDigest("app", "1.0")

	win := e.Push("app", "windows-amd64", imagetest.Image{Platform: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.2700"}})
	r = e.run("--plain-http", "from-args", "--target", e.ref("app:1.0"), e.ref("app:1.0"), e.ref("app:windows-amd64"))
	clitest.WantCode(t, r, 0)
	want := []string{
		"+ windows/amd64:10.0.20348.2700",
		fmt.Sprintf("%s:1.0 updated (was %s)", e.ref("app"), linux),
	}
	if got := stdoutLines(r); len(got) != 3 || !slices.Equal(got[:2], want) {
		t.Errorf("stdout %q, want %q and the Digest line", got, want)
	}
	wantEntries(t, e.index("app", "1.0"), []entry{
		{desc: amd64, platform: plat(t, "linux/amd64")},
		{desc: arm64, platform: plat(t, "linux/arm64")},
		{desc: win, platform: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.2700"}},
	})

	// The rerun of the Windows job: the index already holds its image.
	e.Proxy.Reset()
	r = e.run("--plain-http", "from-args", "--target", e.ref("app:1.0"), e.ref("app:1.0"), e.ref("app:windows-amd64"))
	clitest.WantCode(t, r, 0)
	e.wantNoWrites(r)
}

// Change lines: + for a platform the tag did not hold, ~ for a new image
// of one it held, - for one it no longer holds.
func TestChangeLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, _, _ := e.linuxImages("src")
	args := func(platforms string) []string {
		return []string{"--plain-http", "from-args", "--platforms", platforms, "--template", e.ref("src:ARCHVARIANT"), "--target", e.ref("app:1")}
	}
	clitest.WantCode(t, e.run(args("linux/amd64,linux/arm/v7")...), 0)
	amd64v2 := e.Push("src", "amd64", imagetest.Image{Platform: plat(t, "linux/amd64"), Files: map[string][]byte{"v": []byte("2")}})
	r := e.run(args("linux/amd64,linux/arm64")...)
	clitest.WantCode(t, r, 0)
	want := []string{
		fmt.Sprintf("~ linux/amd64 %s -> %s", amd64.Digest, amd64v2.Digest),
		"+ linux/arm64",
		"- linux/arm/v7",
	}
	if got := stdoutLines(r); len(got) < 3 || !slices.Equal(got[:3], want) {
		t.Errorf("stdout (want the lines %q first)\n%s", want, r)
	}
}

// One cause, one line: a plain-HTTP registry spoken to over HTTPS fails
// every request the same way; that is said once, with a count and the fix.
func TestSameFailureOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var spec strings.Builder
	fmt.Fprintf(&spec, "image: ${REG}/app:1\nmanifests:\n")
	for _, arch := range []string{"amd64", "arm64", "s390x", "ppc64le", "riscv64", "386"} {
		fmt.Fprintf(&spec, "  - image: ${REG}/src:%s\n    platform: {os: linux, architecture: %s}\n", arch, arch)
	}
	path := e.WriteFile("six.yaml", spec.String())
	r := e.run("from-spec", path)
	clitest.WantCode(t, r, 1)
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines on stderr, want 3 (the failure, the count, the hint)\n%s", len(lines), r)
	}
	if !strings.Contains(lines[0], "server gave HTTP response to HTTPS client") ||
		!strings.HasPrefix(lines[1], "error: the same failure for 6 more: ") ||
		lines[2] != fmt.Sprintf("hint: %s speaks plain HTTP: try --plain-http-host %s (or --plain-http for every registry)", e.Host(), e.Host()) {
		t.Errorf("stderr:\n%s", r.Stderr)
	}

	// The fix the hint gives works.
	e.image("src", "amd64", "linux/amd64")
	r = e.run("from-args", "--plain-http-host", e.Host(), "--platforms", "linux/amd64", "--template", e.ref("src:ARCH"), "--target", e.ref("app:1"))
	clitest.WantCode(t, r, 0)
	// A plain-HTTP host names that host only: another stays HTTPS.
	r = e.run("from-args", "--plain-http-host", "127.0.0.2", "--platforms", "linux/amd64", "--template", e.ref("src:ARCH"), "--target", e.ref("app:2"))
	clitest.WantCode(t, r, 1)
	clitest.WantStderr(t, r, "hint: "+e.Host()+" speaks plain HTTP")
}

// Exit 4 is a missing source only; the target refusing a write for a
// missing blob or repository is a registry failure, exit 1, naming it.
func TestTargetNotFoundIsNotAMissingSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("src", "amd64", "linux/amd64")
	e.Proxy.SetFault(proxy.Always(proxy.Match(http.MethodPut, "/v2/app/manifests/*"),
		proxy.Respond(http.StatusNotFound, http.Header{"Content-Type": {"application/json"}}, `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}`)))
	r := e.run("--plain-http", "from-args", "--platforms", "linux/amd64", "--template", e.ref("src:ARCH"), "--target", e.ref("app:1"))
	clitest.WantCode(t, r, 1)
	clitest.WantStderr(t, r, "PUT http://"+e.Host()+"/v2/app/manifests/", "NAME_UNKNOWN")
}

// A registry that has not caught up with the children it acknowledged
// (MANIFEST_BLOB_UNKNOWN for the index) gets a few more tries.
func TestIndexRetriedWhileChildrenUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("app", "amd64", "linux/amd64") // in the target repository: the index is the only manifest PUT by digest
	e.Proxy.SetFault(proxy.Times(2, proxy.Match(http.MethodPut, "/v2/app/manifests/sha256:*"),
		proxy.Respond(http.StatusBadRequest, http.Header{"Content-Type": {"application/json"}}, `{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}`)))
	r := e.run("--plain-http", "from-args", "--platforms", "linux/amd64", "--template", e.ref("app:ARCH"), "--target", e.ref("app:1"))
	clitest.WantCode(t, r, 0)
	d, _ := digestLine(t, r)
	puts := 0
	for _, req := range e.Proxy.Requests() {
		if req.Method == http.MethodPut && strings.HasSuffix(req.Path, "/manifests/"+d.String()) {
			puts++
		}
	}
	if puts != 3 {
		t.Errorf("the index was PUT %d times, want 3 (2 refused, then taken)\n%s", puts, clitest.Requests(e.Proxy))
	}
}

// Every command's --output json is JSON on stdout, errors included.
func TestJSONEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("src", "amd64", "linux/amd64")
	clitest.WantCode(t, e.run("--plain-http", "from-args", "--platforms", "linux/amd64", "--template", e.ref("src:ARCH"), "--target", e.ref("app:1")), 0)

	object := func(r clitest.Result) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil || strings.Count(r.Stdout, "\n") != 1 {
			t.Fatalf("stdout is not one JSON line: %v\n%s", err, r)
		}
		return m
	}
	r := e.run("inspect", e.ref("app:1"), "-o", "json", "--plain-http")
	clitest.WantCode(t, r, 0)
	if m := object(r); m["mediaType"] != imagetest.MediaTypeDockerManifestList {
		t.Errorf("inspect JSON %v", m)
	}
	r = e.run("inspect", e.ref("app:nope"), "-o", "json", "--plain-http")
	clitest.WantCode(t, r, 4)
	if m := object(r); !strings.Contains(fmt.Sprint(m["error"]), "app:nope") || m["exitCode"] != float64(4) {
		t.Errorf("inspect error JSON %v", m)
	}
	r = e.run("from-args", "-o", "json", "--platforms", "linux/amd46", "--template", "x-ARCH", "--target", "x")
	clitest.WantCode(t, r, 2)
	if m := object(r); !strings.Contains(fmt.Sprint(m["error"]), "amd46") {
		t.Errorf("usage error JSON %v", m)
	}
	r = e.run("--output", "json", "--no-such-flag", "version")
	clitest.WantCode(t, r, 2)
	if m := object(r); !strings.Contains(fmt.Sprint(m["error"]), "--no-such-flag") || m["exitCode"] != float64(2) {
		t.Errorf("flag error JSON %v", m)
	}
	r = e.run("version", "-o", "json")
	clitest.WantCode(t, r, 0)
	if m := object(r); m["name"] != "manifest-push" || m["version"] == "" {
		t.Errorf("version JSON %v", m)
	}

	// version and --version say the same.
	a, b := e.run("version"), e.run("--version")
	if a.Stdout != b.Stdout || !strings.HasPrefix(a.Stdout, "manifest-push ") || a.Code != 0 || b.Code != 0 {
		t.Errorf("version %q, --version %q", a.Stdout, b.Stdout)
	}
	// help COMMAND is COMMAND --help.
	h1, h2 := e.run("help", "from-args"), e.run("from-args", "--help")
	if h1.Code != 0 || h1.Stdout != h2.Stdout || !strings.Contains(h1.Stdout, "--platforms") {
		t.Errorf("help from-args:\n%s\nfrom-args --help:\n%s", h1, h2)
	}
}

// Text output never carries a control character from a registry, a spec or
// an image, and a table has no line ending in spaces.
func TestTextIsEscaped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Push("src", "amd64", imagetest.Image{Platform: plat(t, "linux/amd64"), Format: imagetest.OCI})
	path := e.WriteFile("esc.yaml", "image: ${REG}/app:1\nannotations:\n  title: \"\\e]0;pwned\\a\\e[2J\"\nmanifests:\n  - image: ${REG}/src:amd64\n")
	r := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)
	r = e.run("--plain-http", "inspect", e.ref("app:1"))
	clitest.WantCode(t, r, 0)
	if strings.ContainsAny(r.Stdout, "\x1b\x07") || !strings.Contains(r.Stdout, `title=\x1b]0;pwned\x07\x1b[2J`) {
		t.Errorf("inspect prints the annotation unescaped\n%q", r.Stdout)
	}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if strings.HasSuffix(line, " ") {
			t.Errorf("a line ends in a space: %q", line)
		}
	}

	// A registry's error message.
	e.Proxy.SetFault(proxy.Always(proxy.Match("", "/v2/src/manifests/*"),
		proxy.Respond(http.StatusForbidden, http.Header{"Content-Type": {"application/json"}}, `{"errors":[{"code":"DENIED","message":"no\u001b[31m way\u0007"}]}`)))
	r = e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 3)
	if strings.ContainsAny(r.Stderr, "\x1b\x07") || !strings.Contains(r.Stderr, `no\x1b[31m way\x07`) {
		t.Errorf("the registry's message reached stderr unescaped\n%q", r.Stderr)
	}
}
