package registry

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/core/remotes/docker/config"
	"github.com/containerd/errdefs"
)

// hosts configures the registry hosts of a client. Each registry name is
// configured once, so its HTTP client and authorizer (and thus its tokens)
// serve every operation of the client.
type hosts struct {
	opts   Options
	jobs   int
	policy RetryPolicy
	creds  *credentials

	mu     sync.Mutex
	byName map[string]hostsResult
}

type hostsResult struct {
	hosts []docker.RegistryHost
	err   error
}

func newHosts(opts Options, jobs int, policy RetryPolicy) *hosts {
	return &hosts{
		opts:   opts,
		jobs:   jobs,
		policy: policy,
		creds:  newCredentials(opts),
		byName: map[string]hostsResult{},
	}
}

// get gives the hosts that serve the registry called name (a reference's
// domain, such as docker.io or localhost:5000).
func (h *hosts) get(ctx context.Context, name string) ([]docker.RegistryHost, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.byName[name]; ok {
		return r.hosts, r.err
	}
	own := new(atomic.Pointer[string])
	rh, err := config.ConfigureHosts(ctx, h.hostOptions(name, own))(name)
	if len(rh) > 0 {
		// The registry itself is the last host; the others are the pull
		// mirrors of its hosts.toml.
		own.Store(&rh[len(rh)-1].Host)
	}
	mu := new(sync.Mutex)
	for i := range rh {
		if rh[i].Authorizer != nil {
			scheme, host, own := rh[i].Scheme, rh[i].Host, i == len(rh)-1
			expect := func() bool { return h.expectChallenge(name, scheme, host, own) }
			rh[i].Authorizer = &lockedAuthorizer{mu: mu, a: rh[i].Authorizer, gate: newChallengeGate(expect)}
		}
	}
	h.byName[name] = hostsResult{hosts: rh, err: err}
	return rh, err
}

// expectChallenge reports whether a host of registry name is likely to
// answer a request without a token 401: the client has credentials for
// the registry and the host is the registry's own (a mirror elsewhere gets
// none), or the host is reached over HTTPS and is not this machine
// (registries on the internet challenge anonymous clients too: Docker Hub,
// GHCR, Quay, Artifact Registry). The first requests to such a host wait
// for one of them to learn the challenge (see challengeGate); those to an
// open registry on this machine or without credentials go at once, and
// cost no round trip more.
func (h *hosts) expectChallenge(name, scheme, host string, own bool) bool {
	if scheme == "https" && !docker.IsLocalhost(host) {
		return true
	}
	if !own {
		return false
	}
	user, secret, err := h.creds.fn(name)
	return err != nil || user != "" || secret != "" // an error shows on the 401
}

// hostOptions configures the hosts of registry name. own is the registry's
// own host (HOST[:PORT]), set once the hosts are configured: it alone gets
// the registry's credentials. A pull mirror of hosts.toml on another host
// that asks for credentials gets none (anonymous), and a read it refuses
// goes on to the next host.
func (h *hosts) hostOptions(name string, own *atomic.Pointer[string]) config.HostOptions {
	insecure := h.opts.Insecure || matchHost(h.opts.InsecureHosts, name)
	creds := h.creds.forRegistry(name)
	o := config.HostOptions{
		HostDir: h.hostDir,
		Credentials: func(host string) (string, string, error) {
			if self := own.Load(); self == nil || !strings.EqualFold(host, *self) {
				return "", "", nil
			}
			return creds(host)
		},
		UpdateClient: func(c *http.Client) error { return h.updateClient(name, insecure, c) },
		// An explicit scheme also keeps ConfigureHosts from turning off
		// certificate verification for loopback hosts.
		DefaultScheme: "https",
	}
	if h.opts.PlainHTTP || matchHost(h.opts.PlainHTTPHosts, name) {
		o.DefaultScheme = "http"
	} else if insecure {
		o.DefaultTLS = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with Insecure or InsecureHosts
	}
	return o
}

// matchHost reports whether registry name is one of hosts: the same
// HOST:PORT, or a HOST without a port naming name's host on any port.
func matchHost(hosts []string, name string) bool {
	host := name
	if h, _, err := net.SplitHostPort(name); err == nil {
		host = h
	}
	for _, x := range hosts {
		x = strings.TrimSpace(x)
		if x == name {
			return true
		}
		if _, _, err := net.SplitHostPort(x); err != nil && strings.Trim(x, "[]") == host {
			return true
		}
	}
	return false
}

// uploadAnswerTimeout is how long a request may wait for the answer's
// headers once it has been sent.
const uploadAnswerTimeout = 3 * time.Minute

// hostDir finds a host's certs.d directory: in CertsDir when given, else in
// containerd's and then Docker's standard locations.
func (h *hosts) hostDir(host string) (string, error) {
	if h.opts.CertsDir != "" {
		return config.HostDirFromRoot(h.opts.CertsDir)(host)
	}
	for _, root := range []string{"/etc/containerd/certs.d", "/etc/docker/certs.d"} {
		dir, err := config.HostDirFromRoot(root)(host)
		if err == nil {
			return dir, nil
		}
		if !errdefs.IsNotFound(err) {
			return "", err
		}
	}
	return "", errdefs.ErrNotFound
}

// updateClient wraps a host's transport with logging and retries, once:
// ConfigureHosts may call it again on a copy of a client it already
// updated. It works on a clone of the transport. Certificate verification
// is off only where the user turned it off: insecure (Insecure or
// InsecureHosts) for registry name, or skip_verify = true in the host's
// hosts.toml, which is honoured and reported through Options.Warn. A
// caller's Options.Transport replaces the transport ConfigureHosts made.
func (h *hosts) updateClient(name string, insecure bool, c *http.Client) error {
	if _, ok := c.Transport.(*retryTransport); ok {
		return nil
	}
	base := c.Transport
	if h.opts.Transport != nil {
		base = h.opts.Transport
	} else if tr, ok := base.(*http.Transport); ok {
		tr = tr.Clone()
		if tr.TLSClientConfig != nil && tr.TLSClientConfig.InsecureSkipVerify && !insecure {
			// ConfigureHosts turns verification off only for a hosts.toml
			// that says skip_verify (the scheme is explicit, so never for
			// loopback by itself).
			h.warn(fmt.Sprintf("TLS certificates of %s are not verified: its hosts.toml says skip_verify = true", name))
		}
		tr.MaxIdleConns = max(tr.MaxIdleConns, h.jobs)
		tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, h.jobs)
		tr.ForceAttemptHTTP2 = true
		// A registry answers a blob upload only once it has checked and
		// stored the whole blob, which for a large layer takes longer than
		// containerd's 30 s default. --timeout bounds the run anyway.
		tr.ResponseHeaderTimeout = uploadAnswerTimeout
		base = tr
	}
	c.Transport = &retryTransport{base: &logTransport{base: &capTransport{base: base}}, policy: h.policy}
	c.CheckRedirect = h.checkRedirect
	return nil
}

func (h *hosts) warn(msg string) {
	if h.opts.Warn != nil {
		h.opts.Warn(msg)
	}
}

// lockedAuthorizer lets one request at a time into a registry's authorizer.
// containerd's authorizer writes a token it fetched (and its expiry) while
// other requests may read it unlocked; so a request waits here while the
// first one of a scope fetches its token, as it would wait inside the
// authorizer anyway, and a cached token is handed out at once.
type lockedAuthorizer struct {
	mu *sync.Mutex
	a  docker.Authorizer
	// gate holds back the first requests to the host until one of them
	// learned its challenge (see challengeGate).
	gate *challengeGate
}

func (l *lockedAuthorizer) Authorize(ctx context.Context, req *http.Request) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.a.Authorize(withTokenFetch(ctx), req)
}

func (l *lockedAuthorizer) AddResponses(ctx context.Context, responses []*http.Response) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.a.AddResponses(withTokenFetch(ctx), responses)
}

// challengeGate lets the requests to one host that is expected to
// challenge them through one at a time until one of them has learned how
// the host wants to be asked: an answer that is not a 401, or a 401 whose
// challenge the authorizer took. Then it lets everything through at once,
// and for good. The first wave of a run's requests to a registry where
// every request without a token is answered 401 (Docker Hub) thus costs
// one 401 and one token, not a 401 per concurrent request, and no more
// round trips: the others would have waited for the token anyway.
type challengeGate struct {
	// expect says, asked once, whether the host is expected to challenge
	// (see hosts.expectChallenge); a host that is not lets every request
	// through at once.
	expect     func() bool
	expectOnce sync.Once
	expected   bool

	learned atomic.Bool
	turn    chan struct{} // holds the one request in flight until learned
}

func newChallengeGate(expect func() bool) *challengeGate {
	return &challengeGate{expect: expect, turn: make(chan struct{}, 1)}
}

// gateOf is the challenge gate of host h, nil when it has no authorizer.
func gateOf(h docker.RegistryHost) *challengeGate {
	if l, ok := h.Authorizer.(*lockedAuthorizer); ok {
		return l.gate
	}
	return nil
}

// enter waits for the request's turn, if the host's challenge is not
// known yet. The function it returns ends the turn (it may be called more
// than once; the first call counts): learned says the challenge is known
// now, else the next request waiting takes its turn to learn it.
func (g *challengeGate) enter(ctx context.Context) (leave func(learned bool), err error) {
	nothing := func(bool) {}
	if g == nil || g.learned.Load() {
		return nothing, nil
	}
	if g.expectOnce.Do(func() { g.expected = g.expect() }); !g.expected {
		return nothing, nil
	}
	select {
	case g.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	if g.learned.Load() {
		<-g.turn
		return nothing, nil
	}
	var once sync.Once
	return func(learned bool) {
		once.Do(func() {
			if learned {
				g.learned.Store(true)
			}
			<-g.turn
		})
	}, nil
}
