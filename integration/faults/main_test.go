// Package faults runs the manifest-push binary through the fault-injecting
// proxy in front of the real embedded registry: one test per row of the
// fault matrix, each asserting the outcome and what the registry holds
// afterwards.
package faults

import (
	"os"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// bin is the manifest-push executable built by TestMain.
var bin string

func TestMain(m *testing.M) { os.Exit(clitest.Main(m, &bin, binary.Options{})) }

// env is a registry, the counting proxy in front of it (the host the
// binary is given) and a scratch directory.
type env struct {
	*clitest.Env
	t *testing.T
}

// newEnv starts a registry with opts and the proxy in front of it.
func newEnv(t *testing.T, opts registrytest.Options) *env {
	t.Helper()
	return &env{Env: clitest.NewEnv(t, opts), t: t}
}

// wantCode is clitest.WantCode that also logs stderr, so that -v shows
// what each fault made the binary say.
func wantCode(t *testing.T, r clitest.Result, code int) {
	t.Helper()
	clitest.WantCode(t, r, code)
	if r.Stderr != "" {
		t.Logf("stderr of manifest-push %s:\n%s", strings.Join(r.Args, " "), r.Stderr)
	}
}
