package hostile

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/integration/internal/tokenauth"
)

const (
	user     = "ci-bot"
	password = "s3cret-hostile-pw"
)

// redirectAuthorized answers every request of m that carries credentials
// with a 307 to base (same path): what a registry does to send reads to
// its storage.
func redirectAuthorized(m proxy.Matcher, base string) proxy.FaultFunc {
	return func(r *http.Request, _ int) proxy.Action {
		if !m(r) || r.Header.Get("Authorization") == "" {
			return proxy.Pass()
		}
		return proxy.Respond(http.StatusTemporaryRedirect, http.Header{"Location": {base + r.URL.RequestURI()}}, "")
	}
}

// tokenEnv is a registry protected by a token server, with a client that
// fetches tokens for test images.
func tokenEnv(t *testing.T, opts registrytest.Options) (*clitest.Env, *tokenauth.TokenServer) {
	t.Helper()
	ts, err := tokenauth.StartTokenServer(tokenauth.TokenOptions{Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	opts.Token = ts.RegistryAuth()
	e := clitest.NewEnv(t, opts)
	e.Client = &http.Client{Transport: ts.Transport(e.Registry.Transport())}
	return e, ts
}

var reads = proxy.Match(http.MethodGet, `^/v2/src/.*/(manifests|blobs)/`)

// A registry redirects reads to the same host on another port (its storage,
// or a hostile neighbour): the push works, and the other server never sees
// the credentials (Basic) or the token (Bearer).
func TestRedirectToAnotherPortGetsNoCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) *clitest.Env
	}{
		{"basic", func(t *testing.T) *clitest.Env {
			return clitest.NewEnv(t, registrytest.Options{Username: user, Password: password})
		}},
		{"bearer", func(t *testing.T) *clitest.Env {
			e, _ := tokenEnv(t, registrytest.Options{})
			return e
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := tc.start(t)
			args := e.TwoPlatforms()
			rec := newRecorder(t, forwardTo(e.Client, e.Registry.URL()))
			e.Proxy.SetFault(redirectAuthorized(reads, rec.URL))
			r := run(t, clitest.RunOptions{Stdin: password}, append(args, "--plain-http", "--username", user, "--password-stdin")...)
			clitest.WantCode(t, r, 0)
			hits, secrets := rec.seen()
			if hits == 0 {
				t.Fatalf("no read was redirected: the case tests nothing\n%s", clitest.Requests(e.Proxy))
			}
			if len(secrets) > 0 {
				t.Errorf("the server on the other port received credentials: %q", secrets)
			}
			if e.TagDigest("dst/img", "1") == "" {
				t.Error("the push did not land")
			}
		})
	}
}

// An HTTPS registry redirecting a read to plain HTTP: refused, nothing
// reaches the plain-HTTP server, nothing is written.
func TestHTTPSRedirectToPlainHTTPIsRefused(t *testing.T) {
	t.Parallel()
	e := clitest.NewEnv(t, registrytest.Options{TLS: true, Username: user, Password: password})
	args := e.TwoPlatforms()
	certs := t.TempDir()
	if _, err := e.Registry.CA().WriteCertsDir(certs, e.Host()); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t, forwardTo(e.Client, e.Registry.URL()))
	e.Proxy.SetFault(redirectAuthorized(reads, rec.URL))
	r := run(t, clitest.RunOptions{Stdin: password}, append(args, "--certs-dir", certs, "--username", user, "--password-stdin")...)
	clitest.WantCode(t, r, 1)
	clitest.WantStderr(t, r, "refused a downgrade to plain HTTP: https://"+e.Host()+"/v2/src/", "redirected to http://")
	if hits, _ := rec.seen(); hits != 0 {
		t.Errorf("%d requests reached the plain-HTTP server", hits)
	}
	if n := e.Proxy.Writes(); n != 0 {
		t.Errorf("%d writes", n)
	}
	if strings.Contains(r.Stderr, password) {
		t.Error("the password is in the output")
	}
}

// An HTTPS registry whose token realm is plain HTTP: the credentials would
// be POSTed in clear; refused before any token request, unless the user
// made the token server's host plain HTTP.
func TestHTTPSTokenRealmOverPlainHTTPIsRefused(t *testing.T) {
	t.Parallel()
	e, ts := tokenEnv(t, registrytest.Options{TLS: true})
	args := e.TwoPlatforms()
	certs := t.TempDir()
	if _, err := e.Registry.CA().WriteCertsDir(certs, e.Host()); err != nil {
		t.Fatal(err)
	}
	ts.Reset()
	r := run(t, clitest.RunOptions{Stdin: password}, append(args, "--certs-dir", certs, "--username", user, "--password-stdin")...)
	clitest.WantCode(t, r, 1)
	clitest.WantStderr(t, r, "refused a downgrade to plain HTTP", "names the token server http://")
	if n := ts.Hits(); n != 0 {
		t.Errorf("%d requests reached the plain-HTTP token server", n)
	}
	if n := e.Proxy.Writes(); n != 0 {
		t.Errorf("%d writes", n)
	}

	// The user's own choice: the token server's host made plain HTTP.
	tsHost := strings.TrimPrefix(strings.TrimSuffix(ts.Realm(), "/token"), "http://")
	r = run(t, clitest.RunOptions{Stdin: password}, append(args, "--certs-dir", certs, "--plain-http-host", tsHost, "--username", user, "--password-stdin")...)
	clitest.WantCode(t, r, 0)
}

// A token server answering a 128 MiB token: refused after 1 MiB, whether
// it declares its length or streams; memory stays low; nothing written.
func TestHugeTokenIsRefused(t *testing.T) {
	t.Parallel()
	for _, declare := range []bool{true, false} {
		t.Run(fmt.Sprintf("declared=%v", declare), func(t *testing.T) {
			t.Parallel()
			e := clitest.NewEnv(t, registrytest.Options{})
			args := e.TwoPlatforms()
			tokens := newRecorder(t, hugeToken(128<<20, declare))
			e.Proxy.SetFault(func(r *http.Request, _ int) proxy.Action {
				if r.Header.Get("Authorization") != "" {
					return proxy.Pass()
				}
				return proxy.Respond(http.StatusUnauthorized, http.Header{
					"WWW-Authenticate": {fmt.Sprintf(`Bearer realm="%s/token",service="hostile"`, tokens.URL)},
				}, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			})
			r := run(t, clitest.RunOptions{}, append(args, "--plain-http")...)
			if r.Code == 0 {
				t.Fatalf("exit 0\n%s", r)
			}
			clitest.WantStderr(t, r, "more than 1048576")
			if n := e.Proxy.Writes(); n != 0 {
				t.Errorf("%d writes", n)
			}
		})
	}
}

// Bodies without end: a manifest, an error answer, an image config. Each
// read is capped; memory stays low; nothing is written.
func TestEndlessBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		match   proxy.Matcher
		handler http.HandlerFunc
		stderr  string
	}{
		{"manifest", proxy.Match(http.MethodGet, `^/v2/src/amd64/manifests/`),
			endless(http.StatusOK, imagetest.MediaTypeDockerManifest, `{"schemaVersion":2,"mediaType":"`+imagetest.MediaTypeDockerManifest+`","x":"`),
			"manifest larger than 4194304 bytes"},
		{"error answer", proxy.Match(http.MethodGet, `^/v2/src/amd64/manifests/`),
			endless(http.StatusBadRequest, "application/json", `{"errors":[{"code":"DENIED","message":"`), "400 Bad Request"},
		{"image config", proxy.Match(http.MethodGet, `^/v2/src/amd64/blobs/`),
			endless(http.StatusOK, "application/octet-stream", ""), "src/amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := clitest.NewEnv(t, registrytest.Options{})
			args := e.TwoPlatforms()
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			e.Proxy.SetFault(proxy.Always(tc.match, proxy.ForwardTo(srv.URL)))
			r := run(t, clitest.RunOptions{}, append(args, "--plain-http")...)
			clitest.WantCode(t, r, 1)
			clitest.WantStderr(t, r, tc.stderr)
			if n := e.Proxy.Writes(); n != 0 {
				t.Errorf("%d writes", n)
			}
			if len(r.Stderr) > 64<<10 {
				t.Errorf("%d bytes of stderr", len(r.Stderr))
			}
		})
	}
}

// A source index whose entries are ten copies of one sub-index, six levels
// deep (a million paths to one image): each distinct index is read once
// and expanded once.
func TestFanOutIndexGraph(t *testing.T) {
	t.Parallel()
	e := clitest.NewEnv(t, registrytest.Options{})
	ctx := context.Background()
	img := e.Push("src/fan", "img", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, Format: imagetest.OCI})
	level := img
	const levels = 7
	for i := range levels {
		n := 10
		if i == 0 {
			n = 1
		}
		children := make([]ocispec.Descriptor, n)
		for j := range children {
			children[j] = level
		}
		tag := ""
		if i == levels-1 {
			tag = "top"
		}
		d, err := imagetest.PushIndex(ctx, e.Client, e.Registry.URL(), "src/fan", tag, children, imagetest.IndexOptions{Format: imagetest.OCI})
		if err != nil {
			t.Fatal(err)
		}
		d.Platform = nil
		level = d
	}
	r := run(t, clitest.RunOptions{}, fromSpec(t, e.Host()+"/dst/fan:1", e.Host()+"/src/fan:top")...)
	clitest.WantCode(t, r, 0)
	indexReads := 0
	for _, req := range e.Proxy.Requests() {
		if req.Method == http.MethodGet && strings.Contains(req.Path, "/src/fan/manifests/") {
			indexReads++
		}
	}
	// The tag, six distinct nested indexes, and the image manifest (its
	// descriptor checked against its bytes).
	if indexReads > levels+1 {
		t.Errorf("%d manifest reads, want at most %d: each distinct index once\n%s", indexReads, levels+1, clitest.Requests(e.Proxy))
	}
	_, body, _, err := imagetest.GetManifest(ctx, e.Client, e.Registry.URL(), "dst/fan", "1")
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil || len(idx.Manifests) != 1 || idx.Manifests[0].Digest != img.Digest {
		t.Errorf("dst/fan:1 is %s (%v)", body, err)
	}

	// verify and inspect walk the same graph with the same bounds: each
	// distinct document read once.
	for _, args := range [][]string{{"verify", "--blobs"}, {"inspect"}} {
		e.Proxy.Reset()
		r := run(t, clitest.RunOptions{}, append(append([]string{"--plain-http"}, args...), e.Host()+"/src/fan:top")...)
		clitest.WantCode(t, r, 0)
		if n := len(e.Proxy.Requests()); n >= 200 {
			t.Errorf("%s: %d requests, want fewer than 200\n%s", args[0], n, clitest.Requests(e.Proxy))
		}
		t.Logf("%s of the fanned-out graph: %d requests", args[0], len(e.Proxy.Requests()))
	}
}

// An index nested 1,000 levels deep: verify reports it damaged (deeper than
// the walk's bound) and inspect lists its one entry, each reading each
// distinct document at most once; a push refuses it. Nothing is written.
func TestDeepIndexGraph(t *testing.T) {
	t.Parallel()
	e := clitest.NewEnv(t, registrytest.Options{})
	ctx := context.Background()
	level := e.Push("src/deep", "img", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, Format: imagetest.OCI})
	const levels = 1000
	for i := range levels {
		tag := ""
		if i == levels-1 {
			tag = "top"
		}
		d, err := imagetest.PushIndex(ctx, e.Client, e.Registry.URL(), "src/deep", tag, []ocispec.Descriptor{level}, imagetest.IndexOptions{Format: imagetest.OCI})
		if err != nil {
			t.Fatal(err)
		}
		d.Platform = nil
		level = d
	}
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"verify", "--blobs"}, 5, "nested more than 8 deep"},
		{[]string{"inspect"}, 0, ""},
		{fromSpec(t, e.Host()+"/dst/deep:1", e.Host()+"/src/deep:top"), 1, "nested more than 8 deep"},
	} {
		e.Proxy.Reset()
		args := tc.args
		if args[0] != "--plain-http" {
			args = append(append([]string{"--plain-http"}, args...), e.Host()+"/src/deep:top")
		}
		r := run(t, clitest.RunOptions{}, args...)
		clitest.WantCode(t, r, tc.code)
		if tc.says != "" && !strings.Contains(r.Stdout+r.Stderr, tc.says) {
			t.Errorf("%v does not say %q\n%s", tc.args, tc.says, r)
		}
		if n := len(e.Proxy.Requests()); n >= 200 {
			t.Errorf("%v: %d requests, want fewer than 200\n%s", tc.args, n, clitest.Requests(e.Proxy))
		}
		if n := e.Proxy.Writes(); n != 0 {
			t.Errorf("%v: %d writes", tc.args, n)
		}
		t.Logf("%v of an index nested %d deep: exit %d, %d requests", tc.args, levels, r.Code, len(e.Proxy.Requests()))
	}
}

// fromSpec is the command line pushing target from sources (without
// platforms: they come from the sources) through a spec file.
func fromSpec(t *testing.T, target string, sources ...string) []string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "image: %s\nmanifests:\n", target)
	for _, s := range sources {
		fmt.Fprintf(&b, "  - image: %s\n", s)
	}
	path := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--plain-http", "from-spec", path}
}

// serveIndex makes the proxy answer GETs of src/many:1 with an OCI index of
// the entries given, as a hostile registry would serve it.
func serveIndex(t *testing.T, e *clitest.Env, repo string, entries []ocispec.Descriptor) {
	t.Helper()
	body, err := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: entries})
	if err != nil {
		t.Fatal(err)
	}
	e.Proxy.SetFault(proxy.Always(proxy.Match(http.MethodGet, "^/v2/"+repo+"/manifests/1$"),
		proxy.Respond(http.StatusOK, http.Header{"Content-Type": {ocispec.MediaTypeImageIndex}, "Docker-Content-Digest": {digest.FromBytes(body).String()}}, string(body))))
}

// One index of 5,000 entries with the same platform: one error line (not
// one per pair), low memory, nothing written; the same image 5,000 times is
// one entry.
func TestManyEntriesOfOnePlatform(t *testing.T) {
	t.Parallel()
	amd64 := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	t.Run("different images", func(t *testing.T) {
		t.Parallel()
		e := clitest.NewEnv(t, registrytest.Options{})
		entries := make([]ocispec.Descriptor, 5000)
		for i := range entries {
			entries[i] = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(fmt.Sprint(i)), Size: 500, Platform: &amd64}
		}
		serveIndex(t, e, "src/many", entries)
		r := run(t, clitest.RunOptions{}, fromSpec(t, e.Host()+"/dst/many:1", e.Host()+"/src/many:1")...)
		clitest.WantCode(t, r, 2)
		lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], "platform linux/amd64 is given by 5000 different manifests") {
			t.Errorf("%d lines of stderr, want 1 naming the platform: %.400s", len(lines), r.Stderr)
		}
		if n := e.Proxy.Writes(); n != 0 {
			t.Errorf("%d writes", n)
		}
	})
	t.Run("the same image", func(t *testing.T) {
		t.Parallel()
		e := clitest.NewEnv(t, registrytest.Options{})
		img := e.Push("src/many", "img", imagetest.Image{Platform: amd64, Format: imagetest.OCI})
		entries := make([]ocispec.Descriptor, 5000)
		for i := range entries {
			entries[i] = img
		}
		serveIndex(t, e, "src/many", entries)
		r := run(t, clitest.RunOptions{}, fromSpec(t, e.Host()+"/dst/many:1", e.Host()+"/src/many:1")...)
		clitest.WantCode(t, r, 0)
		_, body, _, err := imagetest.GetManifest(context.Background(), e.Client, e.Registry.URL(), "dst/many", "1")
		if err != nil {
			t.Fatal(err)
		}
		var idx ocispec.Index
		if err := json.Unmarshal(body, &idx); err != nil || len(idx.Manifests) != 1 {
			t.Errorf("dst/many:1 has %d entries (%v)", len(idx.Manifests), err)
		}
	})
}

// A source index whose entry says 430 bytes for a 423-byte manifest (or
// another media type): an error naming it; nothing written.
func TestLyingChildDescriptor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		lie  func(d *ocispec.Descriptor)
		want string
	}{
		{"size", func(d *ocispec.Descriptor) { d.Size += 7 }, "says 430 bytes of"},
		{"media type", func(d *ocispec.Descriptor) { d.MediaType = ocispec.MediaTypeImageManifest }, "bytes of " + ocispec.MediaTypeImageManifest + ", the registry holds 423 bytes of " + imagetest.MediaTypeDockerManifest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := clitest.NewEnv(t, registrytest.Options{})
			img := e.Push("src/lie", "img", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}})
			if img.Size != 423 {
				t.Fatalf("the test image is %d bytes; the case expects 423", img.Size)
			}
			tc.lie(&img)
			serveIndex(t, e, "src/lie", []ocispec.Descriptor{img})
			r := run(t, clitest.RunOptions{}, fromSpec(t, e.Host()+"/dst/lie:1", e.Host()+"/src/lie:1")...)
			clitest.WantCode(t, r, 1)
			clitest.WantStderr(t, r, "its entry "+img.Digest.String(), tc.want, "nothing written")
			if n := e.Proxy.Writes(); n != 0 {
				t.Errorf("%d writes", n)
			}
		})
	}
}

// ESC and BEL in a registry's error message, an annotation and an
// os.version reach the terminal escaped.
func TestControlCharactersAreEscaped(t *testing.T) {
	t.Parallel()
	const evil = "\x1b]0;pwned\x07\x1b[2J"
	const shown = `\x1b]0;pwned\x07\x1b[2J`
	clean := func(t *testing.T, what, s string) {
		t.Helper()
		if strings.ContainsAny(s, "\x1b\x07") {
			t.Errorf("%s carries raw control characters: %q", what, s)
		}
		if !strings.Contains(s, shown) && !strings.Contains(s, `\x1b]0;pwned\a\x1b[2J`) {
			t.Errorf("%s does not show the escaped text %s: %q", what, shown, s)
		}
	}
	t.Run("registry error message", func(t *testing.T) {
		t.Parallel()
		e := clitest.NewEnv(t, registrytest.Options{})
		args := e.TwoPlatforms()
		msg, err := json.Marshal(evil)
		if err != nil {
			t.Fatal(err)
		}
		e.Proxy.SetFault(proxy.Always(reads, proxy.Respond(http.StatusForbidden, http.Header{"Content-Type": {"application/json"}},
			`{"errors":[{"code":"DENIED","message":`+string(msg)+`}]}`)))
		r := run(t, clitest.RunOptions{}, append(args, "--plain-http")...)
		clitest.WantCode(t, r, 3)
		clean(t, "stderr", r.Stderr)
	})
	t.Run("annotation and os.version", func(t *testing.T) {
		t.Parallel()
		e := clitest.NewEnv(t, registrytest.Options{})
		ctx := context.Background()
		e.Push("src/evil", "win", imagetest.Image{Platform: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0" + evil}, Format: imagetest.OCI})
		amd := e.Push("src/evil", "amd", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, Format: imagetest.OCI})
		amd.Annotations = map[string]string{"org.example.note": evil}
		if _, err := imagetest.PushIndex(ctx, e.Client, e.Registry.URL(), "src/evil", "1", []ocispec.Descriptor{amd}, imagetest.IndexOptions{Format: imagetest.OCI}); err != nil {
			t.Fatal(err)
		}
		r := run(t, clitest.RunOptions{}, fromSpec(t, e.Host()+"/dst/evil:1", e.Host()+"/src/evil:1", e.Host()+"/src/evil:win")...)
		clitest.WantCode(t, r, 0)
		clean(t, "the platform warning", r.Stderr)
		r = run(t, clitest.RunOptions{}, "--plain-http", "inspect", e.Host()+"/dst/evil:1")
		clitest.WantCode(t, r, 0)
		clean(t, "inspect", r.Stdout)
	})
}

// Suspected: the walk is bounded by nodes, not bytes. A source whose index
// lists 24 distinct nested indexes of 3 MiB each (72 MiB in all, each
// document under the 4 MiB cap) would be read and kept whole. Every
// operation is refused once the documents it read pass 32 MiB: nothing
// written, peak memory under the suite's bound.
func TestLargeIndexGraph(t *testing.T) {
	t.Parallel()
	e := clitest.NewEnv(t, registrytest.Options{})
	ctx := context.Background()
	img := e.Push("src/large", "img", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, Format: imagetest.OCI})
	var nested []ocispec.Descriptor
	for i := range 24 {
		pad := strings.Repeat(fmt.Sprintf("%02d", i), 3<<19)
		d, err := imagetest.PushIndex(ctx, e.Client, e.Registry.URL(), "src/large", "", []ocispec.Descriptor{img}, imagetest.IndexOptions{Format: imagetest.OCI, Annotations: map[string]string{"pad": pad}})
		if err != nil {
			t.Fatal(err)
		}
		d.Platform = nil
		nested = append(nested, d)
	}
	if _, err := imagetest.PushIndex(ctx, e.Client, e.Registry.URL(), "src/large", "top", nested, imagetest.IndexOptions{Format: imagetest.OCI}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"verify"}, 1}, // could not check
		{fromSpec(t, e.Host()+"/dst/large:1", e.Host()+"/src/large:top"), 1},
	} {
		e.Proxy.Reset()
		args := tc.args
		if args[0] != "--plain-http" {
			args = append(append([]string{"--plain-http"}, args...), e.Host()+"/src/large:top")
		}
		r := run(t, clitest.RunOptions{}, args...)
		clitest.WantCode(t, r, tc.code)
		clitest.WantStderr(t, r, "more than 32 MiB in all: refused")
		if n := strings.Count(r.Stderr, "refused"); n != 1 {
			t.Errorf("%v: the cause said %d times, want once\n%s", tc.args, n, r)
		}
		if n := e.Proxy.Writes(); n != 0 {
			t.Errorf("%v: %d writes", tc.args, n)
		}
		t.Logf("%v of 24 nested indexes of 3 MiB: exit %d, %d requests", tc.args, r.Code, len(e.Proxy.Requests()))
	}
}
