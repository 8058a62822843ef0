package registry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func fastPolicy() RetryPolicy {
	return RetryPolicy{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond, MaxRetryAfter: 50 * time.Millisecond}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
		ok    bool
	}{
		{"empty", "", 0, false},
		{"seconds", "3", 3 * time.Second, true},
		{"zero", "0", 0, true},
		{"negative", "-1", 0, false},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"garbage", "soon", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseRetryAfter(tc.value, now)
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.value, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestBackoffCappedWithJitter(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{Attempts: 10, Base: 100 * time.Millisecond, Max: time.Second}
	for n := 1; n <= 10; n++ {
		full := min(p.Base<<(n-1), p.Max)
		for range 50 {
			d := p.backoff(n)
			if d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, full/2, full)
			}
		}
	}
}

// scripted answers with the statuses in order, then 200.
func scripted(t *testing.T, statuses []int, header http.Header) (*httptest.Server, *atomic.Int32, *[]string) {
	t.Helper()
	var n atomic.Int32
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading the body: %v", err)
		}
		bodies = append(bodies, string(b))
		if i < len(statuses) {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(statuses[i])
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv, &n, &bodies
}

func TestRetryTransportStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		statuses []int
		want     int
		tries    int32
	}{
		{"503 then ok", []int{503}, 200, 2},
		{"each transient status", []int{408, 429, 500, 502, 503, 504}, 502, 4},
		{"503 and 504 then ok", []int{504, 503}, 200, 3},
		{"404 is an answer", []int{404}, 404, 1},
		{"401 is for the authorizer", []int{401}, 401, 1},
		{"gives up after the attempts", []int{500, 500, 500, 500, 500}, 500, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, n, _ := scripted(t, tc.statuses, nil)
			c := &http.Client{Transport: &retryTransport{base: http.DefaultTransport.(*http.Transport).Clone(), policy: fastPolicy()}}
			resp, err := c.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want || n.Load() != tc.tries {
				t.Errorf("status %d after %d tries; want %d after %d", resp.StatusCode, n.Load(), tc.want, tc.tries)
			}
		})
	}
}

func TestRetryTransportReplaysBody(t *testing.T) {
	t.Parallel()
	srv, n, bodies := scripted(t, []int{502, 503}, nil)
	c := &http.Client{Transport: &retryTransport{base: http.DefaultTransport, policy: fastPolicy()}}
	req, err := http.NewRequest(http.MethodPut, srv.URL, bytes.NewReader([]byte("manifest")))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 3 {
		t.Fatalf("status %d after %d tries", resp.StatusCode, n.Load())
	}
	for i, b := range *bodies {
		if b != "manifest" {
			t.Errorf("try %d sent body %q", i+1, b)
		}
	}
}

func TestRetryTransportKeepsStreamedBody(t *testing.T) {
	t.Parallel()
	srv, n, _ := scripted(t, []int{503}, nil)
	c := &http.Client{Transport: &retryTransport{base: http.DefaultTransport, policy: fastPolicy()}}
	req, err := http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(strings.NewReader("blob")))
	if err != nil {
		t.Fatal(err)
	}
	req.GetBody = nil
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || n.Load() != 1 {
		t.Errorf("status %d after %d tries; a body that cannot be sent again must not be retried", resp.StatusCode, n.Load())
	}
}

func TestRetryTransportRetryAfter(t *testing.T) {
	t.Parallel()
	srv, n, _ := scripted(t, []int{429}, http.Header{"Retry-After": {"1"}})
	p := fastPolicy()
	p.MaxRetryAfter = 2 * time.Second
	c := &http.Client{Transport: &retryTransport{base: http.DefaultTransport, policy: p}}
	start := time.Now()
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if el := time.Since(start); resp.StatusCode != 200 || n.Load() != 2 || el < 900*time.Millisecond {
		t.Errorf("status %d after %d tries in %v; want the registry's 1s waited, then 200", resp.StatusCode, n.Load(), el)
	}
}

// A Retry-After longer than MaxRetryAfter (Docker Hub's pull limit: an
// hour) is not waited for: the 429 comes back at once.
func TestRetryTransportLongRetryAfterFailsAtOnce(t *testing.T) {
	t.Parallel()
	srv, n, _ := scripted(t, []int{429}, http.Header{"Retry-After": {"3600"}})
	p := fastPolicy()
	p.MaxRetryAfter = 30 * time.Second
	c := &http.Client{Transport: &retryTransport{base: http.DefaultTransport, policy: p}}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || n.Load() != 1 {
		t.Errorf("status %d after %d tries; want the 429 at once", resp.StatusCode, n.Load())
	}
}

// A wait named only in the body (GHCR: "retry-after: 10ms") is honoured,
// and the body still reaches the caller.
func TestRetryAfterInBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		want time.Duration
		ok   bool
	}{
		{`{"errors":[{"code":"TOOMANYREQUESTS","message":"retry-after: 10ms, allowed: 44000/minute"}]}`, 10 * time.Millisecond, true},
		{"Retry-After: 2", 2 * time.Second, true},
		{`{"retry_after": "1.5m"}`, 90 * time.Second, true},
		{"Too Many Requests", 0, false},
	} {
		resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tc.body))}
		got, ok := retryAfter(resp)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: %v %v, want %v %v", tc.body, got, ok, tc.want, tc.ok)
		}
		rest, err := io.ReadAll(resp.Body)
		if err != nil || string(rest) != tc.body {
			t.Errorf("%q: body after reading the hint is %q (%v)", tc.body, rest, err)
		}
	}
}

func TestRetryTransportNeverPastDeadline(t *testing.T) {
	t.Parallel()
	srv, n, _ := scripted(t, []int{429, 429}, http.Header{"Retry-After": {"30"}})
	p := fastPolicy()
	p.MaxRetryAfter = time.Minute
	c := &http.Client{Transport: &retryTransport{base: http.DefaultTransport, policy: p}}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || n.Load() != 1 || time.Since(start) > 400*time.Millisecond {
		t.Errorf("status %d after %d tries in %v; want the 429 at once", resp.StatusCode, n.Load(), time.Since(start))
	}
}

func TestRetryTransportConnectionReset(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close() // the client sees the connection go away mid-request
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	c := &http.Client{Transport: &retryTransport{base: http.DefaultTransport.(*http.Transport).Clone(), policy: fastPolicy()}}
	req, err := http.NewRequest(http.MethodPut, srv.URL, bytes.NewReader([]byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || n.Load() != 2 {
		t.Errorf("status %d after %d tries", resp.StatusCode, n.Load())
	}
}
