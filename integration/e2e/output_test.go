package e2e

import (
	"bytes"
	"encoding/json"
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

func TestJSONOutput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64, armv7 := e.threeRepos()
	path := e.WriteFile("hello.yaml", threeRepoSpec)
	manifests := func(copied bool, amd64 ocispec.Descriptor) []jsonEntry {
		return []jsonEntry{
			{Source: e.ref("a/img:amd64"), Digest: amd64.Digest, MediaType: amd64.MediaType, Size: amd64.Size, Platform: "linux/amd64", Copied: copied, Referrers: []jsonReferrer{}},
			{Source: e.ref("b/img:arm64"), Digest: arm64.Digest, MediaType: arm64.MediaType, Size: arm64.Size, Platform: "linux/arm64", Copied: copied, Referrers: []jsonReferrer{}},
			{Source: e.ref("c/img:armv7"), Digest: armv7.Digest, MediaType: armv7.MediaType, Size: armv7.Size, Platform: "linux/arm/v7", Copied: copied, Referrers: []jsonReferrer{}},
		}
	}
	one := func(r clitest.Result) jsonResult {
		t.Helper()
		lines := jsonLines(t, r)
		if len(lines) != 1 {
			t.Fatalf("%d JSON lines on stdout, want exactly 1\n%s", len(lines), r)
		}
		if strings.Contains(r.Stderr, `"target"`) {
			t.Errorf("the JSON result is on stderr too\n%s", r)
		}
		return lines[0]
	}
	tags := func(status string, previous digest.Digest) []jsonTag {
		return []jsonTag{{"1.0", status, previous}, {"1", status, previous}, {"latest", status, previous}}
	}

	// A dry run first: nothing exists yet.
	r := e.run("--plain-http", "--output", "json", "from-spec", "--dry-run", path)
	clitest.WantCode(t, r, 0)
	dry := one(r)
	added := []jsonChange{
		{Platform: "linux/amd64", Change: "added", To: amd64.Digest},
		{Platform: "linux/arm64", Change: "added", To: arm64.Digest},
		{Platform: "linux/arm/v7", Change: "added", To: armv7.Digest},
	}
	want := jsonResult{
		Target: e.ref("target/hello:1.0"), Digest: dry.Digest, Size: dry.Size,
		MediaType: imagetest.MediaTypeDockerManifestList, Changed: true, DryRun: true,
		Tags: tags("would update", ""), Manifests: manifests(false, amd64), Changes: added, Warnings: []string{}, Spec: path,
	}
	// With --dry-run the index document itself is in the line: the bytes
	// the push then writes.
	dryIndex := dry.Index
	dry.Index = nil
	if diff := cmp.Diff(want, dry); diff != "" {
		t.Errorf("dry-run JSON (-want +got):\n%s\n%s", diff, r)
	}
	var dryIdx ocispec.Index
	if err := json.Unmarshal(dryIndex, &dryIdx); err != nil || len(dryIdx.Manifests) != 3 || dryIdx.Manifests[2].Digest != armv7.Digest {
		t.Errorf("the dry run's index is not the index: %v\n%s", err, dryIndex)
	}

	// The push, with --debug: the logs go to stderr, stdout stays one line.
	r = e.run("--plain-http", "--debug", "--output", "json", "from-spec", path)
	clitest.WantCode(t, r, 0)
	first := one(r)
	if r.Stderr == "" {
		t.Errorf("--debug logged nothing on stderr\n%s", r)
	}
	p := e.index("target/hello", "1.0")
	want.Digest, want.Size, want.DryRun = p.digest, int64(len(p.body)), false
	want.Tags, want.Manifests = tags("updated", ""), manifests(true, amd64)
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("push JSON (-want +got):\n%s\n%s", diff, r)
	}
	if dry.Digest != first.Digest || dry.Size != first.Size {
		t.Errorf("dry run said %s %d, the push %s %d", dry.Digest, dry.Size, first.Digest, first.Size)
	}
	// The JSON line holds the document compacted; the same document.
	var pushedCompact bytes.Buffer
	if err := json.Compact(&pushedCompact, p.body); err != nil || pushedCompact.String() != string(dryIndex) {
		t.Errorf("the dry run's index is not the document pushed (%v)\n%s\n%s", err, dryIndex, p.body)
	}

	// The rerun: nothing changed, nothing copied; previous is where each
	// tag pointed before the run, which is where it points now.
	r = e.run("--plain-http", "--output", "json", "from-spec", path)
	clitest.WantCode(t, r, 0)
	want.Changed, want.Tags, want.Manifests, want.Changes = false, tags("unchanged", first.Digest), manifests(false, amd64), []jsonChange{}
	if diff := cmp.Diff(want, one(r)); diff != "" {
		t.Errorf("rerun JSON (-want +got):\n%s\n%s", diff, r)
	}

	// A new amd64 build: every tag moves, and says where it was.
	amd64v2 := e.Push("a/img", "amd64", imagetest.Image{Platform: plat(t, "linux/amd64"), Files: map[string][]byte{"version": []byte("2")}})
	r = e.run("--plain-http", "from-spec", "--dry-run", path)
	clitest.WantCode(t, r, 0)
	for _, tag := range []string{"1.0", "1", "latest"} {
		line := fmt.Sprintf("%s:%s would update (was %s)", e.ref("target/hello"), tag, first.Digest)
		if !slices.Contains(stdoutLines(r), line) {
			t.Errorf("dry run does not say %q\n%s", line, r)
		}
	}
	r = e.run("--plain-http", "--output", "json", "from-spec", path)
	clitest.WantCode(t, r, 0)
	second := one(r)
	p = e.index("target/hello", "1.0")
	want.Digest, want.Size, want.Changed = p.digest, int64(len(p.body)), true
	want.Tags = tags("updated", first.Digest)
	// Only the new amd64 image is copied: arm64 and arm/v7 are in the
	// target repository since the first push (docs/rules.md, push step 5a: children "not
	// yet in the target repository are copied").
	want.Manifests = manifests(false, amd64v2)
	want.Manifests[0].Copied = true
	want.Changes = []jsonChange{{Platform: "linux/amd64", Change: "updated", From: amd64.Digest, To: amd64v2.Digest}}
	if diff := cmp.Diff(want, second); diff != "" {
		t.Errorf("update JSON (-want +got):\n%s\n%s", diff, r)
	}

	t.Run("warnings", func(t *testing.T) {
		e.Push("src", "really-arm64", imagetest.Image{Platform: plat(t, "linux/amd64"), Files: map[string][]byte{"hello": []byte("arm64 binary")}})
		e.image("src", "amd64", "linux/amd64")
		path := e.WriteFile("patched.yaml", wrongConfigSpec)
		r := e.run("--plain-http", "--output", "json", "from-spec", path)
		clitest.WantCode(t, r, 0)
		got := one(r)
		if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "linux/amd64") || !strings.Contains(got.Warnings[0], "linux/arm64") {
			t.Errorf("warnings %q, want one naming linux/amd64 and linux/arm64", got.Warnings)
		}
		if got.Manifests[1].Platform != "linux/arm64" {
			t.Errorf("entry platform %q, want the spec's linux/arm64", got.Manifests[1].Platform)
		}
	})

	t.Run("a failed spec", func(t *testing.T) {
		path := e.WriteFile("missing.yaml", `image: ${REG}/target/hello:broken
manifests:
  - image: ${REG}/a/img:nope
    platform: {os: linux, architecture: amd64}
`)
		r := e.run("--plain-http", "--output", "json", "from-spec", path)
		clitest.WantCode(t, r, 4)
		got := one(r)
		if got.Target != e.ref("target/hello:broken") || got.Spec != path || got.Digest != "" || got.Changed {
			t.Errorf("failed spec line %+v", got)
		}
		if !strings.Contains(got.Error, e.ref("a/img:nope")) {
			t.Errorf("error %q does not name the missing source", got.Error)
		}
		clitest.WantStderr(t, r, e.ref("a/img:nope"))
	})

	t.Run("from-args", func(t *testing.T) {
		r := e.run("--plain-http", "--output", "json", "from-args", "--dry-run",
			"--platforms", "linux/amd64", "--template", e.ref("a/img:ARCH"), "--target", e.ref("args:1"))
		clitest.WantCode(t, r, 0)
		if got := one(r); got.Spec != "from-args" || got.Target != e.ref("args:1") || !got.DryRun {
			t.Errorf("from-args line %+v", got)
		}
	})
}

// inspection is inspect --output json.
type inspection struct {
	Ref         string            `json:"ref"`
	Digest      digest.Digest     `json:"digest"`
	MediaType   string            `json:"mediaType"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
	Manifests   []struct {
		Digest      digest.Digest     `json:"digest"`
		MediaType   string            `json:"mediaType"`
		Size        int64             `json:"size"`
		Platform    string            `json:"platform"`
		Annotations map[string]string `json:"annotations"`
	} `json:"manifests"`
}

func TestInspect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64, arm64, armv7 := e.threeRepos()
	win := e.Push("w/img", "ltsc2019", imagetest.Image{Platform: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}})
	path := e.WriteFile("hello.yaml", threeRepoSpec+`  - image: ${REG}/w/img:ltsc2019
`)
	r := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)
	p := e.index("target/hello", "1.0")
	e.Proxy.Reset()
	children := []struct {
		d ocispec.Descriptor
		p string
	}{{amd64, "linux/amd64"}, {arm64, "linux/arm64"}, {armv7, "linux/arm/v7"}, {win, "windows/amd64:10.0.17763.6189"}}

	t.Run("text", func(t *testing.T) {
		r := e.run("--plain-http", "inspect", e.ref("target/hello:1.0"))
		clitest.WantCode(t, r, 0)
		if !strings.Contains(r.Stdout, p.digest.String()) || !strings.Contains(r.Stdout, p.contentType) {
			t.Errorf("inspect does not show the index digest %s and media type %s\n%s", p.digest, p.contentType, r)
		}
		lines := stdoutLines(r)
		for _, c := range children {
			found := false
			for _, l := range lines {
				f := strings.Fields(l)
				if slices.Contains(f, c.p) && slices.Contains(f, c.d.Digest.String()) && slices.Contains(f, fmt.Sprint(c.d.Size)) {
					found = true
				}
			}
			if !found {
				t.Errorf("no line with %s, %s and %d\n%s", c.p, c.d.Digest, c.d.Size, r)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		// --output after the command: a global flag.
		r := e.run("inspect", "--plain-http", "--output", "json", e.ref("target/hello:1.0"))
		clitest.WantCode(t, r, 0)
		if n := len(stdoutLines(r)); n != 1 {
			t.Errorf("%d lines on stdout, want one JSON line\n%s", n, r)
		}
		var in inspection
		if err := json.Unmarshal([]byte(r.Stdout), &in); err != nil {
			t.Fatalf("inspect --output json: %v\n%s", err, r)
		}
		if in.Ref != e.ref("target/hello:1.0") || in.Digest != p.digest || in.Size != int64(len(p.body)) || in.MediaType != p.contentType {
			t.Errorf("inspection %+v, want %s %s %d %s", in, e.ref("target/hello:1.0"), p.digest, len(p.body), p.contentType)
		}
		if len(in.Manifests) != len(children) {
			t.Fatalf("%d entries, want %d\n%s", len(in.Manifests), len(children), r)
		}
		for i, c := range children {
			m := in.Manifests[i]
			if m.Digest != c.d.Digest || m.Size != c.d.Size || m.MediaType != c.d.MediaType || m.Platform != c.p {
				t.Errorf("entry %d: %+v, want %s %d %s %s", i, m, c.d.Digest, c.d.Size, c.d.MediaType, c.p)
			}
		}
	})

	t.Run("raw", func(t *testing.T) {
		r := e.run("--plain-http", "inspect", "--raw", e.ref("target/hello:1.0"))
		clitest.WantCode(t, r, 0)
		if strings.TrimSuffix(r.Stdout, "\n") != string(p.body) {
			t.Errorf("--raw printed\n%s\nthe registry holds\n%s", r.Stdout, p.body)
		}
	})

	t.Run("single image", func(t *testing.T) {
		r := e.run("--plain-http", "--output", "json", "inspect", e.ref("c/img:armv7"))
		clitest.WantCode(t, r, 0)
		var in inspection
		if err := json.Unmarshal([]byte(r.Stdout), &in); err != nil {
			t.Fatalf("%v\n%s", err, r)
		}
		if in.Digest != armv7.Digest || len(in.Manifests) != 1 || in.Manifests[0].Platform != "linux/arm/v7" {
			t.Errorf("inspection of an image: %+v", in)
		}
	})

	t.Run("by digest", func(t *testing.T) {
		r := e.run("--plain-http", "--output", "json", "inspect", e.ref("target/hello@"+p.digest.String()))
		clitest.WantCode(t, r, 0)
		var in inspection
		if err := json.Unmarshal([]byte(r.Stdout), &in); err != nil {
			t.Fatalf("%v\n%s", err, r)
		}
		if in.Digest != p.digest || len(in.Manifests) != len(children) {
			t.Errorf("inspection by digest: %+v", in)
		}
	})

	t.Run("missing", func(t *testing.T) {
		r := e.run("--plain-http", "inspect", e.ref("target/hello:nope"))
		clitest.WantCode(t, r, 4)
		clitest.WantStderr(t, r, e.ref("target/hello:nope"))
	})

	e.wantNoWrites(clitest.Result{Args: []string{"inspect ..."}})
}

func TestInspectOCIIndexWithAttestations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bx, err := imagetest.PushBuildx(t.Context(), e.Client, e.Registry.URL(), "bx", "multi", []imagetest.Image{
		{Platform: plat(t, "linux/amd64"), Format: imagetest.OCI},
		{Platform: plat(t, "linux/arm64"), Format: imagetest.OCI},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := e.WriteFile("app.yaml", `image: ${REG}/app:1
annotations: {org.opencontainers.image.source: https://example.com/app}
manifests:
  - image: ${REG}/bx:multi
`)
	r := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)
	r = e.run("--plain-http", "--output", "json", "inspect", e.ref("app:1"))
	clitest.WantCode(t, r, 0)
	var in inspection
	if err := json.Unmarshal([]byte(r.Stdout), &in); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if in.MediaType != ocispec.MediaTypeImageIndex || in.Annotations["org.opencontainers.image.source"] != "https://example.com/app" {
		t.Errorf("inspection %+v", in)
	}
	want := []digest.Digest{bx.Images[0].Digest, bx.Images[1].Digest, bx.Attestations[0].Digest, bx.Attestations[1].Digest}
	var got []digest.Digest
	for _, m := range in.Manifests {
		got = append(got, m.Digest)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if len(in.Manifests) == 4 && in.Manifests[2].Annotations[imagetest.AnnotationReferenceType] != imagetest.ReferenceTypeAttestation {
		t.Errorf("attestation entry without its annotations: %+v", in.Manifests[2])
	}
	r = e.run("--plain-http", "inspect", e.ref("app:1"))
	clitest.WantCode(t, r, 0)
	if !strings.Contains(r.Stdout, imagetest.AnnotationReferenceType+"="+imagetest.ReferenceTypeAttestation) {
		t.Errorf("text inspect does not show the attestation annotation\n%s", r)
	}
}
