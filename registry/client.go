package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/remotes/docker"
)

const defaultUserAgent = "manifest-push"

// Client talks to registries for a whole run: it configures each registry
// host once (TLS, credentials, its authorizer and so its tokens), keeps
// connections for reuse, retries transient failures, and bounds the
// requests in flight across every operation made through it. Build one
// with NewClient and share it; it is safe for concurrent use.
type Client struct {
	hosts     *hosts
	limits    *limits
	policy    RetryPolicy
	userAgent string
	// noMount holds the pairs of repositories ("from\x00to") whose
	// cross-repository mount the registry refused in this run.
	noMount sync.Map
	// tagParams holds what the run learned of each registry host's tag
	// parameter (host → *tagParam, see PutTagged).
	tagParams sync.Map
}

// NewClient builds a client. Nothing is read or dialled until the first
// request.
func NewClient(opts Options) *Client {
	jobs, perHost := opts.Jobs, opts.Jobs
	if jobs <= 0 {
		jobs, perHost = DefaultJobs, MaxHTTP1Requests
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = defaultUserAgent
	}
	policy := policyOf(opts.Retry)
	return &Client{
		hosts:     newHosts(opts, jobs, policy),
		limits:    newLimits(jobs, min(perHost, jobs)),
		policy:    policy,
		userAgent: ua,
	}
}

// request is one registry request of an operation.
type request struct {
	method string
	repo   Repo
	// path follows /v2/<repository>/, e.g. "manifests/latest".
	path  string
	query url.Values
	// location, when set, is an absolute URL (an upload location) used
	// instead of repo and path; query is added to it.
	location *url.URL
	header   http.Header
	// body is a body that can be sent again; stream one that cannot, of
	// size bytes.
	body   []byte
	stream io.Reader
	size   int64
	// caps are what the host must be able to do.
	caps docker.HostCapabilities
	// streamed marks a response whose body is streamed into another
	// request (a blob copied): it gives its place among the Jobs back once
	// the answer's headers are in, so that a copy never waits on itself.
	streamed bool
	// own asks the registry itself, never a pull mirror of hosts.toml:
	// what decides a write is read from the registry.
	own bool
}

// send sends r and returns the response, whatever its status. It
// authorizes the request, and on a 401 hands the challenge to the
// authorizer and tries again (at most maxAuthAttempts in all). When the
// registry has several hosts (pull mirrors from hosts.toml), a read goes
// on to the next host after a failure or an error status; writes, reads
// marked own and every request about a repository the context pushes to
// (WithScope) go to the registry itself, the last host.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	all, err := c.hosts.get(ctx, r.repo.Domain)
	if err != nil {
		return nil, fmt.Errorf("configuring %s: %w", r.repo.Domain, err)
	}
	var hs []docker.RegistryHost
	for _, h := range all {
		if h.Capabilities.Has(r.caps) {
			hs = append(hs, h)
		}
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("%s: no host configured that can %s", r.repo.Domain, capName(r.caps))
	}
	if r.caps.Has(docker.HostCapabilityPush) || r.location != nil || r.own || pushedTo(ctx, r.repo) {
		hs = hs[len(hs)-1:] // the registry itself, the last host
	}
	if r.location != nil {
		// A location from a registry reached over HTTPS stays HTTPS (the
		// request carries the host's credentials): see uploadLocation.
		from := url.URL{Scheme: hs[0].Scheme, Host: hs[0].Host, Path: hs[0].Path}
		if err := c.hosts.checkLocation(&from, r.location); err != nil {
			return nil, err
		}
	}
	release, err := c.limits.acquire(ctx, r.repo.Domain)
	if err != nil {
		return nil, err
	}
	// A TLS handshake that chooses HTTP/2 lifts the host's HTTP/1.1 limit
	// at once, before any answer.
	domain := r.repo.Domain
	tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		TLSHandshakeDone: func(st tls.ConnectionState, err error) {
			if err == nil && st.NegotiatedProtocol == "h2" {
				c.limits.spokeHTTP2(domain)
			}
		},
	})
	for i, h := range hs {
		resp, err := c.sendTo(tctx, h, r)
		if err == nil && resp.ProtoMajor == 2 {
			c.limits.spokeHTTP2(domain)
		}
		last := i == len(hs)-1
		if last || (err == nil && resp.StatusCode < http.StatusBadRequest) {
			if err != nil || r.streamed {
				release()
			} else {
				resp.Body = &slotBody{ReadCloser: resp.Body, release: release}
			}
			return resp, err
		}
		if resp != nil {
			drain(ctx, resp)
		}
	}
	release()
	return nil, fmt.Errorf("%s: no host answered", r.repo.Domain)
}

// slotBody is a response body that holds its request's place among the
// client's Jobs until it is closed: a request is in flight until its answer
// has been read.
type slotBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *slotBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

func capName(c docker.HostCapabilities) string {
	switch {
	case c.Has(docker.HostCapabilityPush):
		return "push"
	case c.Has(docker.HostCapabilityResolve):
		return "resolve"
	default:
		return "pull"
	}
}

func (c *Client) sendTo(ctx context.Context, h docker.RegistryHost, r request) (*http.Response, error) {
	// Until the host's challenge is known, one request at a time learns it
	// while the others wait (see challengeGate).
	leave, err := gateOf(h).enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave(false)
	// tokenSent: an earlier attempt carried a token; a second rejected one
	// ends the request.
	tokenSent := false
	for attempt := 0; ; attempt++ {
		req, err := c.newRequest(ctx, h, r)
		if err != nil {
			return nil, err
		}
		if h.Authorizer != nil {
			if err := h.Authorizer.Authorize(ctx, req); err != nil {
				return nil, c.authError(req, err)
			}
		}
		resp, err := h.Client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				err = context.Cause(ctx) // say which request was cut short
			}
			return nil, transportError(req, err)
		}
		if resp.StatusCode != http.StatusUnauthorized {
			leave(true)
		}
		if resp.StatusCode != http.StatusUnauthorized || h.Authorizer == nil || r.stream != nil ||
			attempt >= maxAuthAttempts-1 || (attempt > 0 && (tokenSent || !rejectedToken(req, resp))) {
			return resp, nil
		}
		tokenSent = tokenSent || req.Header.Get("Authorization") != ""
		if err := c.hosts.checkChallenge(resp); err != nil {
			drain(ctx, resp)
			return nil, requestError(req, err)
		}
		if err := h.Authorizer.AddResponses(ctx, []*http.Response{resp}); err != nil {
			e := c.statusError(ctx, resp)
			e.Err = err
			return nil, e
		}
		leave(true) // the authorizer knows the challenge: the others may go
		drain(ctx, resp)
	}
}

// maxAuthAttempts bounds the tries of one request against 401 answers: the
// first, unauthorized or with a cached token; one with the credentials or a
// token the challenge asked for; and one more with a new token when the
// registry rejected a token (expired, revoked). Wrong credentials thus cost
// two requests, never a loop.
const maxAuthAttempts = 3

// rejectedToken reports whether resp refuses the bearer token req carried
// (a challenge with an error parameter, such as error="invalid_token"):
// the authorizer then drops its cached tokens and fetches new ones.
func rejectedToken(req *http.Request, resp *http.Response) bool {
	scheme, _, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") {
		return false
	}
	for _, c := range resp.Header.Values("WWW-Authenticate") {
		if s, params, _ := strings.Cut(c, " "); strings.EqualFold(s, "bearer") && strings.Contains(params, "error=") {
			return true
		}
	}
	return false
}

func (c *Client) newRequest(ctx context.Context, h docker.RegistryHost, r request) (*http.Request, error) {
	var u *url.URL
	if r.location != nil {
		loc := *r.location
		q := loc.Query()
		for k, v := range r.query {
			q[k] = v
		}
		loc.RawQuery = q.Encode()
		u = &loc
	} else {
		u = &url.URL{
			Scheme:   h.Scheme,
			Host:     h.Host,
			Path:     strings.TrimSuffix(h.Path, "/") + "/" + r.repo.Path + "/" + r.path,
			RawQuery: r.query.Encode(),
		}
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if r.stream != nil {
		req.Body = io.NopCloser(r.stream)
		req.ContentLength = r.size
	}
	for k, v := range h.Header {
		req.Header[k] = slices.Clone(v)
	}
	for k, v := range r.header {
		req.Header[k] = slices.Clone(v)
	}
	req.Header.Set("User-Agent", c.userAgent)
	return req, nil
}

func (c *Client) authError(req *http.Request, err error) *Error {
	e := transportError(req, err)
	e.User = c.hosts.creds.user(hostDomain(req))
	if e.User == "" && e.Hint == HintNone && e.isUnauthorized() {
		e.Hint = HintNoCredentials // the token server refused an anonymous token
	}
	return e
}

// statusError reads the error of a failed response and closes it.
func (c *Client) statusError(ctx context.Context, resp *http.Response) *Error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		body = nil // the status alone still says what failed
	}
	drain(ctx, resp)
	e := responseError(resp, body)
	if e.isUnauthorized() {
		e.User = c.hosts.creds.user(hostDomain(resp.Request))
		if e.User == "" && resp.StatusCode == http.StatusUnauthorized && e.Hint == HintNone {
			e.Hint = HintNoCredentials
		}
	}
	return e
}

// hostDomain is the registry name credentials were looked up under for
// req: the request's host, with docker.io for Docker Hub.
func hostDomain(req *http.Request) string {
	if req.URL.Host == "registry-1.docker.io" {
		return "docker.io"
	}
	return req.URL.Host
}

// do sends r and fails with an *Error unless the status is one of ok.
func (c *Client) do(ctx context.Context, r request, ok ...int) (*http.Response, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(ok, resp.StatusCode) {
		return nil, c.statusError(ctx, resp)
	}
	return resp, nil
}
