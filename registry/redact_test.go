package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/containerd/log"
	"github.com/sirupsen/logrus"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	u, err := url.Parse("https://user:secret@reg.example/v2/img/blobs/uploads/abc?_state=signed&digest=sha256:1&token=tok")
	if err != nil {
		t.Fatal(err)
	}
	got := redactURL(u)
	for _, secret := range []string{"secret", "signed", "tok&", "=tok"} {
		if strings.Contains(got, secret) {
			t.Errorf("redactURL = %s, contains %q", got, secret)
		}
	}
	if !strings.Contains(got, "digest=sha256%3A1") {
		t.Errorf("redactURL = %s, lost the digest parameter", got)
	}
}

func TestRedactHeader(t *testing.T) {
	t.Parallel()
	h := http.Header{
		"Authorization":       {"Bearer eyJhbGciOi.secret.token"},
		"Proxy-Authorization": {"Basic dXNlcjpwYXNz"},
		"Cookie":              {"session=abc"},
		"Accept":              {"application/json"},
	}
	got := redactHeader(h)
	if got.Get("Authorization") != "Bearer REDACTED" || got.Get("Proxy-Authorization") != "Basic REDACTED" ||
		got.Get("Cookie") != "REDACTED" || got.Get("Accept") != "application/json" {
		t.Errorf("redactHeader = %v", got)
	}
	if h.Get("Authorization") != "Bearer eyJhbGciOi.secret.token" {
		t.Error("redactHeader changed its argument")
	}
}

// TestDebugLogHasNoSecrets sends an authenticated request through the
// logging transport with debug logging on, and looks for the password in
// every form in what was logged.
func TestDebugLogHasNoSecrets(t *testing.T) {
	t.Parallel()
	const user, password = "alice", "s3cr3t-pa55"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session="+password)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)

	var buf bytes.Buffer
	logger := logrus.New()
	logger.SetOutput(&buf)
	logger.SetLevel(logrus.DebugLevel)
	ctx := log.WithLogger(context.Background(), logrus.NewEntry(logger))

	c := &http.Client{Transport: &retryTransport{base: &logTransport{base: http.DefaultTransport}, policy: fastPolicy()}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/?token="+password, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out := buf.String()
	if !strings.Contains(out, "registry request") {
		t.Fatalf("nothing logged: %q", out)
	}
	for _, s := range []string{password, base64.StdEncoding.EncodeToString([]byte(user + ":" + password))} {
		if strings.Contains(out, s) {
			t.Errorf("the log holds %q:\n%s", s, out)
		}
	}
}
