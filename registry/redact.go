package registry

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/containerd/log"
)

const redacted = "REDACTED"

// sensitiveHeaders never appear in logs with their values.
var sensitiveHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// sensitiveParams are query parameters whose values are secrets or signed
// upload state.
func sensitiveParam(name string) bool {
	switch strings.ToLower(name) {
	case "password", "token", "access_token", "refresh_token", "_state", "signature", "sig",
		"x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature", "x-goog-credential":
		return true
	}
	return false
}

// redactURL renders u without user info and with the values of sensitive
// query parameters replaced.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User(redacted)
	}
	if c.RawQuery != "" {
		q := c.Query()
		changed := false
		for k := range q {
			if sensitiveParam(k) {
				q[k] = []string{redacted}
				changed = true
			}
		}
		if changed {
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}

// redactHeader returns a copy of h with the values of sensitive headers
// replaced; a bearer or basic scheme name is kept so a reader can tell
// which was sent.
func redactHeader(h http.Header) http.Header {
	c := h.Clone()
	for _, k := range sensitiveHeaders {
		vs := c.Values(k)
		if len(vs) == 0 {
			continue
		}
		out := make([]string, len(vs))
		for i, v := range vs {
			if scheme, _, ok := strings.Cut(v, " "); ok && k != "Cookie" && k != "Set-Cookie" {
				out[i] = scheme + " " + redacted
			} else {
				out[i] = redacted
			}
		}
		c[http.CanonicalHeaderKey(k)] = out
	}
	return c
}

// logTransport logs each request and its response at debug level, with
// secrets redacted. It never logs bodies.
type logTransport struct {
	base http.RoundTripper
}

func (t *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	l := log.G(req.Context())
	if !l.Logger.IsLevelEnabled(log.DebugLevel) {
		return t.base.RoundTrip(req)
	}
	start := time.Now()
	l = l.WithField("method", req.Method).WithField("url", redactURL(req.URL))
	l.WithField("header", redactHeader(req.Header)).Debug("registry request")
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		l.WithError(err).WithField("duration", time.Since(start)).Debug("registry request failed")
		return nil, err
	}
	l.WithField("status", resp.StatusCode).
		WithField("header", redactHeader(resp.Header)).
		WithField("duration", time.Since(start)).
		Debug("registry response")
	return resp, nil
}
