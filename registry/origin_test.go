package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRedirectPolicy: credentials stay on a redirect within one origin and
// are dropped on one to another scheme, host or port; HTTPS to plain HTTP
// is refused unless the user made that host plain HTTP; redirects are
// bounded.
func TestRedirectPolicy(t *testing.T) {
	t.Parallel()
	get := func(raw string) *http.Request {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		r := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
		r.Header.Set("Authorization", "Bearer secret")
		r.Header.Set("Cookie", "session=secret")
		return r
	}
	for _, tc := range []struct {
		name, from, to string
		plainHosts     []string
		wantErr        error
		keepsAuth      bool
	}{
		{name: "same origin", from: "https://reg.example/v2/a", to: "https://reg.example/v2/b", keepsAuth: true},
		{name: "default port spelled out", from: "https://reg.example/v2/a", to: "https://REG.example:443/v2/b", keepsAuth: true},
		{name: "same host, another port", from: "https://reg.example/v2/a", to: "https://reg.example:8443/blob"},
		{name: "another host (a CDN)", from: "https://reg.example/v2/a", to: "https://cdn.example/blob"},
		{name: "HTTPS to plain HTTP", from: "https://reg.example/v2/a", to: "http://reg.example/blob", wantErr: ErrInsecureRedirect},
		{name: "HTTPS to plain HTTP the user allowed", from: "https://reg.example/v2/a", to: "http://cache.example:8080/blob", plainHosts: []string{"cache.example:8080"}},
		{name: "plain HTTP to plain HTTP", from: "http://reg.example:5000/v2/a", to: "http://reg.example:5000/v2/b", keepsAuth: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHosts(Options{PlainHTTPHosts: tc.plainHosts}, 1, policyOf(RetryPolicy{}))
			req := get(tc.to)
			err := h.checkRedirect(req, []*http.Request{get(tc.from)})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if kept := req.Header.Get("Authorization") != "" || req.Header.Get("Cookie") != ""; kept != tc.keepsAuth {
				t.Errorf("credentials kept: %v, want %v", kept, tc.keepsAuth)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		h := newHosts(Options{}, 1, policyOf(RetryPolicy{}))
		via := make([]*http.Request, maxRedirects)
		for i := range via {
			via[i] = get("https://reg.example/v2/a")
		}
		if err := h.checkRedirect(get("https://reg.example/v2/b"), via); err == nil {
			t.Error("an eleventh redirect was followed")
		}
	})
}

// TestUploadLocationPolicy: an upload Location that takes a request made
// over HTTPS to plain HTTP, on the same host or another, is refused unless
// the user made its host plain HTTP.
func TestUploadLocationPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, from, loc string
		plainHosts      []string
		wantErr         error
	}{
		{name: "HTTPS", from: "https://reg.example/v2/a/blobs/uploads/", loc: "https://reg.example/v2/a/blobs/uploads/1"},
		{name: "HTTPS, another host", from: "https://reg.example/v2/a/blobs/uploads/", loc: "https://storage.example/up/1"},
		{name: "same host in plain HTTP", from: "https://reg.example/v2/a/blobs/uploads/", loc: "http://reg.example/v2/a/blobs/uploads/1", wantErr: ErrInsecureRedirect},
		{name: "same host and port in plain HTTP", from: "https://reg.example:5000/v2/a/blobs/uploads/", loc: "http://reg.example:5000/v2/a/blobs/uploads/1", wantErr: ErrInsecureRedirect},
		{name: "plain HTTP the user allowed", from: "https://reg.example/v2/a/blobs/uploads/", loc: "http://reg.example/v2/a/blobs/uploads/1", plainHosts: []string{"reg.example"}},
		{name: "plain HTTP registry", from: "http://reg.example:5000/v2/a/blobs/uploads/", loc: "http://reg.example:5000/v2/a/blobs/uploads/1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHosts(Options{PlainHTTPHosts: tc.plainHosts}, 1, policyOf(RetryPolicy{}))
			from, err := url.Parse(tc.from)
			if err != nil {
				t.Fatal(err)
			}
			loc, err := url.Parse(tc.loc)
			if err != nil {
				t.Fatal(err)
			}
			err = h.checkLocation(from, loc)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestTokenRealmPolicy: a registry reached over HTTPS may not send the
// credentials to a plain-HTTP token server, unless the user made its host
// plain HTTP.
func TestTokenRealmPolicy(t *testing.T) {
	t.Parallel()
	challenge := func(realm string) *http.Response {
		u, _ := url.Parse("https://reg.example/v2/")
		return &http.Response{
			StatusCode: http.StatusUnauthorized,
			Header:     http.Header{"Www-Authenticate": {`Bearer realm="` + realm + `",service="reg"`}},
			Request:    &http.Request{URL: u},
		}
	}
	h := newHosts(Options{}, 1, policyOf(RetryPolicy{}))
	if err := h.checkChallenge(challenge("https://auth.example/token")); err != nil {
		t.Errorf("an HTTPS realm: %v", err)
	}
	if err := h.checkChallenge(challenge("http://auth.example/token")); !errors.Is(err, ErrInsecureRedirect) {
		t.Errorf("a plain-HTTP realm: %v, want ErrInsecureRedirect", err)
	}
	allowed := newHosts(Options{PlainHTTPHosts: []string{"auth.example"}}, 1, policyOf(RetryPolicy{}))
	if err := allowed.checkChallenge(challenge("http://auth.example/token")); err != nil {
		t.Errorf("a plain-HTTP realm the user allowed: %v", err)
	}
}

// roundTripFunc is an http.RoundTripper of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTokenAnswerCap: a token server answer is read up to MaxTokenResponse
// bytes: a larger declared length is refused at once, a longer stream fails
// its read at the cap; other answers are not capped here.
func TestTokenAnswerCap(t *testing.T) {
	t.Parallel()
	answer := func(n int64, declared bool) roundTripFunc {
		return func(*http.Request) (*http.Response, error) {
			resp := &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(io.LimitReader(zeros{}, n)), ContentLength: -1}
			if declared {
				resp.ContentLength = n
			}
			return resp, nil
		}
	}
	token, _ := http.NewRequestWithContext(withTokenFetch(context.Background()), http.MethodGet, "https://auth.example/token", nil)
	other, _ := http.NewRequest(http.MethodGet, "https://reg.example/v2/a/blobs/x", nil)

	if _, err := (&capTransport{base: answer(MaxTokenResponse+1, true)}).RoundTrip(token); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a declared answer over the cap: %v", err)
	}
	resp, err := (&capTransport{base: answer(MaxTokenResponse+1, false)}).RoundTrip(token)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, resp.Body); err == nil || n != MaxTokenResponse {
		t.Errorf("a streamed answer over the cap: read %d bytes, %v", n, err)
	}
	resp, err = (&capTransport{base: answer(MaxTokenResponse, false)}).RoundTrip(token)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != MaxTokenResponse {
		t.Errorf("an answer at the cap: read %d bytes, %v", n, err)
	}
	resp, err = (&capTransport{base: answer(4*MaxTokenResponse, true)}).RoundTrip(other)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != 4*MaxTokenResponse {
		t.Errorf("a blob through the same transport: read %d bytes, %v", n, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
