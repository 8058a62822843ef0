package proxy_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/integration/internal/testca"
)

var amd64 = imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}}

// setup starts a registry and a proxy in front of it.
func setup(t *testing.T, ropts registrytest.Options, popts proxy.Options) (*registrytest.Registry, *proxy.Proxy) {
	t.Helper()
	reg, err := registrytest.Start(ropts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	if popts.Transport == nil {
		popts.Transport = reg.Transport()
	}
	p, err := proxy.Start(reg.URL(), popts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return reg, p
}

func TestCountsAndLocationRewrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts registrytest.Options
	}{
		{"plain upstream", registrytest.Options{}},
		{"TLS upstream", registrytest.Options{TLS: true}},
		{"relative locations", registrytest.Options{RelativeURLs: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg, p := setup(t, tc.opts, proxy.Options{})
			client := &http.Client{}
			// One layer, one config: POST + PUT each, then the manifest PUT.
			desc, err := imagetest.PushImage(ctx, client, p.URL(), "hello", "v1", amd64)
			if err != nil {
				t.Fatal(err)
			}
			reqs := p.Requests()
			var got []string
			for _, r := range reqs {
				got = append(got, r.Method+" "+r.Path)
				if r.Upstream != reg.URL() {
					t.Errorf("%v went to %q, want %q", r, r.Upstream, reg.URL())
				}
			}
			want := []string{"POST /v2/hello/blobs/uploads/", "PUT /v2/hello/blobs/uploads/", "POST /v2/hello/blobs/uploads/", "PUT /v2/hello/blobs/uploads/", "PUT /v2/hello/manifests/v1"}
			if len(got) != len(want) {
				t.Fatalf("requests %q, want %q", got, want)
			}
			for i := range want {
				if !strings.HasPrefix(got[i], want[i]) {
					t.Errorf("request %d: %q, want %q…", i, got[i], want[i])
				}
			}
			if p.Count() != 5 || p.Writes() != 5 {
				t.Errorf("count %d writes %d, want 5 and 5", p.Count(), p.Writes())
			}
			for i, r := range reqs {
				if r.Seq != i+1 || r.Status == 0 || r.Fault {
					t.Errorf("record %d: %+v", i, r)
				}
			}

			p.Reset()
			if _, _, dgst, err := imagetest.GetManifest(ctx, client, p.URL(), "hello", "v1"); err != nil || dgst != desc.Digest {
				t.Fatalf("GET through the proxy: %s %v", dgst, err)
			}
			reqs = p.Requests()
			if p.Count() != 1 || p.Writes() != 0 || reqs[0].Seq != 1 || reqs[0].Status != http.StatusOK ||
				reqs[0].Header.Get("Accept") != imagetest.ManifestAccept {
				t.Errorf("after Reset: count %d writes %d %+v", p.Count(), p.Writes(), reqs)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	date := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	for _, retryAfter := range []string{"2", date} {
		t.Run(retryAfter, func(t *testing.T) {
			t.Parallel()
			reg, p := setup(t, registrytest.Options{}, proxy.Options{})
			if _, err := imagetest.PushImage(ctx, reg.Client(), reg.URL(), "hello", "v1", amd64); err != nil {
				t.Fatal(err)
			}
			p.SetFault(proxy.Times(1, proxy.Match(http.MethodGet, "/manifests/"), proxy.RetryAfter(http.StatusTooManyRequests, retryAfter)))
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/v2/hello/manifests/v1", http.NoBody)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != retryAfter {
				t.Errorf("first GET: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			// The second one passes.
			if _, _, _, err := imagetest.GetManifest(ctx, http.DefaultClient, p.URL(), "hello", "v1"); err != nil {
				t.Fatal(err)
			}
			reqs := p.Requests()
			if len(reqs) != 2 || !reqs[0].Fault || reqs[0].Status != 429 || reqs[0].Upstream != "" || reqs[1].Fault || reqs[1].Status != 200 {
				t.Errorf("records %v", reqs)
			}
		})
	}
}

func TestResets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		mode   proxy.ResetMode
		stored bool // whether the registry has the manifest afterwards
	}{
		{proxy.ResetBeforeBody, false},
		{proxy.ResetAfterBody, false},
		{proxy.ResetAfterUpstream, true},
	} {
		t.Run(map[proxy.ResetMode]string{1: "before body", 2: "after body", 3: "after upstream"}[tc.mode], func(t *testing.T) {
			t.Parallel()
			reg, p := setup(t, registrytest.Options{}, proxy.Options{
				Fault: proxy.Times(1, proxy.Match(http.MethodPut, "/manifests/"), proxy.Action{Reset: tc.mode}),
			})
			client := &http.Client{Transport: &http.Transport{}} // no retry on a reused connection
			_, err := imagetest.PushImage(ctx, client, p.URL(), "hello", "v1", amd64)
			if err == nil {
				t.Fatal("push through a reset succeeded")
			}
			if !errors.Is(err, syscall.ECONNRESET) && !strings.Contains(err.Error(), "EOF") {
				t.Errorf("error %v, want a connection reset", err)
			}
			_, herr := imagetest.HeadManifest(ctx, reg.Client(), reg.URL(), "hello", "v1")
			if stored := herr == nil; stored != tc.stored {
				t.Errorf("manifest stored: %v (%v), want %v", stored, herr, tc.stored)
			}
			reqs := p.Requests()
			last := reqs[len(reqs)-1]
			if last.Method != http.MethodPut || last.Status != 0 || !last.Fault {
				t.Errorf("last record %+v", last)
			}
			// The next push goes through.
			if _, err := imagetest.PushImage(ctx, client, p.URL(), "hello", "v1", amd64); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDelayAndStall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg, p := setup(t, registrytest.Options{}, proxy.Options{Delay: 50 * time.Millisecond})
	if _, err := imagetest.PushImage(ctx, reg.Client(), reg.URL(), "hello", "v1", amd64); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := imagetest.HeadManifest(ctx, http.DefaultClient, p.URL(), "hello", "v1"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("request took %s, want at least the 50ms delay", d)
	}

	// A stall longer than the client's timeout: the client gives up, the
	// proxy records no status and does not keep the test waiting.
	p.SetDelay(0)
	p.Reset()
	p.SetFault(proxy.Always(proxy.Match(http.MethodHead, ""), proxy.Stall(time.Minute)))
	start = time.Now()
	_, err := imagetest.HeadManifest(ctx, &http.Client{Timeout: 200 * time.Millisecond}, p.URL(), "hello", "v1")
	if err == nil || !strings.Contains(err.Error(), "Client.Timeout") {
		t.Errorf("stalled request: %v, want a client timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stalled request took %s", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if reqs := p.Requests(); len(reqs) != 1 || reqs[0].Status != 0 || reqs[0].Upstream != "" {
		t.Errorf("records %+v", reqs)
	}
}

func TestCloseEndsStall(t *testing.T) {
	t.Parallel()
	_, p := setup(t, registrytest.Options{}, proxy.Options{Fault: proxy.Always(nil, proxy.Stall(time.Hour))})
	errc := make(chan error, 1)
	go func() {
		_, err := imagetest.HeadManifest(context.Background(), http.DefaultClient, p.URL(), "a", "b")
		errc <- err
	}()
	for p.PeakConcurrency() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	p.Close()
	select {
	case err := <-errc:
		var herr *imagetest.HTTPError
		if !errors.As(err, &herr) || herr.Status != http.StatusServiceUnavailable {
			t.Errorf("stalled request at Close: %v, want 503", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the stall")
	}
}

func TestPeakConcurrency(t *testing.T) {
	t.Parallel()
	_, p := setup(t, registrytest.Options{}, proxy.Options{Delay: 200 * time.Millisecond})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := imagetest.Tags(context.Background(), http.DefaultClient, p.URL(), "none"); !errors.Is(err, imagetest.ErrNotFound) {
				t.Errorf("tags of an unknown repository: %v", err)
			}
		})
	}
	wg.Wait()
	if got := p.PeakConcurrency(); got != 8 {
		t.Errorf("peak concurrency %d, want 8", got)
	}
	p.Reset()
	if got := p.PeakConcurrency(); got != 0 {
		t.Errorf("peak after Reset %d", got)
	}
}

func TestHeaderRewriteAndForward(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg, p := setup(t, registrytest.Options{}, proxy.Options{})
	desc, err := imagetest.PushImage(ctx, reg.Client(), reg.URL(), "hello", "v1", amd64)
	if err != nil {
		t.Fatal(err)
	}

	// A lying Docker-Content-Digest.
	lie := digest.FromString("a lie")
	p.SetFault(proxy.Always(proxy.Match(http.MethodHead, "/manifests/"), proxy.SetResponseHeader("Docker-Content-Digest", lie.String())))
	got, err := imagetest.HeadManifest(ctx, http.DefaultClient, p.URL(), "hello", "v1")
	if err != nil || got.Digest != lie {
		t.Errorf("HEAD through a lying proxy: %s %v, want %s", got.Digest, err, lie)
	}
	// GET verifies the bytes, so a lie there is caught by digest.
	p.SetFault(proxy.Always(nil, proxy.SetResponseHeader("Docker-Content-Digest", lie.String())))
	if _, _, _, err := imagetest.GetManifest(ctx, http.DefaultClient, p.URL(), "hello", desc.Digest.String()); err != nil {
		t.Errorf("GET by digest: %v", err)
	}

	// Another upstream: the tag there points elsewhere.
	other, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	moved, err := imagetest.PushImage(ctx, other.Client(), other.URL(), "hello", "v1",
		imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "arm64"}})
	if err != nil {
		t.Fatal(err)
	}
	p.SetFault(proxy.Times(1, proxy.Match(http.MethodGet, "/manifests/v1$"), proxy.ForwardTo(other.URL())))
	_, _, d1, err := imagetest.GetManifest(ctx, http.DefaultClient, p.URL(), "hello", "v1")
	if err != nil {
		t.Fatal(err)
	}
	_, _, d2, err := imagetest.GetManifest(ctx, http.DefaultClient, p.URL(), "hello", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if d1 != moved.Digest || d2 != desc.Digest {
		t.Errorf("forwarded GET %s then %s, want %s then %s", d1, d2, moved.Digest, desc.Digest)
	}
	if reqs := p.Requests(); reqs[len(reqs)-2].Upstream != other.URL() {
		t.Errorf("forwarded request recorded upstream %q", reqs[len(reqs)-2].Upstream)
	}

	// Uploads through a forwarded session keep going to the proxy.
	p.SetFault(proxy.Always(nil, proxy.ForwardTo(other.URL())))
	if _, err := imagetest.PushImage(ctx, http.DefaultClient, p.URL(), "fwd", "v1", amd64); err != nil {
		t.Fatal(err)
	}
	if _, err := imagetest.HeadManifest(ctx, other.Client(), other.URL(), "fwd", "v1"); err != nil {
		t.Errorf("forwarded push did not land upstream: %v", err)
	}
}

func TestChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, p := setup(t, registrytest.Options{}, proxy.Options{})
	p.SetFault(proxy.Chain(
		proxy.Times(1, proxy.Match("", "/tags/"), proxy.Respond(http.StatusBadGateway, nil, "")),
		proxy.Times(1, proxy.Match("", "/tags/"), proxy.RetryAfter(http.StatusServiceUnavailable, "1")),
	))
	var statuses []int
	for range 3 {
		_, err := imagetest.Tags(ctx, http.DefaultClient, p.URL(), "x")
		var herr *imagetest.HTTPError
		if !errors.As(err, &herr) {
			t.Fatalf("tags: %v", err)
		}
		statuses = append(statuses, herr.Status)
	}
	if statuses[0] != 502 || statuses[1] != 503 || statuses[2] != 404 {
		t.Errorf("statuses %v, want [502 503 404]", statuses)
	}
}

func TestTLSProxy(t *testing.T) {
	t.Parallel()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	_, p := setup(t, registrytest.Options{TLS: true}, proxy.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if !strings.HasPrefix(p.URL(), "https://") {
		t.Fatalf("URL %s", p.URL())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientTLSConfig()}}
	if _, err := imagetest.PushImage(context.Background(), client, p.URL(), "hello", "v1", amd64); err != nil {
		t.Fatal(err)
	}
	// A reset works over TLS too. (A fresh connection: on a reused one, Go's
	// transport silently retries an idempotent request that got no answer.)
	p.SetFault(proxy.Times(1, nil, proxy.ResetConnection()))
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientTLSConfig()}}
	if _, err := imagetest.HeadManifest(context.Background(), fresh, p.URL(), "hello", "v1"); err == nil {
		t.Error("HEAD through a reset succeeded")
	}
}

func TestBadUpstream(t *testing.T) {
	t.Parallel()
	if _, err := proxy.Start("127.0.0.1:5000", proxy.Options{}); err == nil {
		t.Error("upstream without a scheme accepted")
	}
}

// Inspect sees the request body, and the upstream still gets it whole;
// Rewrite changes the path forwarded (GitLab's sha256-<hex> read answers
// the manifest of that digest).
func TestInspectAndRewrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, p := setup(t, registrytest.Options{}, proxy.Options{})
	client := &http.Client{}
	var mu sync.Mutex
	var seen []string
	p.SetFault(func(r *http.Request, _ int) proxy.Action {
		if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/manifests/") {
			return proxy.Pass()
		}
		return proxy.Action{Inspect: func(body []byte) proxy.Action {
			mu.Lock()
			seen = append(seen, digest.FromBytes(body).String())
			mu.Unlock()
			return proxy.Pass()
		}}
	})
	desc, err := imagetest.PushImage(ctx, client, p.URL(), "hello", "v1", amd64)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0] != desc.Digest.String() {
		t.Errorf("Inspect saw bodies %v, want the manifest %s", seen, desc.Digest)
	}
	mu.Unlock()

	prof := proxy.GitLab(proxy.ProfileOptions{})
	p.SetFault(prof.Fault)
	_, _, got, err := imagetest.GetManifest(ctx, client, p.URL(), "hello", "sha256-"+desc.Digest.Encoded())
	if err != nil || got != desc.Digest {
		t.Errorf("GitLab profile: sha256-<hex> read as %s (%v), want the manifest %s", got, err, desc.Digest)
	}
}
