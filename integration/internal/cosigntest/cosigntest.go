// Package cosigntest finds the cosign binary the signing tests run (built
// once by make test-deps into the user's cache directory, keyed by its
// version), makes key pairs with it and verifies with it.
package cosigntest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Version is the cosign the tests run.
const Version = "v2.6.5"

// Password is the password of the test key pairs (COSIGN_PASSWORD).
const Password = "test-password"

// Path is where make test-deps builds cosign: the user's cache directory,
// manifest-push/tools/cosign-VERSION/cosign.
func Path() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "manifest-push", "tools", "cosign-"+Version, "cosign"), nil
}

// Need returns the cosign binary, or stops the test saying the one
// command that builds it.
func Need(t testing.TB) string {
	t.Helper()
	p, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("cosign %s is not built (%v): run make test-deps (it builds it into %s, about 7 minutes once)", Version, err, filepath.Dir(p))
	}
	return p
}

// Keys is a cosign key pair in a directory of its own.
type Keys struct {
	Dir, Key, Pub string
}

// NewKeys makes a key pair with cosign generate-key-pair, encrypted with
// Password.
func NewKeys(t testing.TB, cosign string) Keys {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(cosign, "generate-key-pair")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD="+Password)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	return Keys{Dir: dir, Key: filepath.Join(dir, "cosign.key"), Pub: filepath.Join(dir, "cosign.pub")}
}

// SignArgs are the signer arguments that sign with k offline (no
// transparency log).
func (k Keys) SignArgs() []string {
	return []string{"sign", "--yes", "--key", k.Key, "--tlog-upload=false", "${artifact}"}
}

// Verify runs cosign verify of ref with k's public key (no transparency
// log) and returns its combined output and error.
func (k Keys) Verify(cosign, ref string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cosign, "verify", "--key", k.Pub, "--insecure-ignore-tlog=true", ref)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+k.Dir)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
