package examples

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distribution/reference"
	"github.com/google/go-cmp/cmp"
	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/cosigntest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.yaml.in/yaml/v3"
)

var (
	// root is the product module's directory; examples is its examples/.
	root, examples string
	// manifestPush is the product binary, built once.
	manifestPush string
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var err error
		if root, err = binary.ProductRoot(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		examples = filepath.Join(root, "examples")
		dir, err := os.MkdirTemp("", "examples-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if manifestPush, err = binary.Build(ctx, dir, binary.Options{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// Files under examples/ that are not specs, and the test that covers each.
var (
	ciSnippets = []string{"ci/github-actions.yml", "ci/gitlab-ci.yml"} // TestCISnippets
	others     = []string{
		"helloarch/hello.go",     // the demo (integration/demo) builds and runs it
		"from-args/from-args.sh", // TestFromArgsScript
	}
)

// exampleFiles lists examples/ (slash-separated, relative) and splits it
// into specs (YAML with a manifests key) and the rest; a file that is
// neither a spec nor listed above fails the test.
func exampleFiles(t *testing.T) (specs []string) {
	t.Helper()
	err := filepath.WalkDir(examples, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(examples, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if slices.Contains(ciSnippets, rel) || slices.Contains(workflows, rel) || slices.Contains(others, rel) || (slices.Contains(publishing, rel) && filepath.Ext(rel) == ".yml") || strings.HasSuffix(rel, ".md") {
			return nil
		}
		if ext := filepath.Ext(rel); ext == ".yaml" || ext == ".yml" {
			var doc map[string]any
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := yaml.Unmarshal(data, &doc); err == nil && doc["manifests"] != nil {
				specs = append(specs, rel)
				return nil
			}
		}
		t.Errorf("examples/%s: no test covers it: add it to integration/examples", rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range append(slices.Clone(ciSnippets), others...) {
		if _, err := os.Stat(filepath.Join(examples, rel)); err != nil {
			t.Errorf("examples/%s is listed in the test but missing: %v", rel, err)
		}
	}
	return specs
}

// env is an embedded registry for one test.
type env struct {
	reg *registrytest.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	reg, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	return &env{reg: reg}
}

// lookupEnv is the environment the examples see: REGISTRY is the embedded
// registry; every other variable is unset, so the specs' defaults apply.
func (e *env) lookupEnv(name string) (string, bool) {
	if name == "REGISTRY" {
		return e.reg.Host(), true
	}
	return "", false
}

// push pushes a one-layer image whose config says p to ref (on the
// embedded registry).
func (e *env) push(t *testing.T, ref reference.Named, p ocispec.Platform) {
	t.Helper()
	tagged, ok := ref.(reference.NamedTagged)
	if !ok {
		t.Fatalf("%s: examples name their sources by tag", ref)
	}
	if domain := reference.Domain(ref); domain != e.reg.Host() {
		t.Fatalf("%s: the registry is %q, want ${REGISTRY} (%s): an example must be runnable against any registry", ref, domain, e.reg.Host())
	}
	_, err := imagetest.PushImage(context.Background(), e.reg.Client(), e.reg.URL(), reference.Path(ref), tagged.Tag(), imagetest.Image{Platform: p})
	if err != nil {
		t.Fatal(err)
	}
}

// run runs manifest-push (directly, or through a script) with REGISTRY set
// to the embedded registry and nothing else from the caller's environment
// but PATH, and returns its standard output.
func (e *env) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = root
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"DOCKER_CONFIG=" + t.TempDir(),
		"REGISTRY=" + e.reg.Host(),
		"MANIFEST_PUSH=" + manifestPush,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// result decodes manifest-push's one JSON line.
func result(t *testing.T, out string) publish.Result {
	t.Helper()
	var res publish.Result
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &res); err != nil {
		t.Fatalf("output is not one JSON result: %v\n%s", err, out)
	}
	return res
}

// checkDryRun asserts a dry run's result: nothing written, the entries in
// the expected order with the expected platforms, the target untouched.
func (e *env) checkDryRun(t *testing.T, res publish.Result, target string, want []string) {
	t.Helper()
	if !res.DryRun {
		t.Error("dryRun = false")
	}
	if res.Target != target {
		t.Errorf("target = %q, want %q", res.Target, target)
	}
	var got []string
	for _, m := range res.Manifests {
		got = append(got, m.Platform)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("platforms of the index (-want +got):\n%s", diff)
	}
	ref, err := reference.ParseNormalizedNamed(target)
	if err != nil {
		t.Fatal(err)
	}
	tagged := ref.(reference.NamedTagged)
	_, err = imagetest.HeadManifest(context.Background(), e.reg.Client(), e.reg.URL(), reference.Path(ref), tagged.Tag())
	if !errors.Is(err, imagetest.ErrNotFound) {
		t.Errorf("after --dry-run, %s: err = %v, want not found", target, err)
	}
}

// windowsOSVersion goes into windows configs that the spec gives no
// os.version: a Windows image's config always has one.
const windowsOSVersion = "10.0.17763.6189"

// TestSpecs validates every spec under examples/: offline with the
// product's spec.LoadFile, then with the real binary's --dry-run against
// the embedded registry, after pushing an image for each entry whose config
// says the spec's platform.
func TestSpecs(t *testing.T) {
	specs := exampleFiles(t)
	for _, want := range []string{"helloarch/helloarch.yaml", "windows/windows.yaml", "ci/release.yaml"} {
		if !slices.Contains(specs, want) {
			t.Errorf("examples/%s: not found as a spec", want)
		}
	}
	for _, rel := range specs {
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			path := filepath.Join(examples, filepath.FromSlash(rel))
			s, err := spec.LoadFile(path, spec.LoadOptions{LookupEnv: e.lookupEnv})
			if err != nil {
				t.Fatalf("spec.LoadFile: %v", err)
			}
			var want []string
			for _, entry := range s.Manifests {
				p := ocispec.Platform{OS: "linux", Architecture: "amd64"}
				if entry.Platform != nil && entry.Platform.OS != "" {
					p = *entry.Platform
				}
				if p.OS == "windows" && p.OSVersion == "" {
					p.OSVersion = windowsOSVersion
				}
				e.push(t, entry.Image, p)
				want = append(want, platform.Format(p))
			}
			out := e.run(t, manifestPush, "--plain-http", "--output", "json", "from-spec", "--dry-run", filepath.Join("examples", filepath.FromSlash(rel)))
			e.checkDryRun(t, result(t, out), s.Target.String(), want)
		})
	}
}

// TestFromArgsScript runs examples/from-args/from-args.sh with --dry-run
// against the helloarch images as the demo pushes them (every linux config
// saying linux/amd64).
func TestFromArgsScript(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a POSIX shell script")
	}
	t.Parallel()
	e := newEnv(t)
	var want []string
	for _, p := range []ocispec.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
		{OS: "linux", Architecture: "ppc64le"},
		{OS: "linux", Architecture: "s390x"},
		{OS: "windows", Architecture: "amd64", OSVersion: windowsOSVersion},
	} {
		suffix := p.OS + "-" + p.Architecture
		if p.Variant != "" {
			suffix += "-" + p.Variant
		}
		config := p
		if p.OS == "linux" {
			config = ocispec.Platform{OS: "linux", Architecture: "amd64"}
		}
		ref, err := reference.ParseNormalizedNamed(e.reg.Host() + "/helloarch:1.0-" + suffix)
		if err != nil {
			t.Fatal(err)
		}
		e.push(t, ref, config)
		want = append(want, platform.Format(p))
	}
	out := e.run(t, "sh", "examples/from-args/from-args.sh", "--plain-http", "--dry-run", "--output", "json")
	e.checkDryRun(t, result(t, out), e.reg.Host()+"/helloarch:1.0", want)
}

// TestCISnippets checks the GitHub Actions and GitLab CI examples: valid
// YAML; each calls manifest-push (its container image) with --output json,
// --password-stdin and from-spec on a spec that TestSpecs validates; and
// every flag it gives is one that manifest-push from-spec knows.
func TestCISnippets(t *testing.T) {
	known := knownFlags(t)
	specs := exampleFiles(t)
	for _, rel := range ciSnippets {
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(examples, filepath.FromSlash(rel)))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("not valid YAML: %v", err)
			}
			calls := invocations(doc)
			if len(calls) == 0 {
				t.Fatal("no manifest-push command found")
			}
			for _, args := range calls {
				joined := " " + strings.Join(args, " ") + " "
				for _, want := range []string{" --output json ", " --password-stdin ", " from-spec "} {
					if !strings.Contains(joined, want) {
						t.Errorf("%q lacks %q", strings.Join(args, " "), strings.TrimSpace(want))
					}
				}
				for i, a := range args {
					if a == "from-spec" && i+1 < len(args) {
						file := strings.TrimPrefix(args[i+1], "examples/")
						if !slices.Contains(specs, file) {
							t.Errorf("from-spec %s: not a spec under examples/ that TestSpecs validates", args[i+1])
						}
					}
					if strings.HasPrefix(a, "-") {
						name, _, _ := strings.Cut(a, "=")
						if !known[name] {
							t.Errorf("%s: manifest-push from-spec has no such flag", name)
						}
					}
				}
			}
		})
	}
}

// knownFlags returns the flags `manifest-push from-spec --help` lists.
func knownFlags(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command(manifestPush, "from-spec", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("from-spec --help: %v\n%s", err, out)
	}
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)(?:^|[ ,])(--?[a-z][a-z0-9-]*)`).FindAllStringSubmatch(string(out), -1) {
		known[m[1]] = true
	}
	if !known["--output"] || !known["--password-stdin"] {
		t.Fatalf("cannot read the flags from from-spec --help:\n%s", out)
	}
	return known
}

// manifestPushWord matches the word that starts manifest-push's arguments
// in a command line: the command itself, or its container image.
var manifestPushWord = regexp.MustCompile(`^(?:[^\s]*/)?manifest-push(?::[^\s]+)?$`)

// invocations finds the manifest-push command lines in every string of a
// CI document (shell continuation lines joined) and returns the arguments
// after the command (or its image), up to a pipe or redirection.
func invocations(doc any) [][]string {
	var calls [][]string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			script := strings.ReplaceAll(v, "\\\n", " ")
			sc := bufio.NewScanner(strings.NewReader(script))
			for sc.Scan() {
				calls = append(calls, commandArgs(strings.Fields(sc.Text()))...)
			}
		}
	}
	walk(doc)
	return calls
}

func commandArgs(words []string) [][]string {
	var calls [][]string
	for i, w := range words {
		if !manifestPushWord.MatchString(w) {
			continue
		}
		var args []string
		for _, a := range words[i+1:] {
			if a == "|" || a == "&&" || a == ";" || strings.HasPrefix(a, ">") {
				break
			}
			args = append(args, strings.Trim(a, `"'`))
		}
		if len(args) > 0 {
			calls = append(calls, args)
		}
	}
	return calls
}

// TestDockerfile checks what can be checked of the Dockerfile without a
// Docker engine (the CI snippets run the image it builds): a Go builder
// stage no older than go.mod's go directive, a static, trimmed,
// version-stamped build of a package that exists, and a final stage that
// runs as a non-root user with manifest-push as its entrypoint.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	var froms, users []string
	entrypoint := ""
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, line)
			users = nil // USER applies to its stage
		case "USER":
			users = append(users, f[1])
		case "ENTRYPOINT":
			entrypoint = strings.TrimSpace(strings.TrimPrefix(line, f[0]))
		}
	}
	if len(froms) < 2 {
		t.Errorf("%d FROM lines, want a multi-stage build", len(froms))
	}
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1], "0") || strings.HasPrefix(users[len(users)-1], "root") {
		t.Errorf("final stage user %q, want a non-root USER", users)
	}
	if entrypoint != `["manifest-push"]` {
		t.Errorf("ENTRYPOINT %s, want [\"manifest-push\"]", entrypoint)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "./cmd/manifest-push", "ca-certificates"} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	main, err := os.ReadFile(filepath.Join(root, "cmd", "manifest-push", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^var version = `).Match(main) {
		t.Error("cmd/manifest-push/main.go has no `var version = ...` for -X main.version to set")
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goDirective := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindSubmatch(gomod)
	image := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\d+)\.(\d+)`).FindSubmatch(data)
	if goDirective == nil || image == nil {
		t.Fatalf("cannot read go.mod's go directive (%q) or the Dockerfile's ARG GO_VERSION (%q)", goDirective, image)
	}
	if major, minor := string(image[1]), string(image[2]); major != string(goDirective[1]) || len(minor) < len(goDirective[2]) || (len(minor) == len(goDirective[2]) && minor < string(goDirective[2])) {
		t.Errorf("Dockerfile builds with Go %s.%s, older than go.mod's go %s.%s", major, minor, goDirective[1], goDirective[2])
	}

	// cosign, which --sign runs by default: cross-compiled from the signers
	// module like the credential helpers (static, for the target platform)
	// and copied onto the final stage's PATH.
	var cosignBuild, finalCopy string
	for _, in := range dockerInstructions(text) {
		switch {
		case strings.HasPrefix(in, "RUN ") && strings.Contains(in, "-o /out/cosign "):
			cosignBuild = in
		case strings.HasPrefix(in, "COPY --from=build ") && strings.HasSuffix(in, " /usr/local/bin/"):
			finalCopy = in
		}
	}
	if cosignBuild == "" {
		t.Error("Dockerfile has no RUN that builds -o /out/cosign")
	}
	for _, want := range []string{"cd signers", "CGO_ENABLED=0", "GOOS=$TARGETOS", "GOARCH=$TARGETARCH", "GOARM=${TARGETVARIANT#v}", "go build -trimpath", `-ldflags "-s -w`, " github.com/sigstore/cosign/v2/cmd/cosign"} {
		if cosignBuild != "" && !strings.Contains(cosignBuild, want) {
			t.Errorf("the Dockerfile's cosign build lacks %q:\n%s", want, cosignBuild)
		}
	}
	if !slices.Contains(strings.Fields(finalCopy), "/out/cosign") {
		t.Errorf("the final stage does not copy /out/cosign to /usr/local/bin/: %q", finalCopy)
	}
	// The version is the one signers/go.mod pins, the cosign the signing
	// tests run.
	signers, err := os.ReadFile(filepath.Join(root, "signers", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^tool github\.com/sigstore/cosign/v2/cmd/cosign$`).Match(signers) {
		t.Error("signers/go.mod has no `tool github.com/sigstore/cosign/v2/cmd/cosign`")
	}
	pinned := "none"
	if m := regexp.MustCompile(`(?m)^\s*github\.com/sigstore/cosign/v2 (\S+)`).FindSubmatch(signers); m != nil {
		pinned = string(m[1])
	}
	if pinned != cosigntest.Version {
		t.Errorf("signers/go.mod requires cosign %s, want %s", pinned, cosigntest.Version)
	}
}

// dockerInstructions are a Dockerfile's instructions, each on one line: the
// lines a backslash continues joined with a space, comments left out.
func dockerInstructions(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		more := strings.HasSuffix(line, "\\")
		cur.WriteString(strings.TrimSpace(strings.TrimSuffix(line, "\\")))
		if more {
			cur.WriteString(" ")
			continue
		}
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}
