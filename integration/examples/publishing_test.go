package examples

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.yaml.in/yaml/v3"

	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// The publishing-workflow examples (README, "Publishing workflows"): the
// gated GitHub Actions matrix and the release with mirrors.
var publishing = []string{
	"ci/gated-matrix.yml",     // TestGatedMatrixWorkflow
	"ci/release-mirrors.yaml", // TestReleaseMirrors (and TestSpecs: it is a spec)
}

// runEnv runs manifest-push with args, the environment vars (and PATH,
// a fresh HOME and DOCKER_CONFIG) and stdin, in the product's root, and
// returns stdout, stderr and the exit code.
func runEnv(t *testing.T, vars map[string]string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, manifestPush, args...)
	cmd.Dir = root
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DOCKER_CONFIG=" + t.TempDir()}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &exit):
		return stdout.String(), stderr.String(), exit.ExitCode()
	}
	t.Fatalf("manifest-push %s: %v", strings.Join(args, " "), err)
	return "", "", 0
}

// tagPlatforms reads repo:tag from reg and lists its entries' platforms,
// sorted; nil when the tag does not exist.
func tagPlatforms(t *testing.T, reg *registrytest.Registry, repo, tag string) []string {
	t.Helper()
	_, body, _, err := imagetest.GetManifest(context.Background(), reg.Client(), reg.URL(), repo, tag)
	if errors.Is(err, imagetest.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range idx.Manifests {
		out = append(out, platforms.Format(*m.Platform))
	}
	slices.Sort(out)
	return out
}

// The gated matrix: actionlint finds nothing; --require names exactly the
// matrix's platforms; and its manifest-push command, run once per matrix
// job (each with its own image's digest, the run id the same) against the
// embedded registry, leaves the public tag absent until the last job, which
// moves it and latest to an index of exactly the matrix's platforms.
func TestGatedMatrixWorkflow(t *testing.T) {
	t.Parallel()
	path := filepath.Join(examples, "ci", "gated-matrix.yml")
	lint(t, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Strategy struct {
				Matrix struct {
					Platform []string `yaml:"platform"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	matrix := wf.Jobs["platform"].Strategy.Matrix.Platform
	calls := invocations(doc)
	if len(calls) != 1 || len(matrix) < 2 {
		t.Fatalf("want one manifest-push command and a platform matrix; found %d commands, matrix %v", len(calls), matrix)
	}
	args := calls[0]
	i := slices.Index(args, "--require")
	if i < 0 || i+1 == len(args) || !slices.Equal(strings.Split(args[i+1], ","), matrix) {
		t.Fatalf("--require does not name the matrix's platforms %v: %q", matrix, args)
	}

	reg, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	for n, p := range matrix {
		pl, err := platforms.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		d, err := imagetest.PushImage(context.Background(), reg.Client(), reg.URL(), "acme/hello", "", imagetest.Image{Platform: pl})
		if err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{
			"REGISTRY": reg.Host() + "/acme", "VERSION": "v1.0.0", "RUN_ID": "4242",
			"DIGEST": d.Digest.String(), "REGISTRY_USER": "ci",
		}
		expanded := []string{"--plain-http"}
		for _, a := range args {
			expanded = append(expanded, os.Expand(a, func(k string) string { return vars[k] }))
		}
		stdout, stderr, code := runEnv(t, nil, "a-token", expanded...)
		t.Logf("job %d (%s): manifest-push %s\n%s%s", n+1, p, strings.Join(expanded, " "), stdout, stderr)
		if code != 0 {
			t.Fatalf("job %d exited %d", n+1, code)
		}
		got := tagPlatforms(t, reg, "acme/hello", "v1.0.0")
		if n < len(matrix)-1 {
			if got != nil {
				t.Fatalf("after job %d of %d the public tag holds %v", n+1, len(matrix), got)
			}
			if !strings.Contains(stdout, "staged; still missing: ") {
				t.Errorf("job %d does not say what is missing", n+1)
			}
			continue
		}
		want := slices.Clone(matrix)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("after the last job the public tag holds %v, want %v", got, want)
		}
		if l := tagPlatforms(t, reg, "acme/hello", "latest"); !slices.Equal(l, want) {
			t.Errorf("latest holds %v, want %v", l, want)
		}
	}
}

// The release with mirrors, against two embedded registries standing for
// GHCR and Docker Hub: one run publishes the same digest under both, with
// latest on both, one JSON line each.
func TestReleaseMirrors(t *testing.T) {
	t.Parallel()
	ghcr, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ghcr.Close()
	hub, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	for _, arch := range []string{"amd64", "arm64"} {
		if _, err := imagetest.PushImage(context.Background(), ghcr.Client(), ghcr.URL(), "acme/hello", "1.0-linux-"+arch,
			imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: arch}}); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{"REGISTRY": ghcr.Host() + "/acme", "MIRROR": hub.Host() + "/acme", "VERSION": "1.0"}
	stdout, stderr, code := runEnv(t, vars, "", "--plain-http", "-o", "json", "from-spec", "examples/ci/release-mirrors.yaml")
	t.Logf("%s%s", stdout, stderr)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var targets []string
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var res struct{ Target, Digest, Error string }
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			t.Fatal(err)
		}
		targets = append(targets, res.Target)
	}
	if want := []string{ghcr.Host() + "/acme/hello:1.0", hub.Host() + "/acme/hello:1.0"}; !slices.Equal(targets, want) {
		t.Errorf("JSON lines for %v, want %v", targets, want)
	}
	want := []string{"linux/amd64", "linux/arm64"}
	for _, r := range []*registrytest.Registry{ghcr, hub} {
		for _, tag := range []string{"1.0", "latest"} {
			if got := tagPlatforms(t, r, "acme/hello", tag); !slices.Equal(got, want) {
				t.Errorf("%s/acme/hello:%s holds %v, want %v", r.Host(), tag, got, want)
			}
		}
	}
	a, _ := imagetest.HeadManifest(context.Background(), ghcr.Client(), ghcr.URL(), "acme/hello", "1.0")
	b, _ := imagetest.HeadManifest(context.Background(), hub.Client(), hub.URL(), "acme/hello", "1.0")
	if a.Digest == "" || a.Digest != b.Digest {
		t.Errorf("digests %q and %q, want the same", a.Digest, b.Digest)
	}
}
