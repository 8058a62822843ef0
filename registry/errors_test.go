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
		{"plain http, as net/http says it", &url.Error{Op: "Get", URL: "x", Err: http.ErrSchemeMismatch}, HintPlainHTTP, false, false},
		{"plain http, wrapped", fmt.Errorf("x: %w", http.ErrSchemeMismatch), HintPlainHTTP, false, false},
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

// A registry's refusal to move a tag, or to write into a repository that
// does not exist, is told apart from other refusals of the same status.
func TestWriteRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		method             string
		status             int
		body               string
		immutable, missing bool
	}{
		{"ECR immutable", "PUT", 400, `{"errors":[{"code":"TAG_INVALID","message":"The image tag '1' already exists in the 'app' repository and cannot be overwritten because the repository is immutable."}]}`, true, false},
		{"Harbor immutable", "PUT", 412, `{"errors":[{"code":"PRECONDITION","message":"configured as immutable"}]}`, true, false},
		{"Docker Hub immutable", "PUT", 403, `{"errors":[{"code":"DENIED","message":"tag 1 is immutable"}]}`, true, false},
		{"ACR locked", "PUT", 405, `{"errors":[{"code":"DENIED","message":"The operation is disallowed on this registry, repository or image."}]}`, true, false},
		{"denied is not immutable", "PUT", 403, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`, false, false},
		{"read-only is not immutable", "PUT", 405, ``, false, false},
		{"manifest invalid is not immutable", "PUT", 400, `{"errors":[{"code":"MANIFEST_INVALID"}]}`, false, false},
		{"ECR missing repository", "POST", 404, `{"errors":[{"code":"NAME_UNKNOWN","message":"The repository with name 'app' does not exist"}]}`, false, true},
		{"Harbor missing project", "POST", 401, `{"errors":[{"code":"UNAUTHORIZED","message":"project team not found: project team not found"}]}`, false, true},
		{"a read of a missing repository is not a refused write", "GET", 404, `{"errors":[{"code":"NAME_UNKNOWN"}]}`, false, false},
		{"401 is not a missing project", "POST", 401, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, _ := url.Parse("https://reg.example/v2/app/manifests/1")
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Request: &http.Request{Method: tc.method, URL: u}}
			e := responseError(resp, []byte(tc.body))
			if got := immutableRefusal(e); got != tc.immutable {
				t.Errorf("immutable %v, want %v", got, tc.immutable)
			}
			if got := missingRepository(e); got != tc.missing {
				t.Errorf("missing repository %v, want %v", got, tc.missing)
			}
			err := noRepository(Repo{Domain: "reg.example", Path: "app"}, e)
			if errors.Is(err, ErrNoRepository) != tc.missing {
				t.Errorf("errors.Is(ErrNoRepository) %v, want %v: %v", errors.Is(err, ErrNoRepository), tc.missing, err)
			}
		})
	}
}

// A plain-text 429 shows its first line; the wait is read from the header
// or the body and said with when the limit resets.
func TestRateLimitError(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("https://reg.example/v2/app/manifests/1")
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"3600"}, "Content-Type": {"text/plain"}}, Request: &http.Request{Method: "GET", URL: u}}
	e := responseError(resp, []byte("Too Many Requests (HAP429).\n"))
	msg := e.Error()
	for _, want := range []string{`"Too Many Requests (HAP429)."`, "the registry asks to wait 1h0m0s: its limit resets at "} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	if !errors.Is(e, ErrRateLimited) {
		t.Errorf("%v is not ErrRateLimited", e)
	}
}

// A registry error's detail is kept (zot's 415 names the media type it
// refuses), as a string or compact JSON, escaped and capped; none when it
// gives none.
func TestErrorDetail(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 2*maxDetail)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"zot", `{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}}]}`,
			`MANIFEST_INVALID manifest invalid (detail: {"mediaType":"application/vnd.docker.distribution.manifest.v2+json"})`},
		{"string", `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:abc"}]}`,
			"BLOB_UNKNOWN blob unknown to registry (detail: sha256:abc)"},
		{"none", `{"errors":[{"code":"DENIED","message":"denied","detail":null}]}`, "DENIED denied"},
		{"control characters", `{"errors":[{"code":"DENIED","message":"denied","detail":"a\u001b[2Jb\u202ec"}]}`, `DENIED denied (detail: a\x1b[2Jb\u202ec)`},
		{"long", `{"errors":[{"code":"DENIED","message":"denied","detail":"` + long + `"}]}`, "(detail: " + long[:maxDetail] + "...)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, _ := url.Parse("https://reg.example/v2/app/manifests/1")
			resp := &http.Response{StatusCode: 415, Header: http.Header{}, Request: &http.Request{Method: "PUT", URL: u}}
			msg := responseError(resp, []byte(tc.body)).Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("%q does not say %q", msg, tc.want)
			}
			if tc.name == "none" && strings.Contains(msg, "detail") {
				t.Errorf("%q names a detail the registry did not give", msg)
			}
		})
	}
}

// A Docker manifest refused for its media type (zot: 415 MANIFEST_INVALID
// naming it; or a 400 naming it) gets HintOCIOnly; the write is spelled
// with @ for a digest, : for a tag.
func TestDockerManifestRefusedForItsMediaType(t *testing.T) {
	t.Parallel()
	const docker = "application/vnd.docker.distribution.manifest.v2+json"
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"415", 415, `{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{"mediaType":"` + docker + `"}}]}`, true},
		{"400 naming it", 400, `{"errors":[{"code":"MANIFEST_INVALID","message":"unsupported manifest media type ` + docker + `"}]}`, true},
		{"400 for another reason", 400, `{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, _ := url.Parse("https://reg.example/v2/app/manifests/sha256:abc")
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Request: &http.Request{Method: "PUT", URL: u}}
			if got := refusesMediaType(responseError(resp, []byte(tc.body)), docker); got != tc.want {
				t.Errorf("refusesMediaType = %v, want %v", got, tc.want)
			}
		})
	}
	r := Repo{Domain: "reg.example", Path: "app"}
	if got := refString(r, "sha256:abc"); got != "reg.example/app@sha256:abc" {
		t.Errorf("by digest: %s", got)
	}
	if got := refString(r, "1.0"); got != "reg.example/app:1.0" {
		t.Errorf("by tag: %s", got)
	}
}
