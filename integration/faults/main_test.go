// Package faults runs the manifest-push binary through the fault-injecting
// proxy in front of the real embedded registry: one test per row of the
// fault matrix, each asserting the outcome and what the registry holds
// afterwards.
package faults

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/binary"
	"github.com/manifest-push/manifest-push/integration/imagetest"
	"github.com/manifest-push/manifest-push/integration/proxy"
	"github.com/manifest-push/manifest-push/integration/registrytest"
)

// bin is the manifest-push executable built by TestMain.
var bin string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "manifest-push-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir) //nolint:errcheck // best effort: a temporary directory
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if bin, err = binary.Build(ctx, dir, binary.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// env is a registry, the counting proxy in front of it (the host the
// binary is given), an optional token server and a scratch directory.
type env struct {
	t      *testing.T
	reg    *registrytest.Registry
	px     *proxy.Proxy
	client *http.Client // pushes test images to the registry directly
	dir    string
}

// newEnv starts a registry with opts and the proxy in front of it.
func newEnv(t *testing.T, opts registrytest.Options) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	reg, err := registrytest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	e.reg = reg
	e.client = reg.Client()
	pxOpts := proxy.Options{Transport: reg.Transport()}
	if opts.TLS {
		cert, err := reg.CA().ServerCertificate()
		if err != nil {
			t.Fatal(err)
		}
		pxOpts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	px, err := proxy.Start(reg.URL(), pxOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	e.px = px
	return e
}

func (e *env) host() string { return e.px.Host() }

// image pushes a one-layer Docker image for linux/arch to repo:tag.
func (e *env) image(repo, tag, arch string) ocispec.Descriptor {
	e.t.Helper()
	d, err := imagetest.PushImage(context.Background(), e.client, e.reg.URL(), repo, tag,
		imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: arch}})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// tag reads where repo:tag points in the registry ("" when it does not exist).
func (e *env) tag(repo, tag string) string {
	e.t.Helper()
	d, err := imagetest.HeadManifest(context.Background(), e.client, e.reg.URL(), repo, tag)
	if err != nil {
		var he *imagetest.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusNotFound {
			return ""
		}
		e.t.Fatal(err)
	}
	return d.Digest.String()
}

// twoPlatforms pushes src/amd64:v1 and src/arm64:v1 and returns the
// from-args flags that push them as dst/img:1 with the tag latest.
func (e *env) twoPlatforms() []string {
	e.image("src/amd64", "v1", "amd64")
	e.image("src/arm64", "v1", "arm64")
	return []string{"from-args", "--platforms", "linux/amd64,linux/arm64",
		"--template", e.host() + "/src/ARCH:v1", "--target", e.host() + "/dst/img:1", "--tags", "latest"}
}

// result is what one run of the binary gave.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("manifest-push %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// runOpts are the extras of one run.
type runOpts struct {
	stdin string
	env   []string // KEY=VALUE, after the base environment
}

// run runs the binary with HOME and DOCKER_CONFIG in the scratch directory
// (no credentials of the machine's user).
func (e *env) run(o runOpts, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cfg := filepath.Join(e.dir, "docker-config")
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		e.t.Fatal(err)
	}
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "DOCKER_CONFIG=" + cfg}, o.env...)
	cmd.Stdin = strings.NewReader(o.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		r.code = exit.ExitCode()
	default:
		e.t.Fatalf("%v\n%s", err, r)
	}
	return r
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\n%s", r.code, code, r)
	}
	if r.stderr != "" {
		t.Logf("stderr of manifest-push %s:\n%s", strings.Join(r.args, " "), r.stderr)
	}
}

func wantStderr(t *testing.T, r result, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr does not say %q\n%s", s, r)
		}
	}
}

// writeFile writes content to name in the scratch directory.
func (e *env) writeFile(name, content string) string {
	e.t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}
