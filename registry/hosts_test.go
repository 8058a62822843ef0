package registry

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/remotes/docker"
)

// registryStub answers every request with 200 and a digest header: enough to
// tell whether a connection could be made.
func registryStub() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
		w.WriteHeader(http.StatusOK)
	})
}

func headTag(opts Options, host string) error {
	opts.Jobs = 2
	_, err := NewClient(opts).TagDigest(context.Background(), Repo{Domain: host, Path: "img"}, "latest")
	return err
}

func TestTLSDecisions(t *testing.T) {
	t.Parallel()
	tlsSrv := httptest.NewTLSServer(registryStub())
	t.Cleanup(tlsSrv.Close)
	plainSrv := httptest.NewServer(registryStub())
	t.Cleanup(plainSrv.Close)
	tlsHost := strings.TrimPrefix(tlsSrv.URL, "https://")
	plainHost := strings.TrimPrefix(plainSrv.URL, "http://")

	certs := t.TempDir()
	if err := os.MkdirAll(filepath.Join(certs, tlsHost), 0o755); err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(certs, tlsHost, "ca.crt"), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()

	tests := []struct {
		name     string
		host     string
		opts     Options
		wantHint Hint // HintNone means success
	}{
		{"loopback certificate is verified", tlsHost, Options{CertsDir: empty}, HintTLS},
		{"insecure skips verification", tlsHost, Options{CertsDir: empty, Insecure: true}, HintNone},
		{"certs dir gives the CA", tlsHost, Options{CertsDir: certs}, HintNone},
		{"plain HTTP registry over HTTPS", plainHost, Options{CertsDir: empty}, HintPlainHTTP},
		{"plain HTTP asked for", plainHost, Options{CertsDir: empty, PlainHTTP: true}, HintNone},
		{"plain HTTP with insecure stays plain", plainHost, Options{CertsDir: empty, PlainHTTP: true, Insecure: true}, HintNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.DockerConfig = empty
			err := headTag(tc.opts, tc.host)
			if tc.wantHint == HintNone {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			e, ok := errors.AsType[*Error](err)
			if !ok || e.Hint != tc.wantHint || !strings.Contains(err.Error(), tc.wantHint.String()) {
				t.Fatalf("error %v; want one with the hint %q", err, tc.wantHint)
			}
		})
	}
}

func TestUpdateClientWrapsOnce(t *testing.T) {
	t.Parallel()
	h := newHosts(Options{}, 4, defaultRetryPolicy())
	base := docker.DefaultHTTPTransport(nil)
	c := &http.Client{Transport: base}
	if err := h.updateClient("reg.example", false, c); err != nil {
		t.Fatal(err)
	}
	first := c.Transport
	copied := *c // ConfigureHosts copies an updated client and updates it again
	if err := h.updateClient("reg.example", false, &copied); err != nil {
		t.Fatal(err)
	}
	if copied.Transport != first {
		t.Fatal("the transport was wrapped twice")
	}
	rt, ok := first.(*retryTransport)
	if !ok {
		t.Fatalf("transport is %T", first)
	}
	inner := rt.base.(*logTransport).base.(*capTransport).base.(*http.Transport)
	if inner == base {
		t.Error("the transport was changed in place, not cloned")
	}
	if inner.MaxIdleConnsPerHost < 4 {
		t.Errorf("MaxIdleConnsPerHost = %d, want at least the jobs", inner.MaxIdleConnsPerHost)
	}
}

func TestHostsSchemeAndVerification(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	tests := []struct {
		name       string
		host       string
		opts       Options
		wantScheme string
		wantSkip   bool
	}{
		{"localhost with a port is https and verified", "localhost:5000", Options{}, "https", false},
		{"loopback address is https and verified", "127.0.0.1:5000", Options{}, "https", false},
		{"plain http", "localhost:5000", Options{PlainHTTP: true}, "http", false},
		{"insecure", "reg.example", Options{Insecure: true}, "https", true},
		{"docker hub", "docker.io", Options{}, "https", false},
		{"plain http for that host and port", "localhost:5000", Options{PlainHTTPHosts: []string{"localhost:5000"}}, "http", false},
		{"plain http for that host, any port", "localhost:5000", Options{PlainHTTPHosts: []string{"localhost"}}, "http", false},
		{"plain http for another port only", "localhost:5000", Options{PlainHTTPHosts: []string{"localhost:5001"}}, "https", false},
		{"plain http for another host only", "reg.example", Options{PlainHTTPHosts: []string{"localhost:5000"}}, "https", false},
		{"insecure for that host", "reg.example:443", Options{InsecureHosts: []string{"reg.example"}}, "https", true},
		{"insecure for another host only", "reg.example", Options{InsecureHosts: []string{"other.example"}}, "https", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.CertsDir = empty
			hs, err := newHosts(tc.opts, 2, defaultRetryPolicy()).get(context.Background(), tc.host)
			if err != nil {
				t.Fatal(err)
			}
			h := hs[len(hs)-1]
			if h.Scheme != tc.wantScheme {
				t.Errorf("scheme %s, want %s", h.Scheme, tc.wantScheme)
			}
			tr := h.Client.Transport.(*retryTransport).base.(*logTransport).base.(*capTransport).base.(*http.Transport)
			skip := tr.TLSClientConfig != nil && tr.TLSClientConfig.InsecureSkipVerify
			if skip != tc.wantSkip {
				t.Errorf("InsecureSkipVerify = %v, want %v", skip, tc.wantSkip)
			}
		})
	}
}

func TestHostsTomlSkipVerifyIsHonouredWithAWarning(t *testing.T) {
	t.Parallel()
	certs := t.TempDir()
	dir := filepath.Join(certs, "reg.example")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts.toml"), []byte("server = \"https://reg.example\"\nskip_verify = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	hs, err := newHosts(Options{CertsDir: certs, Warn: func(m string) { warnings = append(warnings, m) }}, 2, defaultRetryPolicy()).get(context.Background(), "reg.example")
	if err != nil {
		t.Fatal(err)
	}
	tr := hs[len(hs)-1].Client.Transport.(*retryTransport).base.(*logTransport).base.(*capTransport).base.(*http.Transport)
	if tr.TLSClientConfig == nil || !tr.TLSClientConfig.InsecureSkipVerify {
		t.Error("skip_verify = true in hosts.toml did not turn verification off")
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "reg.example") || !strings.Contains(warnings[0], "skip_verify") {
		t.Errorf("warnings = %q, want one naming the host and skip_verify", warnings)
	}
}

func TestHostsConfiguredOncePerClient(t *testing.T) {
	t.Parallel()
	h := newHosts(Options{CertsDir: t.TempDir()}, 2, defaultRetryPolicy())
	a, err := h.get(context.Background(), "reg.example")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.get(context.Background(), "reg.example")
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Authorizer != b[0].Authorizer || a[0].Client != b[0].Client {
		t.Error("a second lookup gave another client or authorizer: tokens would not be shared")
	}
}

// TestWithScopeMarksPushedRepositories: a repository asked with push is
// marked in the context (its reads go to the registry itself), one asked
// with pull only is not, and a context derived later keeps the marks.
func TestWithScopeMarksPushedRepositories(t *testing.T) {
	t.Parallel()
	target := Repo{Domain: "reg.example", Path: "team/app"}
	source := Repo{Domain: "reg.example", Path: "team/src"}
	elsewhere := Repo{Domain: "other.example", Path: "team/app"}
	ctx := WithScope(context.Background(), source, false)
	ctx = WithScope(ctx, target, true)
	ctx = WithScope(ctx, target, true)
	if !pushedTo(ctx, target) {
		t.Error("the target is not marked as pushed to")
	}
	if pushedTo(ctx, source) || pushedTo(ctx, elsewhere) {
		t.Error("a repository asked with pull only, or on another registry, is marked as pushed to")
	}
	if n := len(pushedRepos(ctx)); n != 1 {
		t.Errorf("%d repositories marked, want 1", n)
	}
}

// TestChallengeGate: until a request learns the challenge of a host
// expected to send one, the requests take turns (a turn ended without
// learning passes to the next); once learned, every request goes at once;
// a cancelled wait ends. A host not expected to challenge takes no turns.
func TestChallengeGate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newChallengeGate(func() bool { return true })
	leaveA, err := g.enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.enter(cancelled); err == nil {
		t.Error("a cancelled request waiting for its turn got one")
	}
	got := make(chan func(bool), 1)
	go func() {
		leave, err := g.enter(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- leave
	}()
	leaveA(false) // A learned nothing (a transport error): B's turn
	leaveA(true)  // a second call changes nothing
	if g.learned.Load() {
		t.Fatal("learned after a turn that learned nothing")
	}
	leaveB := <-got
	leaveB(true)
	if !g.learned.Load() {
		t.Fatal("not learned after B learned the challenge")
	}
	for range 3 { // no turn to wait for any more: none of these blocks
		leave, err := g.enter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer leave(false)
	}
	var none *challengeGate // a host without an authorizer
	if _, err := none.enter(ctx); err != nil {
		t.Error(err)
	}
	open := newChallengeGate(func() bool { return false }) // not expected to challenge
	for range 3 {
		if _, err := open.enter(ctx); err != nil { // none waits for a turn
			t.Fatal(err)
		}
	}
}

// TestExpectChallenge: a host is expected to challenge when the client has
// credentials for its registry (its own host only), or when it is reached
// over HTTPS elsewhere than this machine.
func TestExpectChallenge(t *testing.T) {
	t.Parallel()
	creds := HostCredentials("u", "p", nil, "reg.example", "127.0.0.1:5000")
	h := newHosts(Options{Credentials: creds}, 1, defaultRetryPolicy())
	for _, tc := range []struct {
		name, registry, scheme, host string
		own, want                    bool
	}{
		{"loopback with credentials", "127.0.0.1:5000", "http", "127.0.0.1:5000", true, true},
		{"loopback without credentials", "127.0.0.1:6000", "http", "127.0.0.1:6000", true, false},
		{"loopback over TLS without credentials", "localhost:6000", "https", "localhost:6000", true, false},
		{"internet registry without credentials", "docker.io", "https", "registry-1.docker.io", true, true},
		{"plain-HTTP registry without credentials", "reg.internal:5000", "http", "reg.internal:5000", true, false},
		{"mirror of a registry with credentials", "127.0.0.1:5000", "http", "127.0.0.1:7000", false, false},
		{"mirror on the internet", "127.0.0.1:5000", "https", "mirror.example", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.expectChallenge(tc.registry, tc.scheme, tc.host, tc.own); got != tc.want {
				t.Errorf("expectChallenge = %v, want %v", got, tc.want)
			}
		})
	}
}
