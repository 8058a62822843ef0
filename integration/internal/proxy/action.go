package proxy

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"time"
)

// ResetMode says when the proxy drops the client's connection.
type ResetMode int

const (
	// NoReset answers normally.
	NoReset ResetMode = iota
	// ResetBeforeBody drops the connection at once, without reading the
	// request body: the upstream never sees the request.
	ResetBeforeBody
	// ResetAfterBody reads the whole request body, then drops the
	// connection: the client has sent everything, the upstream has seen
	// nothing.
	ResetAfterBody
	// ResetAfterUpstream forwards the request, lets the upstream act on it,
	// discards its answer and drops the connection: the write happened, the
	// client does not know.
	ResetAfterUpstream
)

// Action is what the proxy does with one request. The zero value passes the
// request to the upstream unchanged. Fields combine: Delay applies first,
// then Reset, then Status (the proxy answers by itself), else the request is
// forwarded (to Upstream if set) and the response headers changed.
type Action struct {
	// Delay is waited before anything else, on top of the proxy's fixed
	// delay. A delay longer than the client's timeout makes the client give
	// up; the wait ends early when the client goes away or the proxy closes.
	Delay time.Duration

	// Reset drops the connection instead of answering (see ResetMode).
	Reset ResetMode

	// Status, when non-zero, makes the proxy answer by itself with this
	// status, Header and Body; the upstream never sees the request.
	Status int
	Header http.Header
	Body   string

	// Upstream, when set, forwards the request to this base URL instead of
	// the proxy's upstream.
	Upstream string

	// ResponseHeader sets headers on the upstream's response (each key's
	// values replace the upstream's); a key with no values deletes it.
	ResponseHeader http.Header

	// ModifyResponse, when set, is called on the upstream's response after
	// ResponseHeader is applied.
	ModifyResponse func(*http.Response) error

	// Rewrite, when set, changes the URL forwarded upstream (its path and
	// query; scheme and host are the upstream's).
	Rewrite func(u *url.URL)

	// Inspect, when set, makes the proxy read the request body (at most
	// MaxInspect bytes) and ask Inspect what to do instead of this action;
	// the body is then forwarded unchanged.
	Inspect func(body []byte) Action
}

// MaxInspect caps the request body an Action's Inspect sees.
const MaxInspect = 8 << 20

// IsPass reports whether the action leaves the request alone.
func (a Action) IsPass() bool {
	return a.Delay == 0 && a.Reset == NoReset && a.Status == 0 && a.Upstream == "" &&
		len(a.ResponseHeader) == 0 && a.ModifyResponse == nil && a.Rewrite == nil && a.Inspect == nil
}

// Pass forwards the request unchanged.
func Pass() Action { return Action{} }

// Respond answers with status, header and body without forwarding.
func Respond(status int, header http.Header, body string) Action {
	return Action{Status: status, Header: header, Body: body}
}

// RetryAfter answers status (429 or 503 typically) with a Retry-After header
// of retryAfter (seconds, "2", or an HTTP date, see http.TimeFormat) and a
// registry error body (TOOMANYREQUESTS for 429, UNAVAILABLE otherwise).
func RetryAfter(status int, retryAfter string) Action {
	code := "UNAVAILABLE"
	if status == http.StatusTooManyRequests {
		code = "TOOMANYREQUESTS"
	}
	h := http.Header{}
	h.Set("Retry-After", retryAfter)
	h.Set("Content-Type", "application/json")
	return Action{
		Status: status,
		Header: h,
		Body:   fmt.Sprintf(`{"errors":[{"code":%q,"message":"injected by the test proxy"}]}`, code),
	}
}

// ResetConnection drops the connection without reading the request.
func ResetConnection() Action { return Action{Reset: ResetBeforeBody} }

// Stall waits d before handling the request (then passes it on, if the
// client is still there).
func Stall(d time.Duration) Action { return Action{Delay: d} }

// SetResponseHeader forwards the request and sets header key to value in the
// upstream's response (for example a lying Docker-Content-Digest).
func SetResponseHeader(key, value string) Action {
	return Action{ResponseHeader: http.Header{http.CanonicalHeaderKey(key): {value}}}
}

// ForwardTo forwards the request to another upstream base URL.
func ForwardTo(upstream string) Action { return Action{Upstream: upstream} }

// Matcher selects requests for a fault.
type Matcher func(r *http.Request) bool

// Match returns a Matcher for requests whose method is method ("" for any)
// and whose URL path matches the regular expression pathPattern ("" for
// any). It panics if pathPattern does not compile, as regexp.MustCompile.
func Match(method, pathPattern string) Matcher {
	var re *regexp.Regexp
	if pathPattern != "" {
		re = regexp.MustCompile(pathPattern)
	}
	return func(r *http.Request) bool {
		return (method == "" || r.Method == method) && (re == nil || re.MatchString(r.URL.Path))
	}
}

// Times returns a FaultFunc that applies a to the first k requests that
// match m (all of them when k < 0) and passes every other request. It is
// safe for concurrent use.
func Times(k int, m Matcher, a Action) FaultFunc {
	var mu sync.Mutex
	hits := 0
	return func(r *http.Request, _ int) Action {
		if m != nil && !m(r) {
			return Pass()
		}
		mu.Lock()
		defer mu.Unlock()
		if k >= 0 && hits >= k {
			return Pass()
		}
		hits++
		return a
	}
}

// Always returns a FaultFunc that applies a to every request that matches m.
func Always(m Matcher, a Action) FaultFunc { return Times(-1, m, a) }

// Chain returns a FaultFunc that asks each of fs in turn and returns the
// first action that is not a pass.
func Chain(fs ...FaultFunc) FaultFunc {
	return func(r *http.Request, n int) Action {
		for _, f := range fs {
			if a := f(r, n); !a.IsPass() {
				return a
			}
		}
		return Pass()
	}
}
