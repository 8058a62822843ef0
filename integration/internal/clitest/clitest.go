// Package clitest is the harness for tests that run the manifest-push
// binary against the embedded registry: it builds the binary once for a
// test package (Main), starts a registry with the counting proxy in front
// of it (NewEnv), runs the binary in an isolated HOME and DOCKER_CONFIG
// (Run) and checks what the run gave (Result, WantCode, WantStderr).
//
// Test images are pushed to the registry directly and assertions read it
// directly; the binary is given the proxy's host, so the proxy's log holds
// the binary's requests and nothing else.
package clitest

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

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// buildTimeout bounds the build of the binary in Main.
const buildTimeout = 10 * time.Minute

// Main builds the manifest-push binary with opts into a temporary
// directory, stores its path in *bin, runs the package's tests and returns
// the code for os.Exit: m.Run's, or 1 when the build fails. The directory
// is removed afterwards. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(clitest.Main(m, &bin, binary.Options{})) }
func Main(m *testing.M, bin *string, opts binary.Options) int {
	dir, err := os.MkdirTemp("", "manifest-push-clitest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir) //nolint:errcheck // best effort: a temporary directory
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if *bin, err = binary.Build(ctx, dir, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Env is one test's registry, the counting proxy in front of it (the host
// the binary is given) and a scratch directory. Everything is closed and
// removed when the test ends.
type Env struct {
	t testing.TB
	// Registry is the embedded registry.
	Registry *registrytest.Registry
	// Proxy is the counting proxy in front of Registry; it speaks the
	// registry's scheme.
	Proxy *proxy.Proxy
	// Client pushes test images to Registry and reads it directly, with the
	// registry's credentials. NewEnv sets Registry.Client(); a test with a
	// token server replaces it with a client that fetches tokens.
	Client *http.Client
	// Dir is the scratch directory: the HOME of Env.Run and where
	// Env.WriteFile writes.
	Dir string
}

// NewEnv starts a registry with opts and the proxy in front of it. A TLS
// registry gets a TLS proxy with a certificate of the same CA, which
// reaches the registry through a transport that trusts that CA (and
// presents the client certificate with ClientAuth); a plain registry gets
// a plain proxy with the proxy's default transport.
func NewEnv(t testing.TB, opts registrytest.Options) *Env {
	t.Helper()
	reg, err := registrytest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	var pxOpts proxy.Options
	if opts.TLS {
		cert, err := reg.CA().ServerCertificate()
		if err != nil {
			t.Fatal(err)
		}
		pxOpts.Transport = reg.Transport()
		pxOpts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	px, err := proxy.Start(reg.URL(), pxOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	return &Env{t: t, Registry: reg, Proxy: px, Client: reg.Client(), Dir: t.TempDir()}
}

// Host is the registry host the binary is given: the proxy's.
func (e *Env) Host() string { return e.Proxy.Host() }

// Push pushes img to repo:tag in the registry directly and returns its
// descriptor.
func (e *Env) Push(repo, tag string, img imagetest.Image) ocispec.Descriptor {
	e.t.Helper()
	d, err := imagetest.PushImage(context.Background(), e.Client, e.Registry.URL(), repo, tag, img)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// LinuxImage pushes a one-layer Docker image for linux/arch to repo:tag.
func (e *Env) LinuxImage(repo, tag, arch string) ocispec.Descriptor {
	e.t.Helper()
	return e.Push(repo, tag, imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: arch}})
}

// TwoPlatforms pushes src/amd64:v1 and src/arm64:v1 and returns the
// from-args arguments that push them as dst/img:1 with the tag latest.
func (e *Env) TwoPlatforms() []string {
	e.t.Helper()
	e.LinuxImage("src/amd64", "v1", "amd64")
	e.LinuxImage("src/arm64", "v1", "arm64")
	return []string{"from-args", "--platforms", "linux/amd64,linux/arm64",
		"--template", e.Host() + "/src/ARCH:v1", "--target", e.Host() + "/dst/img:1", "--tags", "latest"}
}

// TagDigest reads where repo:tag points in the registry; empty when the
// tag or the repository does not exist.
func (e *Env) TagDigest(repo, tag string) digest.Digest {
	e.t.Helper()
	d, err := imagetest.HeadManifest(context.Background(), e.Client, e.Registry.URL(), repo, tag)
	if errors.Is(err, imagetest.ErrNotFound) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return d.Digest
}

// WantWritesOnlyTo fails the test (and goes on) unless every write
// through the proxy went to repo and none is a DELETE.
func (e *Env) WantWritesOnlyTo(repo string) {
	e.t.Helper()
	for _, r := range e.Proxy.Requests() {
		if r.IsWrite() && !strings.HasPrefix(r.Path, "/v2/"+repo+"/") {
			e.t.Errorf("write outside the target repository %s: %s", repo, r)
		}
		if r.Method == http.MethodDelete {
			e.t.Errorf("delete: %s", r)
		}
	}
}

// WriteFile writes content to name (a slash-separated path) in the scratch
// directory and returns the file's path.
func (e *Env) WriteFile(name, content string) string {
	e.t.Helper()
	path := filepath.Join(e.Dir, filepath.FromSlash(name))
	WriteFile(e.t, path, content)
	return path
}

// Run is the package-level Run with HOME in the scratch directory unless
// o.Home is set.
func (e *Env) Run(bin string, o RunOptions, args ...string) Result {
	e.t.Helper()
	if o.Home == "" {
		o.Home = e.Dir
	}
	return Run(e.t, bin, o, args...)
}

// WriteFile writes content to path, creating its directory, readable by
// the owner only; it fails t on an error.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Requests renders the proxy's log, one request a line.
func Requests(px *proxy.Proxy) string {
	var b strings.Builder
	for _, r := range px.Requests() {
		fmt.Fprintln(&b, r)
	}
	return b.String()
}

// DefaultRunTimeout bounds a run whose RunOptions.Timeout is zero.
const DefaultRunTimeout = 2 * time.Minute

// RunOptions are the extras of one run. The zero value runs the binary
// with empty standard input in a new HOME.
type RunOptions struct {
	// Home is HOME. Zero: Env.Run uses the Env's Dir, Run a new
	// t.TempDir().
	Home string
	// DockerConfig is DOCKER_CONFIG. Zero: Home/docker-config, created
	// empty, so no credentials of the machine's user are found.
	DockerConfig string
	// Dir is the working directory. Zero: the test's (the package
	// directory).
	Dir string
	// Stdin is the standard input. Zero: empty.
	Stdin string
	// Env holds KEY=VALUE pairs added after the base environment (PATH,
	// HOME, DOCKER_CONFIG); a later pair wins over an earlier one of the
	// same key. Zero: the base environment only.
	Env []string
	// Timeout bounds the run; the binary is killed when it runs out.
	// Zero: DefaultRunTimeout.
	Timeout time.Duration
}

// Result is what one run of the binary gave.
type Result struct {
	Args   []string // the arguments, without the program name
	Code   int      // the exit code
	Stdout string
	Stderr string
}

// String shows the command line, the exit code and both outputs, for a
// failure message.
func (r Result) String() string {
	return fmt.Sprintf("manifest-push %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// Run runs bin with args in the environment o describes and returns what
// it gave. A non-zero exit is a Result; a binary that cannot start, is
// killed or runs out of time fails t now.
func Run(t testing.TB, bin string, o RunOptions, args ...string) Result {
	t.Helper()
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultRunTimeout
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	home := o.Home
	if home == "" {
		home = t.TempDir()
	}
	cfg := o.DockerConfig
	if cfg == "" {
		cfg = filepath.Join(home, "docker-config")
		if err := os.MkdirAll(cfg, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = o.Dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "DOCKER_CONFIG=" + cfg}, o.Env...)
	cmd.Stdin = strings.NewReader(o.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		r.Code = exit.ExitCode()
	default:
		t.Fatalf("%v\n%s", err, r)
	}
	return r
}

// WantCode fails the test now unless r exited with code.
func WantCode(t testing.TB, r Result, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit code %d, want %d\n%s", r.Code, code, r)
	}
}

// WantStderr fails the test (and goes on) unless stderr holds every one
// of subs.
func WantStderr(t testing.TB, r Result, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.Stderr, s) {
			t.Errorf("stderr does not say %q\n%s", s, r)
		}
	}
}
