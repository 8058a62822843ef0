package authtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/integration/internal/tokenauth"
)

// secretCatcher is a plain-HTTP server that records every request it gets
// and the credentials each carried, and answers 400.
type secretCatcher struct {
	mu      sync.Mutex
	hits    []string
	secrets []string
}

func (c *secretCatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.hits = append(c.hits, r.Method+" "+r.URL.Path)
	for _, h := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
		if v := r.Header.Get(h); v != "" {
			scheme, _, _ := strings.Cut(v, " ")
			c.secrets = append(c.secrets, h+": "+scheme+" …") // the value stays out of the test's log
		}
	}
	c.mu.Unlock()
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	http.Error(w, "recorded by the test", http.StatusBadRequest)
}

func (c *secretCatcher) seen() (hits, secrets []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.hits...), append([]string(nil), c.secrets...)
}

// downgradeUploads drops every mount (the registry opens an upload session
// instead, as ECR and Quay do) and turns the upload Location the registry
// answers from https:// into http:// on the same host and port: a
// TLS-terminating front that does not tell the registry the scheme.
func downgradeUploads(r *http.Request, _ int) proxy.Action {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/blobs/uploads/") {
		return proxy.Pass()
	}
	return proxy.Action{
		Rewrite: func(u *url.URL) {
			q := u.Query()
			q.Del("mount")
			q.Del("from")
			u.RawQuery = q.Encode()
		},
		ModifyResponse: func(resp *http.Response) error {
			if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "https://") {
				resp.Header.Set("Location", "http://"+strings.TrimPrefix(loc, "https://"))
			}
			return nil
		},
	}
}

// An HTTPS registry (Basic or behind a token server) answers an upload
// POST with a Location on the same host and port in plain HTTP, where a
// plain-HTTP server listens. The Location is refused with an error naming
// it, nothing reaches the plain-HTTP server (no credentials, no token, no
// blob), no upload is started again in a loop, no tag is written, and the
// password is not printed.
func TestUploadLocationDowngradeGetsNoCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		bearer bool
	}{{"basic", false}, {"bearer", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := registrytest.Options{TLS: true, Username: user, Password: password}
			var ts *tokenauth.TokenServer
			if tc.bearer {
				var err error
				if ts, err = tokenauth.StartTokenServer(tokenauth.TokenOptions{Username: user, Password: password}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(ts.Close)
				opts = registrytest.Options{TLS: true, Token: ts.RegistryAuth()}
			}
			reg, err := registrytest.Start(opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(reg.Close)
			client := reg.Client()
			if ts != nil {
				client = &http.Client{Transport: ts.Transport(reg.Transport())}
			}
			cert, err := reg.CA().ServerCertificate()
			if err != nil {
				t.Fatal(err)
			}
			catcher := &secretCatcher{}
			px, err := proxy.Start(reg.URL(), proxy.Options{
				Transport: reg.Transport(),
				TLS:       &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
				PlainHTTP: catcher,
				Fault:     downgradeUploads,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(px.Close)
			ctx := context.Background()
			for _, arch := range []string{"amd64", "arm64"} {
				if _, err := imagetest.PushImage(ctx, client, reg.URL(), "src/"+arch, "v1", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: arch}}); err != nil {
					t.Fatal(err)
				}
			}
			certs := t.TempDir()
			if _, err := reg.CA().WriteCertsDir(certs, px.Host()); err != nil {
				t.Fatal(err)
			}
			args := []string{"from-args", "--platforms", "linux/amd64,linux/arm64", "--template", px.Host() + "/src/ARCH:v1",
				"--target", px.Host() + "/dst/img:1", "--certs-dir", certs, "--username", user, "--password-stdin"}
			if ts != nil {
				realm, err := url.Parse(ts.Realm())
				if err != nil {
					t.Fatal(err)
				}
				args = append(args, "--plain-http-host", realm.Host) // the user's choice for the token server only
			}
			r := clitest.Run(t, bin, clitest.RunOptions{Stdin: password}, args...)
			t.Logf("%s", r)

			hits, secrets := catcher.seen()
			if len(secrets) > 0 {
				t.Errorf("credentials went over plain HTTP to %s: %q", px.Host(), secrets)
			}
			if len(hits) > 0 {
				t.Errorf("%d requests went over plain HTTP to %s: %q", len(hits), px.Host(), hits)
			}
			clitest.WantCode(t, r, 1)
			clitest.WantStderr(t, r, "refused a downgrade to plain HTTP", "upload location http://"+px.Host()+"/v2/dst/img/blobs/uploads/")
			if strings.Contains(r.Stdout+r.Stderr, password) {
				t.Errorf("the password is in the output\n%s", r)
			}
			posts := 0
			for _, q := range px.Requests() {
				if q.Method == http.MethodPost {
					posts++
				}
			}
			// Two images of a config and a layer each: one upload each at
			// most, none started again.
			if posts == 0 || posts > 4 {
				t.Errorf("%d upload POSTs, want 1 to 4\n%s", posts, clitest.Requests(px))
			}
			if d, err := imagetest.HeadManifest(ctx, client, reg.URL(), "dst/img", "1"); err == nil {
				t.Errorf("dst/img:1 was written (%s)", d.Digest)
			}
		})
	}
}

// A hosts.toml pull mirror on another host that asks for Basic
// credentials (a real registry with its own users) gets none of the
// registry's: the registry's password goes to the registry alone, and the
// push, whose reads fall back from the refusing mirror to the registry,
// succeeds.
func TestMirrorGetsNoRegistryCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{Username: user, Password: password}, nil)
	args := e.TwoPlatforms()
	mirror := clitest.NewEnv(t, registrytest.Options{Username: "mirror-user", Password: "mirror-password"})
	certs := t.TempDir()
	clitest.WriteFile(t, filepath.Join(certs, e.Host(), "hosts.toml"), fmt.Sprintf(
		"server = \"http://%s\"\n\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", e.Host(), mirror.Host()))
	r := e.Run(bin, clitest.RunOptions{Stdin: password},
		append(args, "--plain-http", "--certs-dir", certs, "--username", user, "--password-stdin")...)

	asked := 0
	for _, q := range mirror.Proxy.Requests() {
		if q.Status == http.StatusUnauthorized {
			asked++
		}
		if v := q.Header.Get("Authorization"); v != "" {
			scheme, _, _ := strings.Cut(v, " ")
			t.Errorf("the mirror %s got credentials: %s %s with Authorization: %s …", mirror.Host(), q.Method, q.Path, scheme)
		}
	}
	if asked == 0 {
		t.Fatalf("the mirror asked for no credentials: the case tests nothing\n%s", clitest.Requests(mirror.Proxy))
	}
	clitest.WantCode(t, r, 0)
	if e.TagDigest("dst/img", "1") == "" {
		t.Errorf("dst/img:1 not pushed\n%s", r)
	}
}

// A first push of 8 sources to a registry where every request without a
// token is answered 401 with a challenge (Docker Hub, here distribution
// behind a token server, with the Docker Hub profile in front): one
// request learns the challenge and the others wait for its token, so at
// most one 401 per host and realm reaches the proxy, not one per
// concurrent first request.
func TestFirstWaveOfRequestsOneChallenge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{}, &tokenauth.TokenOptions{Username: user, Password: password})
	prof, err := proxy.DockerHub(proxy.ProfileOptions{Upstream: e.Registry.URL(), Client: e.Client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prof.Close)
	e.Proxy.SetFault(prof.Fault)
	const n = 8
	var spec strings.Builder
	fmt.Fprintf(&spec, "image: %s/dst/app:1\nmanifests:\n", e.Host())
	for i := range n {
		p := imagetest.NthPlatform(i)
		e.Push(fmt.Sprintf("src/n%d", i), "v1", imagetest.Image{Platform: p})
		fmt.Fprintf(&spec, "  - image: %s/src/n%d:v1\n", e.Host(), i)
	}
	path := e.WriteFile("first.yaml", spec.String())
	e.ts.Reset()
	r := e.Run(bin, clitest.RunOptions{Stdin: password}, "--plain-http", "--username", user, "--password-stdin", "from-spec", path)
	clitest.WantCode(t, r, 0)

	// One host (the proxy's) and one realm (the token server's).
	reqs := e.Proxy.Requests()
	challenged := 0
	for _, q := range reqs {
		if q.Status == http.StatusUnauthorized {
			challenged++
		}
	}
	t.Logf("%d requests, %d answered 401, %d token requests", len(reqs), challenged, e.ts.Hits())
	if challenged > 1 {
		t.Errorf("%d requests answered 401 by %s (realm %s), want at most 1\n%s", challenged, e.Host(), e.ts.Realm(), clitest.Requests(e.Proxy))
	}
	if e.TagDigest("dst/app", "1") == "" {
		t.Errorf("dst/app:1 not pushed\n%s", r)
	}
}
