package clitest_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// script writes a shell script standing in for the binary.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil { //nolint:gosec // an executable test script
		t.Fatal(err)
	}
	return path
}

func TestRun(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("runs a shell script")
	}
	t.Parallel()
	bin := script(t, `echo "home=$HOME cfg=$DOCKER_CONFIG x=$X pwd=$(pwd) args=$*"
cat >&2
exit 3
`)
	home, dir := t.TempDir(), t.TempDir()
	r := clitest.Run(t, bin, clitest.RunOptions{Home: home, Dir: dir, Stdin: "in\n", Env: []string{"X=1", "X=2"}}, "a", "b")
	clitest.WantCode(t, r, 3)
	clitest.WantStderr(t, r, "in")
	cfg := filepath.Join(home, "docker-config")
	want := "home=" + home + " cfg=" + cfg + " x=2 pwd=" + dir + " args=a b\n"
	if r.Stdout != want {
		t.Errorf("stdout %q, want %q", r.Stdout, want)
	}
	if fi, err := os.Stat(cfg); err != nil || !fi.IsDir() {
		t.Errorf("DOCKER_CONFIG %s not created: %v", cfg, err)
	}
	if s := r.String(); !strings.HasPrefix(s, "manifest-push a b\nexit 3\n--- stdout\n") || !strings.HasSuffix(s, "--- stderr\nin\n") {
		t.Errorf("String() = %q", s)
	}
}

func TestEnvWriteFileAndTagDigest(t *testing.T) {
	t.Parallel()
	e := clitest.NewEnv(t, registrytest.Options{})
	path := e.WriteFile("a/b.txt", "x")
	if b, err := os.ReadFile(path); err != nil || string(b) != "x" || filepath.Dir(filepath.Dir(path)) != e.Dir {
		t.Errorf("WriteFile wrote %q to %s (%v)", b, path, err)
	}
	if d := e.TagDigest("src/amd64", "v1"); d != "" {
		t.Errorf("TagDigest of a missing tag is %q, want empty", d)
	}
	args := e.TwoPlatforms()
	if d := e.TagDigest("src/amd64", "v1"); d == "" {
		t.Error("TagDigest of src/amd64:v1 is empty after TwoPlatforms")
	}
	if !strings.Contains(strings.Join(args, " "), e.Host()+"/dst/img:1") {
		t.Errorf("TwoPlatforms args %q do not name the proxy's host", args)
	}
	if n := e.Proxy.Count(); n != 0 {
		t.Errorf("%d requests through the proxy, want none (images go to the registry directly)\n%s", n, clitest.Requests(e.Proxy))
	}
}
