package library

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/libtest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
)

// TestBasicAuth: credentials from the options or from the Docker config;
// wrong ones fail with ErrUnauthorized after a bounded number of requests.
func TestBasicAuth(t *testing.T) {
	t.Parallel()
	const user, password = "alice", "s3cret!"
	e := newEnvWith(t, registrytest.Options{Username: user, Password: password})
	e.image("src/amd64", "v1", *linux("amd64", ""), imagetest.Docker)
	e.image("src/arm64", "v1", *linux("arm64", ""), imagetest.Docker)
	s := e.spec("dst/img:1", []string{"latest"}, e.entry("src/amd64:v1", nil), e.entry("src/arm64:v1", nil))
	ctx := context.Background()

	t.Run("options", func(t *testing.T) {
		o := e.opts()
		o.Username, o.Password = user, password
		if _, err := libtest.Push(ctx, s, o); err != nil {
			t.Fatal(err)
		}
		if d := e.TagDigest("dst/img", "latest"); d == "" {
			t.Error("not pushed")
		}
	})

	t.Run("docker config", func(t *testing.T) {
		dir := t.TempDir()
		auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
		cfg := `{"auths":{"` + e.Proxy.Host() + `":{"auth":"` + auth + `"}}}`
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		o := e.opts()
		o.DockerConfig = dir
		s2 := *s
		s2.Target = e.ref("dst/other:1").(reference.NamedTagged)
		if _, err := libtest.Push(ctx, &s2, o); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		e.Proxy.Reset()
		o := e.opts()
		o.Username, o.Password = user, "wrong"
		_, err := libtest.Push(ctx, s, o)
		if !errors.Is(err, registry.ErrUnauthorized) || !strings.Contains(err.Error(), `as user "alice"`) {
			t.Errorf("error %v", err)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("the password is in the message: %v", err)
		}
		// Each first request is tried once more with the credentials; no
		// source resolved, so no source repository was scanned for
		// referrers either.
		if max := 2 * (len(s.Manifests) + 2); e.Proxy.Count() > max || e.Proxy.Writes() != 0 {
			t.Errorf("%d requests (want at most %d), %d writes:\n%s", e.Proxy.Count(), max, e.Proxy.Writes(), clitest.Requests(e.Proxy))
		}
	})

	t.Run("no credentials", func(t *testing.T) {
		_, err := libtest.Inspect(ctx, e.Proxy.Host()+"/src/amd64:v1", e.opts().ClientOptions)
		if !errors.Is(err, registry.ErrUnauthorized) {
			t.Errorf("error %v", err)
		}
	})
}

// TestTLS: certificates are verified for a loopback registry too, unless
// Insecure; a certs.d directory gives the CA.
func TestTLS(t *testing.T) {
	t.Parallel()
	reg, err := registrytest.Start(registrytest.Options{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	ctx := context.Background()
	if _, err := imagetest.PushImage(ctx, reg.Client(), reg.URL(), "src/amd64", "v1", imagetest.Image{Platform: *linux("amd64", "")}); err != nil {
		t.Fatal(err)
	}
	certs := t.TempDir()
	if _, err := reg.CA().WriteCertsDir(certs, reg.Host()); err != nil {
		t.Fatal(err)
	}
	ref := reg.Host() + "/src/amd64:v1"
	empty := t.TempDir()

	if _, err := libtest.Inspect(ctx, ref, registry.Options{CertsDir: empty, DockerConfig: empty}); err == nil || !strings.Contains(err.Error(), registry.HintTLS.String()) {
		t.Errorf("unknown CA: %v", err)
	}
	if _, err := libtest.Inspect(ctx, ref, registry.Options{CertsDir: empty, DockerConfig: empty, Insecure: true}); err != nil {
		t.Errorf("insecure: %v", err)
	}
	if _, err := libtest.Inspect(ctx, ref, registry.Options{CertsDir: certs, DockerConfig: empty}); err != nil {
		t.Errorf("certs dir: %v", err)
	}
	if _, err := libtest.Inspect(ctx, ref, registry.Options{CertsDir: empty, DockerConfig: empty, PlainHTTP: true}); err == nil {
		t.Error("plain HTTP to a TLS registry: no error")
	}

	// A push over TLS with the certs dir.
	n, err := reference.ParseNormalizedNamed(reg.Host() + "/dst/img:1")
	if err != nil {
		t.Fatal(err)
	}
	s := &spec.Spec{Target: n.(reference.NamedTagged), Manifests: []spec.Entry{{Image: mustRef(t, ref)}}}
	if _, err := libtest.Push(ctx, s, libtest.Options{ClientOptions: registry.Options{CertsDir: certs, DockerConfig: empty}}); err != nil {
		t.Fatal(err)
	}
}
