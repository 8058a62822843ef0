package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
)

var windows = ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.2700"}

// linuxList publishes app:1.0 with linux/amd64 and linux/arm64 (images in
// the app repository) and returns them.
func (e *env) linuxList() (amd64, arm64 ocispec.Descriptor) {
	e.t.Helper()
	amd64, arm64, _ = e.linuxImages("app")
	r := e.run("--plain-http", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", e.ref("app:ARCH"), "--target", e.ref("app:1.0"), "--tags", "1")
	clitest.WantCode(e.t, r, 0)
	return amd64, arm64
}

// The seed's Windows story: the Linux list first; the Windows job later
// appends its image; its rerun writes nothing.
func TestAppendWindowsLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64 := e.linuxList()
	linux := e.TagDigest("app", "1.0")
	win := e.Push("build/app", "windows", imagetest.Image{Platform: windows})
	path := e.WriteFile("windows.yaml", "image: ${REG}/app:1.0\ntags: [\"1\"]\nmanifests:\n  - image: ${REG}/build/app:windows\n")

	r := e.run("--plain-http", "from-spec", "--append", path)
	clitest.WantCode(t, r, 0)
	t.Logf("%s", r)
	d, n := digestLine(t, r)
	want := []string{
		"+ windows/amd64:10.0.20348.2700",
		fmt.Sprintf("%s:1.0 updated (was %s)", e.ref("app"), linux),
		fmt.Sprintf("%s:1 updated (was %s)", e.ref("app"), linux),
		"Rounds: 1",
		fmt.Sprintf("Digest: %s %d", d, n),
	}
	if got := stdoutLines(r); !slices.Equal(got, want) {
		t.Errorf("stdout %q\nwant %q\n%s", got, want, r)
	}
	for _, tag := range []string{"1.0", "1"} {
		p := e.index("app", tag)
		wantEntries(t, p, []entry{
			{desc: amd64, platform: plat(t, "linux/amd64")},
			{desc: arm64, platform: plat(t, "linux/arm64")},
			{desc: win, platform: windows},
		})
	}
	e.hasImage("app", win.Digest)

	e.Proxy.Reset()
	r = e.run("--plain-http", "from-spec", "--append", path)
	clitest.WantCode(t, r, 0)
	t.Logf("%s\n%d requests, %d writes", r, e.Proxy.Count(), e.Proxy.Writes())
	e.wantNoWrites(r)
	if !slices.Contains(stdoutLines(r), e.ref("app")+":1.0 unchanged") || strings.Contains(r.Stdout, "Rounds") {
		t.Errorf("the rerun\n%s", r)
	}
}

// Replacing one platform's image keeps its place and the others.
func TestAppendReplacesOnePlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64 := e.linuxList()
	arm64v2 := e.Push("build/app", "arm64", imagetest.Image{Platform: plat(t, "linux/arm64"), Files: map[string][]byte{"v": []byte("2")}})
	r := e.run("--plain-http", "from-args", "--append", "--target", e.ref("app:1.0"), e.ref("build/app:arm64"))
	clitest.WantCode(t, r, 0)
	if line := fmt.Sprintf("~ linux/arm64 %s -> %s", arm64.Digest, arm64v2.Digest); stdoutLines(r)[0] != line {
		t.Errorf("first line is not %q\n%s", line, r)
	}
	wantEntries(t, e.index("app", "1.0"), []entry{
		{desc: amd64, platform: plat(t, "linux/amd64")},
		{desc: arm64v2, platform: plat(t, "linux/arm64")},
	})
	// The extra tag 1 was not given: it stays where it was.
	if e.TagDigest("app", "1") == e.TagDigest("app", "1.0") {
		t.Error("app:1 moved, but only app:1.0 was the target")
	}
}

// --remove takes a platform out; one the index lacks is a warning; taking
// out everything is refused, with nothing written.
func TestAppendRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, _ := e.linuxList()
	r := e.run("--plain-http", "from-args", "--append", "--target", e.ref("app:1.0"), "--remove", "linux/arm64", "--remove", "linux/s390x")
	clitest.WantCode(t, r, 0)
	if stdoutLines(r)[0] != "- linux/arm64" {
		t.Errorf("first line is not the removal\n%s", r)
	}
	clitest.WantStderr(t, r, "warning: --remove linux/s390x: the index has no entry of that platform")
	wantEntries(t, e.index("app", "1.0"), []entry{{desc: amd64, platform: plat(t, "linux/amd64")}})

	e.Proxy.Reset()
	r = e.run("--plain-http", "from-args", "--append", "--target", e.ref("app:1.0"), "--remove", "linux/amd64")
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, "--remove takes out every platform")
	e.wantNoWrites(r)

	// Without --append and without sources, --remove has nothing to work on.
	e.Proxy.Reset()
	r = e.run("--plain-http", "from-args", "--target", e.ref("app:1.0"), "--remove", "linux/amd64")
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, "--remove needs --append")
	e.wantNoRequests(r)
}

// The build-matrix step as an update: digests appended to what is there;
// a target that is one image counts as one entry; no target yet is a
// normal push.
func TestAppendDigests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64, armv7 := e.linuxImages("build/app")
	at := func(d ocispec.Descriptor) string { return e.ref("build/app@" + d.Digest.String()) }

	r := e.run("--plain-http", "from-args", "--append", "--target", e.ref("app:2"), at(amd64))
	clitest.WantCode(t, r, 0)
	wantEntries(t, e.index("app", "2"), []entry{{desc: amd64, platform: plat(t, "linux/amd64")}})
	r = e.run("--plain-http", "from-args", "--append", "--target", e.ref("app:2"), at(arm64), at(armv7))
	clitest.WantCode(t, r, 0)
	wantEntries(t, e.index("app", "2"), []entry{
		{desc: amd64, platform: plat(t, "linux/amd64")},
		{desc: arm64, platform: plat(t, "linux/arm64")},
		{desc: armv7, platform: plat(t, "linux/arm/v7")},
	})

	// app:single is one image, not an index.
	single := e.image("app", "single", "linux/s390x")
	r = e.run("--plain-http", "from-args", "--append", "--target", e.ref("app:single"), at(amd64))
	clitest.WantCode(t, r, 0)
	wantEntries(t, e.index("app", "single"), []entry{
		{desc: single, platform: plat(t, "linux/s390x")},
		{desc: amd64, platform: plat(t, "linux/amd64")},
	})
}

// Attestations follow their image: kept with it, removed with it.
func TestAppendAttestationsFollow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	amd64 := e.Push("app", "amd64", imagetest.Image{Platform: plat(t, "linux/amd64"), Format: imagetest.OCI})
	arm64 := e.Push("app", "arm64", imagetest.Image{Platform: plat(t, "linux/arm64"), Format: imagetest.OCI})
	var children []ocispec.Descriptor
	children = append(children, amd64, arm64)
	for _, img := range []ocispec.Descriptor{amd64, arm64} {
		att, err := imagetest.PushAttestation(ctx, e.Client, e.Registry.URL(), "app", img)
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, att)
	}
	if _, err := imagetest.PushIndex(ctx, e.Client, e.Registry.URL(), "app", "1.0", children, imagetest.IndexOptions{Format: imagetest.OCI}); err != nil {
		t.Fatal(err)
	}
	win := e.Push("build/app", "windows", imagetest.Image{Platform: windows, Format: imagetest.OCI})

	r := e.run("--plain-http", "from-args", "--append", "--target", e.ref("app:1.0"), "--remove", "linux/arm64", e.ref("build/app:windows"))
	clitest.WantCode(t, r, 0)
	p := e.index("app", "1.0")
	var got []string
	for _, m := range p.index.Manifests {
		got = append(got, m.Digest.String()+" "+m.Annotations["vnd.docker.reference.digest"])
	}
	want := []string{amd64.Digest.String() + " ", win.Digest.String() + " ", children[2].Digest.String() + " " + amd64.Digest.String()}
	if !slices.Equal(got, want) {
		t.Errorf("entries (digest, attestation of)\n%q\nwant\n%q", got, want)
	}
	if p.contentType != ocispec.MediaTypeImageIndex {
		t.Errorf("the update is a %s", p.contentType)
	}
}
