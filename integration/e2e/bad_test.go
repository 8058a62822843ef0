package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
)

// TestBadSpecFiles runs from-spec on each testdata/bad/NAME.yaml: exit 2,
// stderr holds the exact message of NAME.err (with ${REG} standing for the
// registry host), nothing on stdout, and not one request reaches the
// registry: validation finishes before the first request.
func TestBadSpecFiles(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata/bad")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".err")
			if err != nil {
				t.Fatalf("each bad fixture needs its .err file: %v", err)
			}
			e := newEnv(t)
			e.linuxImages("src")
			r := e.run("--plain-http", "from-spec", file)
			clitest.WantCode(t, r, 2)
			for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				clitest.WantStderr(t, r, strings.ReplaceAll(line, "${REG}", e.Host()))
			}
			if r.Stdout != "" {
				t.Errorf("stdout is not empty\n%s", r)
			}
			e.wantNoRequests(r)
		})
	}
}

// TestBadInput covers the other bad-input classes: flags, references,
// platforms and templates given on the command line, an oversized spec and a
// bad spec on standard input. Each exits 2, says what is wrong, and makes no
// request.
func TestBadInput(t *testing.T) {
	t.Parallel()
	const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	// fromArgs is a valid from-args command line plus extra.
	fromArgs := func(host string, extra ...string) []string {
		return append([]string{"from-args", "--platforms", "linux/amd64", "--template", host + "/src:ARCH", "--target", host + "/target:1"}, extra...)
	}
	for _, tc := range []struct {
		name  string
		args  func(host string) []string
		stdin string
		// setup writes files and returns extra args, when set.
		setup  func(e *env) []string
		stderr string // with ${REG} for the registry host
	}{
		{
			name: "template without placeholder, two platforms",
			args: func(h string) []string {
				return []string{"from-args", "--platforms", "linux/amd64,linux/arm/v7", "--template", h + "/src:1", "--target", h + "/target:1"}
			},
			stderr: `--template: "${REG}/src:1" has no placeholder (OS, ARCH, VARIANT, OSVERSION) but 2 platforms are given: every platform would get the same image`,
		},
		{
			name: "template giving two platforms the same source",
			args: func(h string) []string {
				return []string{"from-args", "--platforms", "linux/arm/v7,linux/arm/v6", "--template", h + "/src:OS-ARCH", "--target", h + "/target:1"}
			},
			stderr: `--template: linux/arm/v7 and linux/arm/v6 both give ${REG}/src:linux-arm`,
		},
		{
			name: "unknown architecture",
			args: func(h string) []string {
				return []string{"from-args", "--platforms", "linux/amd46", "--template", h + "/src:ARCH", "--target", h + "/target:1"}
			},
			stderr: `--platforms: unknown architecture "amd46" (did you mean "amd64"?); known: 386, amd64,`,
		},
		{
			name: "unknown os",
			args: func(h string) []string {
				return []string{"from-args", "--platforms", "linus/amd64", "--template", h + "/src:ARCH", "--target", h + "/target:1"}
			},
			stderr: `--platforms: unknown`,
		},
		{
			name: "same platform twice through an alias",
			args: func(h string) []string {
				return []string{"from-args", "--platforms", "linux/amd64", "--platforms", "linux/x86_64", "--template", h + "/src:ARCH", "--target", h + "/target:1"}
			},
			stderr: `--platforms: "linux/amd64" and "linux/x86_64" are the same platform: give each platform once`,
		},
		{
			name: "digest target",
			args: func(h string) []string {
				return []string{"from-args", "--platforms", "linux/amd64", "--template", h + "/src:ARCH", "--target", h + "/target@" + dgst}
			},
			stderr: `--target: the target ${REG}/target has a digest (@` + dgst + `): a target is pushed by tag`,
		},
		{
			name: "bad target reference",
			args: func(h string) []string {
				return []string{"from-args", "--platforms", "linux/amd64", "--template", h + "/src:ARCH", "--target", h + "/Target:1"}
			},
			stderr: `--target: invalid target reference "${REG}/Target:1" (invalid reference format: repository name (Target) must be lowercase)`,
		},
		{
			name: "bad tag",
			args: func(h string) []string {
				return fromArgs(h, "--tags", "1,bad tag")
			},
			stderr: `--tags: invalid tag "bad tag"`,
		},
		{
			name: "annotation without =",
			args: func(h string) []string {
				return fromArgs(h, "--annotations", "org.opencontainers.image.source")
			},
			stderr: `--annotations: "org.opencontainers.image.source" has no "=": write key=value`,
		},
		{
			name:   "unknown --type",
			args:   func(h string) []string { return fromArgs(h, "--type", "index") },
			stderr: `--type: unknown type "index"; use auto, oci or docker`,
		},
		{
			name:   "unknown --output",
			args:   func(h string) []string { return append([]string{"--output", "yaml"}, fromArgs(h)...) },
			stderr: `--output "yaml": use text or json`,
		},
		{
			name:   "--jobs 0",
			args:   func(h string) []string { return append([]string{"--jobs", "0"}, fromArgs(h)...) },
			stderr: `--jobs 0: give 1 or more`,
		},
		{
			name:   "--jobs not a number",
			args:   func(h string) []string { return fromArgs(h, "--jobs", "many") },
			stderr: `invalid value "many" for flag --jobs`,
		},
		{
			name:   "negative --timeout",
			args:   func(h string) []string { return fromArgs(h, "--timeout", "-1s") },
			stderr: `--timeout -1s: give a positive duration`,
		},
		{
			name:   "unknown flag",
			args:   func(h string) []string { return fromArgs(h, "--frobnicate") },
			stderr: `flag provided but not defined: --frobnicate`,
		},
		{
			name: "missing --target",
			args: func(h string) []string {
				return []string{"from-args", "--platforms", "linux/amd64", "--template", h + "/src:ARCH"}
			},
			stderr: `--target: missing`,
		},
		{
			name:   "from-spec without a file",
			args:   func(string) []string { return []string{"from-spec"} },
			stderr: `from-spec needs at least one spec file`,
		},
		{
			name:   "spec file that does not exist",
			args:   func(string) []string { return []string{"from-spec", "testdata/no-such-spec.yaml"} },
			stderr: `testdata/no-such-spec.yaml: cannot open the spec`,
		},
		{
			name:   "unknown command",
			args:   func(string) []string { return []string{"form-spec", "x.yaml"} },
			stderr: `unknown command "form-spec"`,
		},
		{
			name:   "inspect bad reference",
			args:   func(h string) []string { return []string{"inspect", h + "/Target:1"} },
			stderr: `${REG}/Target:1: invalid reference`,
		},
		{
			name: "spec over 1 MiB",
			setup: func(e *env) []string {
				big := threeRepoSpec + "# " + strings.Repeat("x", 1<<20) + "\n"
				return []string{"from-spec", e.WriteFile("big.yaml", big)}
			},
			stderr: `the file is larger than 1048576 bytes (1 MiB), the limit for a spec`,
		},
		{
			name:   "bad spec on standard input",
			args:   func(string) []string { return []string{"from-spec", "-"} },
			stdin:  "image: ${REG}/target:1\nmanifests:\n  - image: ${REG}/src:amd64\n    platform: {os: linux, architecture: amd64, varient: v8}\n",
			stderr: `-:4:48: unknown key "varient" in a platform (did you mean "variant"?)`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.linuxImages("src")
			var args []string
			if tc.setup != nil {
				args = tc.setup(e)
			} else {
				args = tc.args(e.Host())
			}
			r := e.runWith(clitest.RunOptions{Stdin: tc.stdin}, append([]string{"--plain-http"}, args...)...)
			clitest.WantCode(t, r, 2)
			clitest.WantStderr(t, r, strings.ReplaceAll(tc.stderr, "${REG}", e.Host()))
			if strings.Contains(r.Stdout, "Digest:") {
				t.Errorf("a Digest line on stdout\n%s", r)
			}
			e.wantNoRequests(r)
		})
	}
}
