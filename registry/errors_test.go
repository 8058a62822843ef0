package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
)

func TestResponseErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		status             int
		body               string
		notFound, unauthed bool
		wantInMessage      string
	}{
		{"404", 404, "", true, false, "404 Not Found"},
		{"name unknown", 404, `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}`, true, false, "NAME_UNKNOWN"},
		{"manifest unknown", 404, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`, true, false, "MANIFEST_UNKNOWN manifest unknown"},
		{"blob unknown with 400", 400, `{"errors":[{"code":"BLOB_UNKNOWN"}]}`, true, false, "BLOB_UNKNOWN"},
		{"401", 401, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, false, true, "UNAUTHORIZED"},
		{"403", 403, "", false, true, "403 Forbidden"},
		{"denied", 400, `{"errors":[{"code":"DENIED"}]}`, false, true, "DENIED"},
		{"500", 500, "oops", false, false, "500 Internal Server Error"},
		{"read only", 405, `{"errors":[{"code":"UNSUPPORTED"}]}`, false, false, "UNSUPPORTED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, _ := url.Parse("https://reg.example/v2/img/manifests/latest")
			resp := &http.Response{StatusCode: tc.status, Request: &http.Request{Method: "GET", URL: u}}
			err := error(responseError(resp, []byte(tc.body)))
			if errors.Is(err, ErrNotFound) != tc.notFound || errors.Is(err, ErrUnauthorized) != tc.unauthed {
				t.Errorf("%v: not found %v, unauthorized %v", err, errors.Is(err, ErrNotFound), errors.Is(err, ErrUnauthorized))
			}
			if !strings.Contains(err.Error(), tc.wantInMessage) || !strings.Contains(err.Error(), "GET https://reg.example/v2/img/manifests/latest") {
				t.Errorf("message %q", err)
			}
			wrapped := fmt.Errorf("source reg.example/img:latest: %w", err)
			if e, ok := errors.AsType[*Error](wrapped); !ok || e.StatusCode != tc.status {
				t.Errorf("the *Error is not found through wrapping")
			}
		})
	}
}

func TestTransportErrorMapping(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest(http.MethodGet, "https://reg.example/v2/", nil)
	tests := []struct {
		name     string
		err      error
		hint     Hint
		notFound bool
		unauthed bool
	}{
		{"plain http", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, HintPlainHTTP, false, false},
		{"plain http message", errors.New("http: server gave HTTP response to HTTPS client"), HintPlainHTTP, false, false},
		{"unknown authority", &url.Error{Op: "Get", URL: "x", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, HintTLS, false, false},
		{"hostname", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "reg.example"}, HintTLS, false, false},
		{"invalid authorization", fmt.Errorf("fetch token: %w", docker.ErrInvalidAuthorization), HintNone, false, true},
		{"containerd not found", fmt.Errorf("x: %w", errdefs.ErrNotFound), HintNone, true, false},
		{"reset", errors.New("connection reset by peer"), HintNone, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := transportError(req, tc.err)
			if e.Hint != tc.hint {
				t.Errorf("hint %q, want %q", e.Hint, tc.hint)
			}
			if errors.Is(e, ErrNotFound) != tc.notFound || errors.Is(e, ErrUnauthorized) != tc.unauthed {
				t.Errorf("%v: not found %v, unauthorized %v", e, errors.Is(e, ErrNotFound), errors.Is(e, ErrUnauthorized))
			}
		})
	}
}

func TestErrorNamesTheUser(t *testing.T) {
	t.Parallel()
	e := &Error{Method: "GET", URL: "https://reg.example/v2/", StatusCode: 401, User: "alice"}
	if !strings.Contains(e.Error(), `as user "alice"`) {
		t.Errorf("message %q", e)
	}
}

func TestTransient(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&Error{StatusCode: 503}, true},
		{fmt.Errorf("x: %w", &Error{StatusCode: 429}), true},
		{&Error{StatusCode: 404}, false},
		{&Error{Err: errors.New("boom")}, false},
		{&Error{Err: context.DeadlineExceeded}, false},
		{errors.New("other"), false},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("transient(%v) = %v", tc.err, got)
		}
	}
}

func TestReadOnlyHint(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("https://reg.example/v2/img/manifests/latest")
	for _, method := range []string{http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodGet} {
		resp := &http.Response{StatusCode: http.StatusMethodNotAllowed, Request: &http.Request{Method: method, URL: u}}
		e := responseError(resp, []byte("Method not allowed\n"))
		want := HintNone
		if method != http.MethodGet {
			want = HintReadOnly
		}
		if e.Hint != want || (want != HintNone && !strings.Contains(e.Error(), "refuses writes")) {
			t.Errorf("%s: hint %q, message %q", method, e.Hint, e)
		}
	}
}
