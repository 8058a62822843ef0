package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
)

// skopeo returns the path of skopeo, an independent registry client
// (containers/image), to check what a push left in the registry. CI installs
// it (.ci/run): there a missing skopeo fails the test rather than skipping it.
func skopeo(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("skopeo")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("skopeo is not installed; .ci/run installs it (apt-get install skopeo)")
		}
		t.Skip("skopeo is not installed (apt-get install skopeo)")
	}
	return path
}

// TestSkopeoSeesThePushedIndex reads the pushed index with skopeo: its raw
// bytes are the ones manifest-push reported, and containers/image's own
// platform choice (skopeo copy with --override-os/arch/variant) copies the
// intended image for each platform.
func TestSkopeoSeesThePushedIndex(t *testing.T) {
	t.Parallel()
	bin := skopeo(t)
	e := newEnv(t)
	amd64, arm64, armv7 := e.threeRepos()
	r := e.run("--plain-http", "from-spec", e.WriteFile("hello.yaml", threeRepoSpec))
	clitest.WantCode(t, r, 0)
	dgst, size := digestLine(t, r)

	ref := "docker://" + e.ref("target/hello:1")
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--tmpdir", t.TempDir()}, args...)...)
		cmd.Env = append(os.Environ(), "REGISTRY_AUTH_FILE="+e.Dir+"/auth.json")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("skopeo %v: %v\n%s", args, err, stderr.String())
		}
		return out
	}

	raw := run("inspect", "--tls-verify=false", "--raw", ref)
	if got := digest.FromBytes(raw); got != dgst || int64(len(raw)) != size {
		t.Errorf("skopeo reads %s (%d bytes), manifest-push said %s %d", got, len(raw), dgst, size)
	}

	for _, tc := range []struct {
		os, arch, variant string
		want              digest.Digest
	}{
		{"linux", "amd64", "", amd64.Digest},
		{"linux", "arm64", "", arm64.Digest},
		{"linux", "arm", "v7", armv7.Digest},
	} {
		args := []string{"--override-os", tc.os, "--override-arch", tc.arch}
		if tc.variant != "" {
			args = append(args, "--override-variant", tc.variant)
		}
		dir := t.TempDir()
		run(append(args, "copy", "--src-tls-verify=false", ref, "dir:"+dir)...)
		manifest, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		info := struct{ Digest digest.Digest }{digest.FromBytes(manifest)}
		if info.Digest != tc.want {
			t.Errorf("skopeo on %s/%s%s picks %s, want %s", tc.os, tc.arch, tc.variant, info.Digest, tc.want)
		}
	}
}
