package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The messages a new user meets in the first hour (issue 23): each says
// what is wrong and what to do, with the exit code of its class, and
// nothing is written.

// Bad command lines: a suggestion, exit 2, and not one request.
func TestFirstHourSuggestions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    func(h string) []string
		want    []string
		notWant []string
	}{
		{
			name: "mistyped command",
			args: func(string) []string { return []string{"form-spec", "x.yaml"} },
			want: []string{`error: unknown command "form-spec" (did you mean from-spec?); the commands are from-spec, from-args, inspect, verify, push, validate`},
		},
		{
			name: "mistyped push subcommand",
			args: func(string) []string { return []string{"push", "form-args"} },
			want: []string{`error: push "form-args": unknown subcommand (did you mean from-args?); push takes from-spec or from-args`},
		},
		{
			name: "mistyped flag",
			args: func(h string) []string { return []string{"from-spec", "--dryrun", "x.yaml"} },
			want: []string{`error: flag provided but not defined: --dryrun (did you mean --dry-run?); see manifest-push from-spec --help`},
		},
		{
			name: "variant written into the architecture",
			args: func(h string) []string {
				return []string{"from-args", "--platforms", "linux/armv7", "--template", h + "/src:ARCH", "--target", h + "/target:1"}
			},
			want: []string{`error: --platforms: unknown architecture "armv7" (did you mean "linux/arm/v7"? the variant goes after a '/')`},
		},
		{
			name: "--remove without --append",
			args: func(h string) []string {
				return []string{"from-args", "--remove", "linux/amd64", "--target", h + "/target:1"}
			},
			want: []string{"error: --remove: with no sources, --remove needs --append: it takes platforms out of what the target holds (add --append)"},
			// One error: not the platforms and template a push would need.
			notWant: []string{"--platforms", "--template"},
		},
		{
			name: "--desc-platform count",
			args: func(h string) []string {
				return []string{"from-args", "--target", h + "/target:1", "--desc-platform", "linux/arm64", h + "/src:a", h + "/src:b"}
			},
			want: []string{"error: --desc-platform: given 1 times for 2 sources: give one per source argument, in the same order"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			r := e.run(append([]string{"--plain-http"}, tc.args(e.Host())...)...)
			clitest.WantCode(t, r, 2)
			clitest.WantStderr(t, r, tc.want...)
			for _, s := range tc.notWant {
				if strings.Contains(r.Stderr, s) {
					t.Errorf("stderr says %q\n%s", s, r)
				}
			}
			if lines := strings.Count(r.Stderr, "error: "); lines != 1 {
				t.Errorf("%d error lines, want 1\n%s", lines, r)
			}
			if r.Stdout != "" {
				t.Errorf("stdout is not empty\n%s", r)
			}
			e.wantNoRequests(r)
		})
	}
}

// inspect --format takes docker's capitalised field names, and a field the
// inspection lacks is an error (exit 2, nothing on stdout), not "<no value>".
func TestFirstHourInspectFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.linuxImages("src")
	r := e.run("--plain-http", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", e.ref("src:ARCH"), "--target", e.ref("app:1"))
	clitest.WantCode(t, r, 0)
	d, _ := digestLine(t, r)

	r = e.run("--plain-http", "inspect", "--format", "{{.Digest}} {{.digest}}{{range .Manifests}} {{.Platform}}{{end}}", e.ref("app:1"))
	clitest.WantCode(t, r, 0)
	if want := d.String() + " " + d.String() + " linux/amd64 linux/arm64\n"; r.Stdout != want {
		t.Errorf("stdout %q, want %q\n%s", r.Stdout, want, r)
	}

	r = e.run("--plain-http", "inspect", "--format", "{{.Digets}}", e.ref("app:1"))
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, `error: --format: template: format:1:2: executing "format" at <.Digets>: map has no entry for key "Digets"; the fields are `, "Digest, ", "Manifests")
	if r.Stdout != "" {
		t.Errorf("stdout is not empty\n%s", r)
	}
}

// --append --remove on a tag that does not exist says so (exit 4), writes
// nothing.
func TestFirstHourAppendToMissingTag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("--plain-http", "from-args", "--append", "--target", e.ref("app/none:1"), "--remove", "linux/amd64")
	clitest.WantCode(t, r, 4)
	clitest.WantStderr(t, r, "error: "+e.ref("app/none:1")+": not found: --append with no sources takes platforms out of what the target tag holds, and the tag does not exist; check the target's name and tag")
	if strings.Contains(r.Stderr, "no entries left") {
		t.Errorf("stderr still says no entries left\n%s", r)
	}
	e.wantNoWrites(r)
}

// A source by digest whose config gives no platform: without a platform
// the error names --desc-platform (exit 2, nothing written); with
// --desc-platform the index carries it.
func TestFirstHourDescPlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bare := e.Push("src", "bare", imagetest.Image{Format: imagetest.OCI})
	arm := e.image("src", "arm64", "linux/arm64")
	src := e.ref("src@" + bare.Digest.String())

	r := e.run("--plain-http", "from-args", "--target", e.ref("app:1"), src, e.ref("src:arm64"))
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, "no os and architecture: neither the spec nor the image config gives them; give it one: platform: in its spec entry, or --desc-platform with from-args")
	e.wantNoWrites(r)

	r = e.run("--plain-http", "from-args", "--target", e.ref("app:1"), src, e.ref("src:arm64"), "--desc-platform", "linux/amd64", "--desc-platform", "linux/arm64")
	clitest.WantCode(t, r, 0)
	p := e.index("app", "1")
	wantEntries(t, p, []entry{
		{desc: bare, platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}},
		{desc: arm, platform: ocispec.Platform{OS: "linux", Architecture: "arm64"}},
	})
}

// A missing source names its spec line; a tag the repository lacks lists
// the nearest tags it has, at the cost of one tag list, and nothing is
// written.
func TestFirstHourMissingSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("src", "linux-arm-v7", "linux/arm/v7")
	e.image("src", "linux-arm64", "linux/arm64")
	e.image("src", "linux-amd64", "linux/amd64")
	e.image("src", "windows", "linux/amd64")
	spec := e.WriteFile("spec.yaml", "image: ${REG}/app:1\nmanifests:\n  - image: ${REG}/src:linux-amd64\n    platform: {os: linux, architecture: amd64}\n  - image: ${REG}/src:linux-armv7\n    platform: {os: linux, architecture: arm, variant: v7}\n")
	// --referrers=false: the only tag list is the one for the hint.
	r := e.run("--plain-http", "from-spec", "--referrers=false", spec)
	clitest.WantCode(t, r, 4)
	clitest.WantStderr(t, r, "error: "+spec+":5:5: source "+e.ref("src:linux-armv7")+": ",
		"; "+e.ref("src")+" has the near tags linux-arm-v7, linux-arm64 (is the template or the tag spelled as the images were tagged?)")
	e.wantNoWrites(r)
	lists := 0
	for _, req := range e.Proxy.Requests() {
		if strings.HasSuffix(req.Path, "/tags/list") {
			lists++
		}
	}
	if lists != 1 {
		t.Errorf("%d tag lists, want 1\n%s", lists, clitest.Requests(e.Proxy))
	}

	// A template: the same hint; a repository with no tag near: says so.
	r = e.run("--plain-http", "from-args", "--platforms", "linux/arm/v7", "--template", e.ref("src:OS-ARCHVARIANT"), "--target", e.ref("app:1"))
	clitest.WantCode(t, r, 4)
	clitest.WantStderr(t, r, "error: source "+e.ref("src:linux-armv7")+": ", "has the near tags linux-arm-v7,")
	r = e.run("--plain-http", "from-args", "--platforms", "linux/amd64", "--template", e.ref("src:1.0-ARCH"), "--target", e.ref("app:1"))
	clitest.WantCode(t, r, 4)
	clitest.WantStderr(t, r, "; none of the 4 tags of "+e.ref("src")+` is near "1.0-amd64"`)

	// Succeeding pushes make no tag list.
	e.Proxy.Reset()
	r = e.run("--plain-http", "from-args", "--platforms", "linux/amd64", "--template", e.ref("src:linux-ARCH"), "--target", e.ref("app:1"), "--referrers=false")
	clitest.WantCode(t, r, 0)
	for _, req := range e.Proxy.Requests() {
		if strings.HasSuffix(req.Path, "/tags/list") {
			t.Errorf("a push that found its sources listed tags: %s", req.Path)
		}
	}
}

// --strict-platform's error says what it refuses and what to do, not that
// the index used anything; nothing is written.
func TestFirstHourStrictPlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("src", "x", "linux/amd64")
	r := e.run("--plain-http", "from-args", "--strict-platform", "--platforms", "linux/arm64", "--template", e.ref("src:x"), "--target", e.ref("app:1"))
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, "image config says linux/amd64, spec says linux/arm64; --strict-platform refuses a mismatch: correct the spec's platform or rebuild the image for it")
	if strings.Contains(r.Stderr, "the index uses") {
		t.Errorf("the error says the index used something\n%s", r)
	}
	e.wantNoWrites(r)
}

// validate checks specs offline: exit 0 for good ones, 2 with FILE:LINE for
// bad ones, in text and JSON, and makes no request.
func TestFirstHourValidate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := e.WriteFile("good.yaml", "image: ${REG}/app:1\nmanifests:\n  - image: ${REG}/src:a\n    platform: {os: linux, architecture: amd64}\n  - image: ${REG}/src:b\n")
	bad := e.WriteFile("bad.yaml", "image: ${REG}/app:1\nmanifests:\n  - image: ${REG}/src:a\n    platform: {os: linux, architecture: armv7}\n  - image: ${REG}/src:b\n    platform: {os: linux, architecture: amd64}\n  - image: ${REG}/src:c\n    platform: {os: linux, architecture: x86_64}\n")

	r := e.run("validate", good)
	clitest.WantCode(t, r, 0)
	if want := good + ": valid: " + e.ref("app:1") + ", 2 entries\n"; r.Stdout != want {
		t.Errorf("stdout %q, want %q", r.Stdout, want)
	}

	r = e.run("validate", good, bad)
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r,
		"error: "+bad+`:4:41: unknown architecture "armv7" (did you mean architecture "arm" with variant "v7"?`,
		"error: "+bad+":8:5: platform linux/amd64 is also given at line 6",
		"error: 1 of the 2 spec files given is invalid")

	r = e.run("validate", "--output", "json", good, bad)
	clitest.WantCode(t, r, 2)
	lines := stdoutLines(r)
	if len(lines) != 2 {
		t.Fatalf("%d JSON lines, want 2\n%s", len(lines), r)
	}
	type problem struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Message string `json:"message"`
	}
	var got []struct {
		Spec     string    `json:"spec"`
		Valid    bool      `json:"valid"`
		Problems []problem `json:"problems"`
	}
	for _, l := range lines {
		var one = struct {
			Spec     string    `json:"spec"`
			Valid    bool      `json:"valid"`
			Problems []problem `json:"problems"`
		}{}
		if err := json.Unmarshal([]byte(l), &one); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got = append(got, one)
	}
	if !got[0].Valid || len(got[0].Problems) != 0 || got[1].Valid || len(got[1].Problems) != 2 {
		t.Fatalf("JSON %+v", got)
	}
	if p := got[1].Problems[0]; p.File != bad || p.Line != 4 || !strings.Contains(p.Message, `"armv7"`) {
		t.Errorf("first problem %+v", p)
	}
	e.wantNoRequests(r)
}

// Each command's help starts with its own flags, then examples and where
// the spec format is, then the global flags.
func TestFirstHourHelp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, cmd := range []string{"from-spec", "from-args", "inspect", "verify", "validate"} {
		r := e.run(cmd, "--help")
		clitest.WantCode(t, r, 0)
		out := r.Stdout
		opts, examples, global := strings.Index(out, "OPTIONS:"), strings.Index(out, "Examples:"), strings.Index(out, "GLOBAL OPTIONS")
		if opts < 0 || examples < opts || (cmd != "validate" && global < examples) {
			t.Errorf("%s --help: OPTIONS at %d, Examples at %d, GLOBAL OPTIONS at %d\n%s", cmd, opts, examples, global, out)
		}
		if own := out[opts:examples]; strings.Contains(own, "--plain-http") {
			t.Errorf("%s --help lists a global flag among its own\n%s", cmd, own)
		}
		if strings.Count(out[examples:], "   manifest-push "+cmd) < 2 {
			t.Errorf("%s --help has fewer than two examples\n%s", cmd, out)
		}
		if (cmd == "from-spec" || cmd == "from-args" || cmd == "validate") && !strings.Contains(out, `The spec format: README.md, "The spec file"`) {
			t.Errorf("%s --help does not say where the spec format is\n%s", cmd, out)
		}
	}
}
