package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
)

func TestFromArgsTemplate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// img:OS-ARCH-VARIANT: an empty variant drops the "-" before it.
	amd64 := e.image("img", "linux-amd64", "linux/amd64")
	armv7 := e.image("img", "linux-arm-v7", "linux/arm/v7")
	win := e.Push("img", "windows-amd64", imagetest.Image{Platform: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}})

	r := e.run("--plain-http", "from-args",
		"--platforms", "linux/amd64,linux/arm/v7,windows/amd64:10.0.17763.6189",
		"--template", e.ref("img:OS-ARCH-VARIANT"),
		"--target", e.ref("multi:1.2"),
		"--tags", "1,latest")
	clitest.WantCode(t, r, 0)
	d, _ := digestLine(t, r)
	p := e.index("multi", "1.2")
	if p.digest != d {
		t.Errorf("multi:1.2 is %s, Digest line %s", p.digest, d)
	}
	if p.contentType != imagetest.MediaTypeDockerManifestList {
		t.Errorf("media type %s, want a Docker manifest list", p.contentType)
	}
	wantEntries(t, p, []entry{
		{desc: amd64, platform: plat(t, "linux/amd64")},
		{desc: armv7, platform: plat(t, "linux/arm/v7")},
		{desc: win, platform: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}},
	})
	if diff := cmp.Diff([]string{"1", "1.2", "latest"}, e.tags("multi")); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	for _, tag := range []string{"1", "latest"} {
		if got := e.TagDigest("multi", tag); got != d {
			t.Errorf("multi:%s is %s, want %s", tag, got, d)
		}
	}
	e.WantWritesOnlyTo("multi")

	t.Run("repeated --platforms and --tags give the same index", func(t *testing.T) {
		e.Proxy.Reset()
		r := e.run("--plain-http", "from-args",
			"--platforms", "linux/amd64", "--platforms", "linux/arm/v7", "--platforms", "windows/amd64:10.0.17763.6189",
			"--template", e.ref("img:OS-ARCH-VARIANT"),
			"--target", e.ref("multi:1.2"),
			"--tags", "1", "--tags", "latest")
		clitest.WantCode(t, r, 0)
		if d2, _ := digestLine(t, r); d2 != d {
			t.Errorf("repeated flags gave %s, the comma-separated ones %s", d2, d)
		}
		e.wantNoWrites(r)
		for _, tag := range []string{"1.2", "1", "latest"} {
			if line := e.ref("multi") + ":" + tag + " unchanged"; !slices.Contains(stdoutLines(r), line) {
				t.Errorf("stdout does not say %q\n%s", line, r)
			}
		}
	})

	t.Run("placeholders in the repository name", func(t *testing.T) {
		// the README.s example: reg.example/img-OS-ARCHVARIANT:1.2.
		a := e.image("img-linux-amd64", "1.2", "linux/amd64")
		v := e.image("img-linux-armv7", "1.2", "linux/arm/v7")
		r := e.run("--plain-http", "from-args",
			"--platforms", "linux/amd64,linux/arm/v7",
			"--template", e.ref("img-OS-ARCHVARIANT:1.2"),
			"--target", e.ref("img:1.2"))
		clitest.WantCode(t, r, 0)
		wantEntries(t, e.index("img", "1.2"), []entry{
			{desc: a, platform: plat(t, "linux/amd64")},
			{desc: v, platform: plat(t, "linux/arm/v7")},
		})
	})

	t.Run("OSVERSION", func(t *testing.T) {
		w := e.Push("win", "10.0.17763.6189", imagetest.Image{Platform: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}})
		r := e.run("--plain-http", "from-args",
			"--platforms", "windows/amd64:10.0.17763.6189",
			"--template", e.ref("win:OSVERSION"),
			"--target", e.ref("win:multi"))
		clitest.WantCode(t, r, 0)
		wantEntries(t, e.index("win", "multi"), []entry{
			{desc: w, platform: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}},
		})
	})
}

func TestAnnotationsMakeOCIIndex(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64, _ := e.linuxImages("src")

	t.Run("from-spec", func(t *testing.T) {
		path := e.WriteFile("annotated.yaml", `image: ${REG}/annotated:1
annotations:
  org.opencontainers.image.source: https://example.com/hello
  com.example.empty: ""
  com.example.url: "https://example.com/?a=1&b=<2>"
manifests:
  - image: ${REG}/src:amd64
    platform: {os: linux, architecture: amd64}
  - image: ${REG}/src:arm64
    platform: {os: linux, architecture: arm64}
    annotations: {com.example.note: "built under emulation"}
`)
		r := e.run("--plain-http", "from-spec", path)
		clitest.WantCode(t, r, 0)
		d, _ := digestLine(t, r)
		p := e.index("annotated", "1")
		if p.digest != d {
			t.Errorf("annotated:1 is %s, Digest line %s", p.digest, d)
		}
		if p.contentType != ocispec.MediaTypeImageIndex {
			t.Errorf("media type %s, want an OCI index (annotations are set)", p.contentType)
		}
		want := map[string]string{"org.opencontainers.image.source": "https://example.com/hello", "com.example.empty": "", "com.example.url": "https://example.com/?a=1&b=<2>"}
		if diff := cmp.Diff(want, p.index.Annotations); diff != "" {
			t.Errorf("index annotations (-want +got):\n%s", diff)
		}
		if !strings.Contains(string(p.body), "https://example.com/?a=1&b=<2>") {
			t.Errorf("the index bytes HTML-escape the annotation (docs/rules.md, media type: no HTML escaping)\n%s", p.body)
		}
		// The children stay Docker manifests: an OCI index may hold them.
		wantEntries(t, p, []entry{
			{desc: amd64, platform: plat(t, "linux/amd64")},
			{desc: arm64, platform: plat(t, "linux/arm64"), annotations: map[string]string{"com.example.note": "built under emulation"}},
		})
	})

	t.Run("from-args", func(t *testing.T) {
		r := e.run("--plain-http", "from-args",
			"--platforms", "linux/amd64,linux/arm64",
			"--template", e.ref("src:ARCH"),
			"--target", e.ref("annotated:2"),
			"--annotations", "org.opencontainers.image.source=https://example.com/a=b",
			"--annotations", "org.opencontainers.image.version=2")
		clitest.WantCode(t, r, 0)
		p := e.index("annotated", "2")
		if p.contentType != ocispec.MediaTypeImageIndex {
			t.Errorf("media type %s, want an OCI index", p.contentType)
		}
		want := map[string]string{
			"org.opencontainers.image.source":  "https://example.com/a=b", // split at the first "="
			"org.opencontainers.image.version": "2",
		}
		if diff := cmp.Diff(want, p.index.Annotations); diff != "" {
			t.Errorf("index annotations (-want +got):\n%s", diff)
		}
		wantEntries(t, p, []entry{
			{desc: amd64, platform: plat(t, "linux/amd64")},
			{desc: arm64, platform: plat(t, "linux/arm64")},
		})
	})

	t.Run("--type oci without annotations", func(t *testing.T) {
		r := e.run("--plain-http", "from-args", "--type", "oci",
			"--platforms", "linux/amd64", "--template", e.ref("src:ARCH"), "--target", e.ref("annotated:3"))
		clitest.WantCode(t, r, 0)
		if p := e.index("annotated", "3"); p.contentType != ocispec.MediaTypeImageIndex {
			t.Errorf("--type oci gave %s", p.contentType)
		}
	})

	t.Run("an OCI child makes an OCI index", func(t *testing.T) {
		oci := e.Push("src", "oci-s390x", imagetest.Image{Platform: plat(t, "linux/s390x"), Format: imagetest.OCI})
		path := e.WriteFile("oci-child.yaml", `image: ${REG}/annotated:4
manifests:
  - image: ${REG}/src:amd64
  - image: ${REG}/src:oci-s390x
`)
		// No platform in the spec: it comes from the image configs (P1).
		r := e.run("--plain-http", "from-spec", path)
		clitest.WantCode(t, r, 0)
		p := e.index("annotated", "4")
		if p.contentType != ocispec.MediaTypeImageIndex {
			t.Errorf("media type %s, want an OCI index (one child is OCI)", p.contentType)
		}
		wantEntries(t, p, []entry{
			{desc: amd64, platform: plat(t, "linux/amd64")},
			{desc: oci, platform: plat(t, "linux/s390x")},
		})
	})
}

func TestTypeDockerRefusesOCIContent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.linuxImages("src")
	e.Push("src", "oci", imagetest.Image{Platform: plat(t, "linux/s390x"), Format: imagetest.OCI})
	annotated := e.WriteFile("annotated.yaml", `image: ${REG}/target:1
annotations:
  org.opencontainers.image.source: https://example.com/hello
manifests:
  - image: ${REG}/src:amd64
    platform: {os: linux, architecture: amd64}
`)
	ociChild := e.WriteFile("oci-child.yaml", `image: ${REG}/target:1
manifests:
  - image: ${REG}/src:amd64
    platform: {os: linux, architecture: amd64}
  - image: ${REG}/src:oci
    platform: {os: linux, architecture: s390x}
`)
	for _, tc := range []struct {
		name string
		args []string
		// offline: the flags alone show the conflict, so no request at all.
		offline bool
	}{
		{name: "spec annotations", args: []string{"from-spec", "--type", "docker", annotated}},
		{name: "spec OCI child", args: []string{"from-spec", "--type", "docker", ociChild}},
		{name: "from-args annotations", offline: true, args: []string{"from-args", "--type", "docker",
			"--platforms", "linux/amd64", "--template", e.ref("src:ARCH"), "--target", e.ref("target:1"),
			"--annotations", "org.opencontainers.image.source=https://example.com/hello"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.Proxy.Reset()
			r := e.run(append([]string{"--plain-http"}, tc.args...)...)
			clitest.WantCode(t, r, 2)
			clitest.WantStderr(t, r, "--type oci")
			if tc.offline {
				e.wantNoRequests(r)
			} else {
				e.wantNoWrites(r)
			}
			if strings.Contains(r.Stdout, "Digest:") {
				t.Errorf("stdout has a Digest line\n%s", r)
			}
			if tags := e.tags("target"); tags != nil {
				t.Errorf("target has tags %v, want none", tags)
			}
		})
	}
}
