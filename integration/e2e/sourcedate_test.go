package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
)

// ociSources pushes OCI images for linux/amd64 and linux/arm64 to
// src/ARCH:v1 and returns the from-args arguments that push them as
// target.
func (e *env) ociSources(target string) []string {
	e.t.Helper()
	for _, arch := range []string{"amd64", "arm64"} {
		e.Push("src/"+arch, "v1", imagetest.Image{Platform: plat(e.t, "linux/"+arch), Format: imagetest.OCI})
	}
	return e.sourceArgs(target)
}

// sourceArgs are the from-args arguments that push src/ARCH:v1 for
// linux/amd64 and linux/arm64 as target.
func (e *env) sourceArgs(target string) []string {
	return []string{"--plain-http", "from-args", "--platforms", "linux/amd64,linux/arm64",
		"--template", e.ref("src/ARCH:v1"), "--target", e.ref(target)}
}

const created1700000000 = "2023-11-14T22:13:20Z"

// TestSourceDateEpoch: with SOURCE_DATE_EPOCH set, the same sources on two
// fresh registries give one digest, an OCI index annotated with that time
// (RFC 3339, UTC); the spec's own created annotation wins. Unset or empty,
// the index has no annotation and is the one a push without the variable
// writes.
func TestSourceDateEpoch(t *testing.T) {
	t.Parallel()
	epoch := clitest.RunOptions{Env: []string{"SOURCE_DATE_EPOCH=1700000000"}}
	var digests []string
	for i := range 2 {
		e := newEnv(t)
		r := e.runWith(epoch, e.ociSources("dst/img:1")...)
		clitest.WantCode(t, r, 0)
		d, _ := digestLine(t, r)
		p := e.index("dst/img", "1")
		if p.digest != d || p.contentType != ocispec.MediaTypeImageIndex {
			t.Errorf("registry %d: dst/img:1 is %s %s, Digest line %s", i+1, p.contentType, p.digest, d)
		}
		if diff := cmp.Diff(map[string]string{ocispec.AnnotationCreated: created1700000000}, p.index.Annotations); diff != "" {
			t.Errorf("registry %d: index annotations (-want +got):\n%s", i+1, diff)
		}
		digests = append(digests, d.String())
		if strings.Contains(r.Stderr, "warning") {
			t.Errorf("a warning for an OCI index:\n%s", r)
		}

		if i > 0 {
			continue
		}
		// The spec's created annotation wins.
		r = e.runWith(epoch, append(e.sourceArgs("dst/own:1"), "--annotations", ocispec.AnnotationCreated+"=2020-01-01T00:00:00Z")...)
		clitest.WantCode(t, r, 0)
		if got := e.index("dst/own", "1").index.Annotations[ocispec.AnnotationCreated]; got != "2020-01-01T00:00:00Z" {
			t.Errorf("with the spec's own created annotation, the index has %q", got)
		}

		// Unset, and empty: the index of today, without the annotation.
		plain := e.run(e.sourceArgs("dst/plain:1")...)
		clitest.WantCode(t, plain, 0)
		empty := e.runWith(clitest.RunOptions{Env: []string{"SOURCE_DATE_EPOCH="}}, e.sourceArgs("dst/empty:1")...)
		clitest.WantCode(t, empty, 0)
		pp, pe := e.index("dst/plain", "1"), e.index("dst/empty", "1")
		if pp.index.Annotations != nil || string(pp.body) != string(pe.body) {
			t.Errorf("without SOURCE_DATE_EPOCH:\n%s\nwith it empty:\n%s\nwant the same index without annotations", pp.body, pe.body)
		}
		if pp.digest == d {
			t.Errorf("the index without the variable has the digest of the index with it: %s", d)
		}
	}
	if digests[0] != digests[1] {
		t.Errorf("two fresh registries, the same SOURCE_DATE_EPOCH: digests %s and %s", digests[0], digests[1])
	}
}

// TestSourceDateEpochBadValue: a SOURCE_DATE_EPOCH that is not a Unix time
// is exit 2, naming the variable and the value (escaped), before any
// request.
func TestSourceDateEpochBadValue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	args := e.ociSources("dst/img:1")
	for _, tc := range []struct{ value, want string }{
		{"yesterday", `SOURCE_DATE_EPOCH="yesterday" is not a Unix time`},
		{"-1", `SOURCE_DATE_EPOCH="-1" is not a Unix time`},
		{"1700000000.5", `SOURCE_DATE_EPOCH="1700000000.5" is not a Unix time`},
		{"99999999999999999999", `SOURCE_DATE_EPOCH="99999999999999999999" is not a Unix time`},
		{"17\x1b[2J", `SOURCE_DATE_EPOCH="17\x1b[2J" is not a Unix time`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			e.Proxy.Reset()
			r := e.runWith(clitest.RunOptions{Env: []string{"SOURCE_DATE_EPOCH=" + tc.value}}, args...)
			clitest.WantCode(t, r, 2)
			if !strings.Contains(r.Stderr, tc.want) || strings.Contains(r.Stderr, "\x1b") {
				t.Errorf("stderr does not say %q (escaped):\n%s", tc.want, r)
			}
			e.wantNoRequests(r)
		})
	}
	if tags := e.tags("dst/img"); tags != nil {
		t.Errorf("dst/img has tags %v after refused runs", tags)
	}
}

// TestSourceDateEpochDockerList: a Docker manifest list carries no
// annotations: with SOURCE_DATE_EPOCH set, the list is the one a push
// without it writes, and one warning says the time is not recorded.
func TestSourceDateEpochDockerList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("src/amd64", "v1", "linux/amd64")
	e.image("src/arm64", "v1", "linux/arm64")
	r := e.runWith(clitest.RunOptions{Env: []string{"SOURCE_DATE_EPOCH=1700000000"}}, append(e.sourceArgs("dst/img:1"), "--tags", "latest")...)
	clitest.WantCode(t, r, 0)
	if n := strings.Count(r.Stderr, "warning: SOURCE_DATE_EPOCH is not recorded: a Docker manifest list carries no annotations"); n != 1 {
		t.Errorf("%d warnings about SOURCE_DATE_EPOCH, want 1:\n%s", n, r)
	}
	plain := e.run(e.sourceArgs("dst/plain:1")...)
	clitest.WantCode(t, plain, 0)
	got, want := e.index("dst/img", "1"), e.index("dst/plain", "1")
	if got.contentType != imagetest.MediaTypeDockerManifestList || got.index.Annotations != nil || got.digest != want.digest {
		t.Errorf("with SOURCE_DATE_EPOCH: %s %s\n%s\nwithout: %s", got.contentType, got.digest, got.body, want.digest)
	}
	if strings.Contains(plain.Stderr, "SOURCE_DATE_EPOCH") {
		t.Errorf("a push without the variable names it:\n%s", plain)
	}
}
