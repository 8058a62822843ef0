package authtest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/integration/internal/testca"
)

// TestTLS runs the binary against a TLS registry on a loopback address
// whose CA the machine does not trust: verification is on unless
// --insecure; --certs-dir supplies the CA (HOST:PORT/ca.crt or hosts.toml)
// and client certificates.
func TestTLS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		clientAuth bool
		// setup writes a certs.d directory (or returns "" for none) and
		// the extra flags.
		setup func(t *testing.T, e *env, host string) []string
		code  int
		// stderr holds these (with HOST replaced) when code is not 0.
		stderr []string
	}{
		{name: "unknown CA", code: 1, stderr: []string{"--certs-dir", "--insecure", "certificate"}},
		{name: "insecure", setup: func(*testing.T, *env, string) []string { return []string{"--insecure"} }},
		{name: "certs-dir ca.crt", setup: func(t *testing.T, e *env, host string) []string {
			dir := t.TempDir()
			if _, err := e.Registry.CA().WriteCertsDir(dir, host); err != nil {
				t.Fatal(err)
			}
			return []string{"--certs-dir", dir}
		}},
		{name: "certs-dir of another CA", code: 1, stderr: []string{"--certs-dir", "--insecure"}, setup: func(t *testing.T, e *env, host string) []string {
			other, err := testca.New()
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if _, err := other.WriteCertsDir(dir, host); err != nil {
				t.Fatal(err)
			}
			return []string{"--certs-dir", dir}
		}},
		{name: "hosts.toml ca", setup: func(t *testing.T, e *env, host string) []string {
			dir := t.TempDir()
			ca := filepath.Join(t.TempDir(), "registry-ca.pem")
			clitest.WriteFile(t, ca, string(e.Registry.CACertPEM()))
			clitest.WriteFile(t, filepath.Join(dir, host, "hosts.toml"),
				"server = \"https://"+host+"\"\nca = \""+ca+"\"\n")
			return []string{"--certs-dir", dir}
		}},
		// skip_verify = true is the user's own choice for that host:
		// honoured, and said.
		{name: "hosts.toml skip_verify is honoured with a warning", stderr: []string{"warning: TLS certificates of 127.0.0.1:", "are not verified: its hosts.toml says skip_verify = true"}, setup: func(t *testing.T, _ *env, host string) []string {
			dir := t.TempDir()
			clitest.WriteFile(t, filepath.Join(dir, host, "hosts.toml"),
				"server = \"https://"+host+"\"\nskip_verify = true\n")
			return []string{"--certs-dir", dir}
		}},
		{name: "client certificate", clientAuth: true, setup: func(t *testing.T, e *env, host string) []string {
			return []string{"--certs-dir", clientCertsDir(t, e, host)}
		}},
		{name: "client certificate missing", clientAuth: true, code: 1, setup: func(t *testing.T, e *env, host string) []string {
			dir := t.TempDir()
			if _, err := e.Registry.CA().WriteCertsDir(dir, host); err != nil {
				t.Fatal(err)
			}
			return []string{"--certs-dir", dir}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, registrytest.Options{TLS: true, ClientAuth: tc.clientAuth}, nil)
			// The proxy does not ask for client certificates: a client
			// certificate test talks to the registry itself.
			host := e.Host()
			if tc.clientAuth {
				host = e.Registry.Host()
			}
			e.LinuxImage("src/amd64", "v1", "amd64")
			args := []string{"from-args", "--platforms", "linux/amd64", "--template", host + "/src/ARCH:v1", "--target", host + "/dst/img:1"}
			if tc.setup != nil {
				args = append(args, tc.setup(t, e, host)...)
			}
			r := e.Run(bin, clitest.RunOptions{}, args...)
			clitest.WantCode(t, r, tc.code)
			clitest.WantStderr(t, r, tc.stderr...)
			if got := e.TagDigest("dst/img", "1"); (got != "") != (tc.code == 0) {
				t.Errorf("dst/img:1 is %q after exit %d", got, tc.code)
			}
		})
	}
}

// clientCertsDir writes HOST/ca.crt, client.cert and client.key.
func clientCertsDir(t *testing.T, e *env, host string) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := e.Registry.CA().WriteCertsDir(dir, host); err != nil {
		t.Fatal(err)
	}
	cert, err := e.Registry.CA().ClientCertificate("manifest-push")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := testca.EncodePEM(cert)
	if err != nil {
		t.Fatal(err)
	}
	clitest.WriteFile(t, filepath.Join(dir, host, "client.cert"), string(certPEM))
	clitest.WriteFile(t, filepath.Join(dir, host, "client.key"), string(keyPEM))
	return dir
}

// From an HTTPS registry into a local plain-HTTP one, with no hosts.toml:
// --plain-http-host names the plain one, the other stays verified HTTPS.
func TestPlainHTTPHostBesideHTTPS(t *testing.T) {
	t.Parallel()
	src := newEnv(t, registrytest.Options{TLS: true}, nil)
	dst := clitest.NewEnv(t, registrytest.Options{})
	src.LinuxImage("src/amd64", "v1", "amd64")
	certs := t.TempDir()
	if _, err := src.Registry.CA().WriteCertsDir(certs, src.Host()); err != nil {
		t.Fatal(err)
	}
	args := []string{"from-args", "--platforms", "linux/amd64", "--template", src.Host() + "/src/ARCH:v1", "--target", dst.Host() + "/dst/img:1", "--certs-dir", certs}

	r := src.Run(bin, clitest.RunOptions{}, append(args, "--plain-http-host", dst.Host())...)
	clitest.WantCode(t, r, 0)
	if dst.TagDigest("dst/img", "1") == "" {
		t.Errorf("dst/img:1 was not pushed\n%s", r)
	}
	if src.Proxy.Writes() != 0 {
		t.Errorf("%d writes to the source registry", src.Proxy.Writes())
	}

	// Without it, the plain-HTTP target fails, and the hint names it alone.
	r = src.Run(bin, clitest.RunOptions{}, append(args, "--tags", "2")...)
	clitest.WantCode(t, r, 1)
	clitest.WantStderr(t, r, "hint: "+dst.Host()+" speaks plain HTTP: try --plain-http-host "+dst.Host())
	if strings.Contains(r.Stderr, "hint: "+src.Host()) {
		t.Errorf("a hint names the HTTPS source\n%s", r)
	}
}
