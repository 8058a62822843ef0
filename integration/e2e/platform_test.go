package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
)

// The seed's "patching things up": an image built on an amd64 machine
// holding arm64 binaries says linux/amd64 in its config; the spec wins.
const wrongConfigSpec = `image: ${REG}/patched:1
manifests:
  - image: ${REG}/src:amd64
    platform: {os: linux, architecture: amd64}
  - image: ${REG}/src:really-arm64
    platform: {os: linux, architecture: arm64}
`

func TestSpecPlatformOverridesConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64 := e.image("src", "amd64", "linux/amd64")
	// Different content from src:amd64, same config platform.
	wrong := e.Push("src", "really-arm64", imagetest.Image{Platform: plat(t, "linux/amd64"), Files: map[string][]byte{"hello": []byte("arm64 binary")}})
	path := e.WriteFile("patched.yaml", wrongConfigSpec)

	r := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)
	var warning string
	for _, line := range strings.Split(r.Stderr, "\n") {
		if strings.Contains(line, "really-arm64") {
			warning = line
		}
	}
	if !strings.Contains(warning, "warning") || !strings.Contains(warning, "linux/amd64") || !strings.Contains(warning, "linux/arm64") {
		t.Errorf("no warning naming src:really-arm64, its config's linux/amd64 and the spec's linux/arm64 on stderr\n%s", r)
	}
	if strings.Contains(r.Stdout, "warning") {
		t.Errorf("a warning on stdout\n%s", r)
	}
	p := e.index("patched", "1")
	wantEntries(t, p, []entry{
		{desc: amd64, platform: plat(t, "linux/amd64")},
		{desc: wrong, platform: plat(t, "linux/arm64")},
	})
	wantSelected(t, p.index, map[string]selection{
		"linux/arm64": {host: plat(t, "linux/arm64"), digest: wrong.Digest},
		"linux/amd64": {host: plat(t, "linux/amd64"), digest: amd64.Digest},
	})

	t.Run("--strict-platform", func(t *testing.T) {
		e.Proxy.Reset()
		path := e.WriteFile("strict.yaml", strings.Replace(wrongConfigSpec, "patched:1", "strict:1", 1))
		r := e.run("--plain-http", "from-spec", "--strict-platform", path)
		clitest.WantCode(t, r, 2)
		clitest.WantStderr(t, r, "really-arm64", "linux/amd64", "linux/arm64")
		e.wantNoWrites(r)
		if tags := e.tags("strict"); tags != nil {
			t.Errorf("strict has tags %v, want none", tags)
		}
		if strings.Contains(r.Stdout, "Digest:") {
			t.Errorf("a Digest line after a refused push\n%s", r)
		}
	})
}

func TestPlatformFilledFromConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	winPlat := ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}
	win := e.Push("win", "ltsc2019", imagetest.Image{Platform: winPlat})
	armv7 := e.image("arm", "v7", "linux/arm/v7")
	s390x := e.image("s390x", "latest", "linux/s390x")
	path := e.WriteFile("filled.yaml", `image: ${REG}/filled:1
manifests:
  - image: ${REG}/win:ltsc2019
    platform: {os: windows, architecture: amd64}
  - image: ${REG}/arm:v7
    platform: {os: linux, architecture: arm}
  - image: ${REG}/s390x
`)
	r := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)
	p := e.index("filled", "1")
	wantEntries(t, p, []entry{
		{desc: win, platform: winPlat},                   // os.version from the config (P3)
		{desc: armv7, platform: plat(t, "linux/arm/v7")}, // variant from the config (P3)
		{desc: s390x, platform: plat(t, "linux/s390x")},  // no platform in the spec (P1)
	})
	if w := p.index.Manifests[0].Platform; w == nil || w.OSVersion != "10.0.17763.6189" {
		t.Errorf("windows entry has no os.version 10.0.17763.6189\n%s", p.body)
	}
	if !strings.Contains(string(p.body), `"os.version": "10.0.17763.6189"`) && !strings.Contains(string(p.body), `"os.version":"10.0.17763.6189"`) {
		t.Errorf("the index bytes have no os.version key\n%s", p.body)
	}
	wantSelected(t, p.index, map[string]selection{
		"windows ltsc2019 host": {host: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.7000"}, digest: win.Digest},
		"raspberry pi":          {host: plat(t, "linux/arm/v7"), digest: armv7.Digest},
		"mainframe":             {host: plat(t, "linux/s390x"), digest: s390x.Digest},
	})
}

// Two Windows images of different os.version, the spec giving only
// windows/amd64 for both: the configs make them different platforms.
func TestTwoWindowsVersionsFromConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p2019 := ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}
	p2022 := ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.2700"}
	w2019 := e.Push("win", "ltsc2019", imagetest.Image{Platform: p2019})
	w2022 := e.Push("win", "ltsc2022", imagetest.Image{Platform: p2022})
	path := e.WriteFile("win.yaml", `image: ${REG}/win:multi
manifests:
  - image: ${REG}/win:ltsc2019
    platform: {os: windows, architecture: amd64}
  - image: ${REG}/win:ltsc2022
    platform: {os: windows, architecture: amd64}
`)
	r := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)
	p := e.index("win", "multi")
	wantEntries(t, p, []entry{{desc: w2019, platform: p2019}, {desc: w2022, platform: p2022}})
	wantSelected(t, p.index, map[string]selection{
		"ltsc2019": {host: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.1"}, digest: w2019.Digest},
		"ltsc2022": {host: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.1"}, digest: w2022.Digest},
	})
}

// TestContainerdSelectsEachPlatform pushes an index of seven platforms and
// checks, with containerd's own platform matching over the pushed bytes,
// that a host of each platform gets its own image — what `docker run` on a
// Raspberry Pi, an x86-64 laptop or a Windows server pulls.
func TestContainerdSelectsEachPlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	win2019 := ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}
	win2022 := ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.2700"}
	d := map[string]ocispec.Descriptor{
		"386":      e.image("hello", "386", "linux/386"),
		"amd64":    e.image("hello", "amd64", "linux/amd64"),
		"armv6":    e.image("hello", "armv6", "linux/arm/v6"),
		"armv7":    e.image("hello", "armv7", "linux/arm/v7"),
		"arm64":    e.image("hello", "arm64", "linux/arm64"),
		"ltsc2019": e.Push("hello", "ltsc2019", imagetest.Image{Platform: win2019}),
		"ltsc2022": e.Push("hello", "ltsc2022", imagetest.Image{Platform: win2022}),
	}
	// The less specific entries come first: the matcher's ordering, not the
	// order of the index, must pick the best one.
	path := e.WriteFile("hello.yaml", `image: ${REG}/hello:1.0
manifests:
  - image: ${REG}/hello:386
    platform: {os: linux, architecture: 386}
  - image: ${REG}/hello:amd64
    platform: {os: linux, architecture: amd64}
  - image: ${REG}/hello:armv6
    platform: {os: linux, architecture: arm, variant: v6}
  - image: ${REG}/hello:armv7
    platform: {os: linux, architecture: arm, variant: v7}
  - image: ${REG}/hello:arm64
    platform: {os: linux, architecture: arm64}
  - image: ${REG}/hello:ltsc2019
    platform: {os: windows, architecture: amd64, os.version: 10.0.17763.6189}
  - image: ${REG}/hello:ltsc2022
    platform: {os: windows, architecture: amd64, osversion: 10.0.20348.2700}
`)
	r := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)
	p := e.index("hello", "1.0")
	if len(p.index.Manifests) != 7 {
		t.Fatalf("%d entries, want 7\n%s", len(p.index.Manifests), p.body)
	}
	wantSelected(t, p.index, map[string]selection{
		"linux/386":                 {host: plat(t, "linux/386"), digest: d["386"].Digest},
		"linux/amd64":               {host: plat(t, "linux/amd64"), digest: d["amd64"].Digest},
		"linux/arm/v5 (old pi)":     {host: plat(t, "linux/arm/v5"), digest: ""},
		"linux/arm/v6 (pi zero)":    {host: plat(t, "linux/arm/v6"), digest: d["armv6"].Digest},
		"linux/arm/v7 (pi 3)":       {host: plat(t, "linux/arm/v7"), digest: d["armv7"].Digest},
		"linux/arm/v8 (pi 4 32bit)": {host: plat(t, "linux/arm/v8"), digest: d["armv7"].Digest},
		"linux/arm64":               {host: plat(t, "linux/arm64"), digest: d["arm64"].Digest},
		"linux/arm64/v8":            {host: ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, digest: d["arm64"].Digest},
		"windows ltsc2019 host":     {host: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}, digest: d["ltsc2019"].Digest},
		"windows ltsc2022 host":     {host: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.3000"}, digest: d["ltsc2022"].Digest},
	})
}

func TestIndexSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	bx, err := imagetest.PushBuildx(ctx, e.Client, e.Registry.URL(), "bx", "multi", []imagetest.Image{
		{Platform: plat(t, "linux/amd64"), Format: imagetest.OCI},
		{Platform: plat(t, "linux/arm64"), Format: imagetest.OCI},
	})
	if err != nil {
		t.Fatal(err)
	}
	armv7 := e.image("other", "armv7", "linux/arm/v7")
	bxAmd64, bxArm64 := bx.Images[0], bx.Images[1]
	attAmd64, attArm64 := bx.Attestations[0], bx.Attestations[1]
	attestation := func(att, subject ocispec.Descriptor) entry {
		return entry{desc: att, platform: ocispec.Platform{OS: "unknown", Architecture: "unknown"}, annotations: map[string]string{
			imagetest.AnnotationReferenceType:   imagetest.ReferenceTypeAttestation,
			imagetest.AnnotationReferenceDigest: subject.Digest.String(),
		}}
	}

	t.Run("with a platform: one entry and its attestation", func(t *testing.T) {
		path := e.WriteFile("select.yaml", `image: ${REG}/app:select
manifests:
  - image: ${REG}/bx:multi
    platform: {os: linux, architecture: arm64}
  - image: ${REG}/other:armv7
    platform: {os: linux, architecture: arm, variant: v7}
`)
		r := e.run("--plain-http", "from-spec", path)
		clitest.WantCode(t, r, 0)
		p := e.index("app", "select")
		if p.contentType != ocispec.MediaTypeImageIndex {
			t.Errorf("media type %s, want an OCI index (attestations, OCI children)", p.contentType)
		}
		wantEntries(t, p, []entry{
			{desc: bxArm64, platform: plat(t, "linux/arm64")},
			{desc: armv7, platform: plat(t, "linux/arm/v7")},
			attestation(attArm64, bxArm64),
		})
		for _, dg := range []digest.Digest{bxArm64.Digest, armv7.Digest, attArm64.Digest} {
			e.hasImage("app", dg)
		}
		wantSelected(t, p.index, map[string]selection{
			"linux/arm64":  {host: plat(t, "linux/arm64"), digest: bxArm64.Digest},
			"linux/arm/v7": {host: plat(t, "linux/arm/v7"), digest: armv7.Digest},
		})
		e.WantWritesOnlyTo("app")
	})

	t.Run("without a platform: every image and attestation", func(t *testing.T) {
		e.Proxy.Reset()
		path := e.WriteFile("all.yaml", `image: ${REG}/app:all
manifests:
  - image: ${REG}/bx:multi
  - image: ${REG}/other:armv7
`)
		r := e.run("--plain-http", "from-spec", path)
		clitest.WantCode(t, r, 0)
		p := e.index("app", "all")
		wantEntries(t, p, []entry{
			{desc: bxAmd64, platform: plat(t, "linux/amd64")},
			{desc: bxArm64, platform: plat(t, "linux/arm64")},
			{desc: armv7, platform: plat(t, "linux/arm/v7")},
			attestation(attAmd64, bxAmd64),
			attestation(attArm64, bxArm64),
		})
		wantSelected(t, p.index, map[string]selection{
			"linux/amd64":  {host: plat(t, "linux/amd64"), digest: bxAmd64.Digest},
			"linux/arm64":  {host: plat(t, "linux/arm64"), digest: bxArm64.Digest},
			"linux/arm/v7": {host: plat(t, "linux/arm/v7"), digest: armv7.Digest},
		})
		e.WantWritesOnlyTo("app")
	})

	t.Run("a platform it lacks", func(t *testing.T) {
		e.Proxy.Reset()
		path := e.WriteFile("lacks.yaml", `image: ${REG}/app:lacks
manifests:
  - image: ${REG}/bx:multi
    platform: {os: linux, architecture: s390x}
`)
		r := e.run("--plain-http", "from-spec", path)
		clitest.WantCode(t, r, 2)
		clitest.WantStderr(t, r, "bx:multi", "linux/s390x", "linux/amd64", "linux/arm64")
		if strings.Contains(r.Stderr, "unknown/unknown") {
			t.Errorf("the attestations are listed as platforms\n%s", r)
		}
		e.wantNoWrites(r)
		if slices.Contains(e.tags("app"), "lacks") {
			t.Errorf("app:lacks was pushed")
		}
	})

	t.Run("--type docker refuses the OCI children", func(t *testing.T) {
		// A buildx index holds OCI manifests, which a Docker list cannot
		// hold: --type docker with it is refused (docs/rules.md, media type).
		path := e.WriteFile("docker-bx.yaml", `image: ${REG}/app:docker
manifests:
  - image: ${REG}/bx:multi
`)
		e.Proxy.Reset()
		r := e.run("--plain-http", "from-spec", "--type", "docker", path)
		clitest.WantCode(t, r, 2)
		clitest.WantStderr(t, r, "--type oci")
		e.wantNoWrites(r)
	})
}
