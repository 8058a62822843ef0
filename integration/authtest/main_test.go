package authtest

import (
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/tokenauth"

	"github.com/sirupsen/logrus"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// bin is the manifest-push executable built by TestMain.
var bin string

func TestMain(m *testing.M) {
	// distribution's token access controller logs through the global
	// logrus logger of this test process (the binary under test is another
	// process); its "token from untrusted issuer" lines are expected here.
	logrus.SetOutput(io.Discard)
	os.Exit(clitest.Main(m, &bin, binary.Options{}))
}

// env is a registry, the counting proxy in front of it (the host the
// binary is given), an optional token server and a scratch directory.
type env struct {
	*clitest.Env
	ts *tokenauth.TokenServer
}

// newEnv starts a registry with opts; with tokens set it starts a token
// server and protects the registry with it. The proxy speaks the
// registry's scheme (TLS registries get a TLS proxy with the same CA).
func newEnv(t *testing.T, opts registrytest.Options, tokens *tokenauth.TokenOptions) *env {
	t.Helper()
	e := &env{}
	if tokens != nil {
		ts, err := tokenauth.StartTokenServer(*tokens)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ts.Close)
		e.ts = ts
		opts.Token = ts.RegistryAuth()
	}
	e.Env = clitest.NewEnv(t, opts)
	if e.ts != nil {
		e.Client = &http.Client{Transport: e.ts.Transport(e.Registry.Transport())}
	}
	return e
}
