package ship

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/cosigntest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

const (
	user     = "ci-bot"
	password = "s3cret-ship-pw"
)

// outputs parses a $GITHUB_OUTPUT file: name=value lines and
// name<<DELIMITER blocks.
func outputs(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if name, delim, ok := strings.Cut(l, "<<"); ok {
			var value []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				value = append(value, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("output %s: no closing %s", name, delim)
			}
			out[name] = strings.Join(value, "\n")
			continue
		}
		if name, value, ok := strings.Cut(l, "="); ok {
			out[name] = value
		}
	}
	return out
}

// The action's entry point, run as a runner runs the action's step: the
// inputs as INPUT_* variables, a $GITHUB_OUTPUT file, against the embedded
// registry with a password; the outputs digest and json are written, and
// the password is in neither the log nor the outputs.
func TestGitHubActionEntryPoint(t *testing.T) {
	e := clitest.NewEnv(t, registrytest.Options{Username: user, Password: password})
	e.LinuxImage("src/amd64", "v1", "amd64")
	e.LinuxImage("src/arm64", "v1", "arm64")
	spec := e.WriteFile("release.yaml", "image: ${REGISTRY}/app:1.2.3\ntags: [\"1\"]\nmanifests:\n"+
		"  - image: ${REGISTRY}/src/amd64:v1\n  - image: ${REGISTRY}/src/arm64:v1\n")

	for _, tc := range []struct {
		name   string
		inputs map[string]string
		target string
	}{
		{"spec", map[string]string{"SPEC": spec, "REGISTRY": e.Host(), "OPTIONS": "--plain-http"}, "app:1.2.3"},
		{"args", map[string]string{"ARGS": "--target " + e.Host() + "/app:args " + e.Host() + "/src/amd64:v1 " + e.Host() + "/src/arm64:v1", "OPTIONS": "--plain-http --type oci"}, "app:args"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			output := filepath.Join(t.TempDir(), "github_output")
			env := []string{"GITHUB_OUTPUT=" + output, "GITHUB_ACTIONS=true", "INPUT_USERNAME=" + user, "INPUT_PASSWORD=" + password}
			for k, v := range tc.inputs {
				env = append(env, "INPUT_"+k+"="+v)
			}
			r := e.Run(bin, clitest.RunOptions{Env: env}, "github-action")
			clitest.WantCode(t, r, 0)
			t.Logf("%s\n$GITHUB_OUTPUT:\n%s", r, mustRead(t, output))
			out := outputs(t, output)
			repo, tag, _ := strings.Cut(tc.target, ":")
			want := e.TagDigest(repo, tag)
			if want == "" || out["digest"] != want.String() {
				t.Errorf("output digest %q, the registry's %s is %q", out["digest"], tc.target, want)
			}
			var line struct {
				Digest string `json:"digest"`
				Target string `json:"target"`
			}
			if err := json.Unmarshal([]byte(out["json"]), &line); err != nil || line.Digest != want.String() || line.Target != e.Host()+"/"+tc.target {
				t.Errorf("output json %q (%v)", out["json"], err)
			}
			if strings.Contains(r.Stdout+r.Stderr+mustRead(t, output), password) {
				t.Error("the password is in the log or the outputs")
			}
		})
	}

	t.Run("bad inputs", func(t *testing.T) {
		output := filepath.Join(t.TempDir(), "github_output")
		r := e.Run(bin, clitest.RunOptions{Env: []string{"GITHUB_OUTPUT=" + output, "INPUT_SPEC=" + spec, "INPUT_ARGS=--target x"}}, "github-action")
		clitest.WantCode(t, r, 2)
		clitest.WantStderr(t, r, "spec and args are both given")
	})
}

// The action's sign input: true adds --sign, so the push would sign the
// index and both children with cosign's default arguments (a dry run: the
// default is keyless, which needs a GitHub OIDC token); false signs
// nothing; the action does not install cosign, so without it on PATH the
// run stops before any request, saying how to install it; another value
// is refused.
func TestGitHubActionSign(t *testing.T) {
	cosign := cosigntest.Need(t)
	e := clitest.NewEnv(t, registrytest.Options{})
	e.LinuxImage("src/amd64", "v1", "amd64")
	e.LinuxImage("src/arm64", "v1", "arm64")
	args := "--target " + e.Host() + "/app:1.0 " + e.Host() + "/src/amd64:v1 " + e.Host() + "/src/arm64:v1"
	withCosign := "PATH=" + filepath.Dir(cosign) + ":/usr/bin:/bin"
	run := func(t *testing.T, path, sign string) (clitest.Result, string) {
		t.Helper()
		e.Proxy.Reset()
		output := filepath.Join(t.TempDir(), "github_output")
		r := e.Run(bin, clitest.RunOptions{Env: []string{path, "GITHUB_OUTPUT=" + output, "GITHUB_ACTIONS=true",
			"INPUT_ARGS=" + args, "INPUT_OPTIONS=--plain-http --dry-run", "INPUT_SIGN=" + sign}}, "github-action")
		if e.Proxy.Writes() != 0 {
			t.Errorf("a dry run wrote to the registry:\n%s", clitest.Requests(e.Proxy))
		}
		if r.Code != 0 {
			return r, ""
		}
		return r, outputs(t, output)["json"]
	}
	type signature struct {
		Artifact string   `json:"artifact"`
		Status   string   `json:"status"`
		Command  []string `json:"command"`
	}

	t.Run("true", func(t *testing.T) {
		r, out := run(t, withCosign, "true")
		clitest.WantCode(t, r, 0)
		var line struct{ Signatures []signature }
		if err := json.Unmarshal([]byte(out), &line); err != nil {
			t.Fatalf("output json %q: %v", out, err)
		}
		if len(line.Signatures) != 3 {
			t.Fatalf("%d artifacts to sign, want the index and both children:\n%s", len(line.Signatures), out)
		}
		for _, s := range line.Signatures {
			// cosign as found on PATH, with its default arguments.
			want := []string{cosign, "sign", "--yes", s.Artifact}
			if s.Status != "would sign" || !strings.HasPrefix(s.Artifact, e.Host()+"/app@sha256:") || strings.Join(s.Command, " ") != strings.Join(want, " ") {
				t.Errorf("signature %+v, want status \"would sign\" and the command %q", s, want)
			}
		}
	})
	t.Run("false", func(t *testing.T) {
		r, out := run(t, withCosign, "false")
		clitest.WantCode(t, r, 0)
		if strings.Contains(out, "signatures") {
			t.Errorf("sign: false signs:\n%s", out)
		}
	})
	t.Run("no cosign on PATH", func(t *testing.T) {
		r, _ := run(t, "PATH=/usr/bin:/bin", "true")
		clitest.WantCode(t, r, 2)
		clitest.WantStderr(t, r, "install cosign")
		if n := e.Proxy.Count(); n != 0 {
			t.Errorf("%d requests reached the registry, want none:\n%s", n, clitest.Requests(e.Proxy))
		}
	})
	t.Run("not a boolean", func(t *testing.T) {
		r, _ := run(t, withCosign, "yes")
		clitest.WantCode(t, r, 2)
		clitest.WantStderr(t, r, `input sign is "yes": give true or false`)
		if n := e.Proxy.Count(); n != 0 {
			t.Errorf("%d requests reached the registry, want none:\n%s", n, clitest.Requests(e.Proxy))
		}
	})
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The install step the action runs: the release binary for this machine,
// downloaded with SHA256SUMS from the releases URL, checked, installed and
// put on $GITHUB_PATH; a binary whose checksum differs is not installed.
func TestActionInstallScript(t *testing.T) {
	dist := release(t)
	srv := httptest.NewServer(http.StripPrefix("/"+version+"/", http.FileServer(http.Dir(dist))))
	t.Cleanup(srv.Close)
	binDir := filepath.Join(t.TempDir(), "bin")
	githubPath := filepath.Join(t.TempDir(), "github_path")
	install := func(releases string) ([]byte, error) {
		cmd := exec.Command(filepath.Join(root, "scripts", "install.sh"))
		cmd.Env = append(os.Environ(), "VERSION="+version, "RELEASES="+releases, "BIN_DIR="+binDir, "GITHUB_PATH="+githubPath, "GOOS=linux", "GOARCH=amd64")
		return cmd.CombinedOutput()
	}
	out, err := install(srv.URL)
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	v, err := exec.Command(filepath.Join(binDir, "manifest-push"), "version").CombinedOutput()
	if err != nil || string(v) != "manifest-push v1.2.3\n" {
		t.Errorf("the installed binary says %q (%v)", v, err)
	}
	if got := strings.TrimSpace(mustRead(t, githubPath)); got != binDir {
		t.Errorf("$GITHUB_PATH has %q, want %q", got, binDir)
	}

	// A tampered binary: SHA256SUMS no longer matches it.
	tampered := t.TempDir()
	copyTree(t, dist, tampered)
	if err := os.WriteFile(filepath.Join(tampered, "manifest-push_1.2.3_linux_amd64"), []byte("#!/bin/sh\necho pwned\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := httptest.NewServer(http.StripPrefix("/"+version+"/", http.FileServer(http.Dir(tampered))))
	t.Cleanup(bad.Close)
	if err := os.RemoveAll(binDir); err != nil {
		t.Fatal(err)
	}
	out, err = install(bad.URL)
	if err == nil || !strings.Contains(string(out), "SHA256SUMS says") {
		t.Errorf("a tampered binary: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(binDir, "manifest-push")); err == nil {
		t.Error("the tampered binary was installed")
	}
}

// The docker CLI plugin: the binary installed as
// ~/.docker/cli-plugins/docker-manifestpush answers docker's metadata
// call, `docker manifestpush version` runs it, and a push through docker
// reads the credentials from docker's own config.
func TestDockerPlugin(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatalf("the docker client is needed (no daemon): %v", err)
	}
	home := t.TempDir()
	plugins := filepath.Join(home, ".docker", "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plugins, "docker-manifestpush"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	e := clitest.NewEnv(t, registrytest.Options{Username: user, Password: password})
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, e.Host(), base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	if err := os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	docker := func(args ...string) (string, error) {
		cmd := exec.Command("docker", args...)
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := docker("manifestpush", "version")
	t.Logf("$ docker manifestpush version\n%s", out)
	if err != nil || out != "manifest-push dev\n" {
		t.Errorf("docker manifestpush version: %q (%v)", out, err)
	}
	out, err = docker("manifestpush", "--help")
	if err != nil || !strings.Contains(out, "docker manifestpush [global options] command") {
		t.Errorf("docker manifestpush --help does not name itself as docker runs it (%v):\n%s", err, out)
	}
	out, err = docker("--help")
	if err != nil || !regexp.MustCompile(`manifestpush\*\s*Publish per-platform images`).MatchString(out) {
		t.Errorf("docker --help does not list the plugin (%v):\n%s", err, out)
	}

	args := e.TwoPlatforms()
	out, err = docker(append([]string{"manifestpush"}, append(args, "--plain-http")...)...)
	if err != nil {
		t.Fatalf("docker manifestpush %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if e.TagDigest("dst/img", "1") == "" {
		t.Errorf("the push through docker did not land:\n%s", out)
	}
	if !strings.Contains(out, "Digest: sha256:") {
		t.Errorf("docker manifestpush printed:\n%s", out)
	}
}
