// Package proxy is an HTTP reverse proxy placed in front of a registry in
// tests and in the benchmark. It records every request (method, path,
// status), tracks peak concurrency, can add a fixed delay to each request (a
// remote registry's round trip), and injects the faults a real registry does
// not produce on demand: error answers such as 429 with Retry-After,
// connection resets, stalls, lying headers, and answers from another
// upstream.
//
// Upload sessions keep going through the proxy: absolute Location headers that
// point at the upstream are rewritten to point at the proxy.
package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FaultFunc decides what the proxy does with a request. n is the request's
// sequence number, starting at 1 (and again at 1 after Reset). It is called
// concurrently, before the request body is read: it must not read r.Body.
type FaultFunc func(r *http.Request, n int) Action

// Options configures a proxy. The zero value forwards every request at once,
// unchanged, over plain HTTP.
type Options struct {
	// Addr is the address to listen on. Empty means 127.0.0.1:0.
	Addr string

	// TLS, when set, makes the proxy serve HTTPS with this configuration
	// (it must hold a certificate). Nil means plain HTTP.
	TLS *tls.Config
	// HTTP2, with TLS, offers HTTP/2 to clients (ALPN h2), as registries
	// on the internet do; false means HTTP/1.1 only.
	HTTP2 bool
	// PlainHTTP, with TLS, serves a client that speaks plain HTTP to the
	// proxy's port with this handler, instead of failing its TLS
	// handshake: one host name answering both http:// and https://, as a
	// front whose ports 80 and 443 are the same machine does (here on one
	// port, so that the two URLs differ only in their scheme). Nil means
	// TLS only.
	PlainHTTP http.Handler

	// Transport carries requests to the upstream. Nil means a clone of
	// http.DefaultTransport; pass the registry's transport for a TLS upstream
	// whose CA is not in the system pool.
	Transport http.RoundTripper

	// Delay is waited before each request is handled, as the round trip to a
	// remote registry would. Zero means no delay. See also SetDelay.
	Delay time.Duration

	// Fault decides, per request, whether to inject a fault. Nil means pass
	// every request. See also SetFault.
	Fault FaultFunc

	// Log receives the proxy's own error messages. Nil means discard them.
	Log io.Writer
}

// Request is the record of one request that went through the proxy.
type Request struct {
	// Seq is the sequence number given to the fault hook.
	Seq    int
	Method string
	// Path is the URL path, RawQuery the query string, as received.
	Path     string
	RawQuery string
	// Header is a copy of the request's headers as received.
	Header http.Header
	// Status is the status sent to the client; 0 when no response was sent
	// (connection reset, or the client gave up first).
	Status int
	// Fault reports whether the fault hook changed anything for this request.
	Fault bool
	// Upstream is the base URL the request was forwarded to; empty when the
	// proxy answered by itself.
	Upstream string
	// Proto is the protocol the client spoke ("HTTP/1.1", "HTTP/2.0").
	Proto    string
	Start    time.Time
	Duration time.Duration
}

// IsWrite reports whether the request is a PUT, POST, PATCH or DELETE.
func (r Request) IsWrite() bool {
	switch r.Method {
	case http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// String formats the request as "METHOD PATH[?QUERY] STATUS".
func (r Request) String() string {
	target := r.Path
	if r.RawQuery != "" {
		target += "?" + r.RawQuery
	}
	return fmt.Sprintf("%s %s %d", r.Method, target, r.Status)
}

// Proxy is a running proxy. Close it when done.
type Proxy struct {
	upstream  *url.URL
	transport http.RoundTripper
	server    *httptest.Server
	plain     *http.Server // serves Options.PlainHTTP, when set
	reverse   *httputil.ReverseProxy
	errLog    *log.Logger
	done      chan struct{}
	closeOnce sync.Once

	delay atomic.Int64 // time.Duration

	inflight atomic.Int64

	mu       sync.Mutex
	fault    FaultFunc
	seq      int
	peak     int64
	requests []*Request // updated in place under mu while in flight
}

type ctxKey struct{}

// requestState travels in the request's context from ServeHTTP to the
// reverse proxy's hooks.
type requestState struct {
	upstream *url.URL
	action   Action
}

// Start starts a proxy forwarding to upstream, a base URL such as
// "http://127.0.0.1:5000".
func Start(upstream string, opts Options) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("proxy: upstream %q: not an absolute URL", upstream)
	}
	transport := opts.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 256
		transport = t
	}
	logOut := opts.Log
	if logOut == nil {
		logOut = io.Discard
	}
	p := &Proxy{
		upstream:  u,
		transport: transport,
		errLog:    log.New(logOut, "proxy: ", 0),
		done:      make(chan struct{}),
		fault:     opts.Fault,
	}
	p.delay.Store(int64(opts.Delay))
	p.reverse = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			st := pr.In.Context().Value(ctxKey{}).(*requestState)
			pr.SetURL(st.upstream)
			if st.action.Rewrite != nil {
				st.action.Rewrite(pr.Out.URL)
				pr.Out.URL.RawPath = ""
			}
			// SetURL joins paths; the upstream is a base URL with no path,
			// so the incoming path and query pass unchanged.
		},
		Transport:      transport,
		ModifyResponse: p.modifyResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.errLog.Printf("%s %s: %v", r.Method, r.URL, err)
			w.WriteHeader(http.StatusBadGateway)
		},
		ErrorLog:      p.errLog,
		FlushInterval: -1,
	}

	p.server = httptest.NewUnstartedServer(p)
	p.server.Config.ErrorLog = p.errLog
	if opts.Addr != "" {
		ln, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			return nil, fmt.Errorf("proxy: listen: %w", err)
		}
		_ = p.server.Listener.Close() // replaced by ln
		p.server.Listener = ln
	}
	if opts.TLS != nil {
		if opts.PlainHTTP != nil {
			tlsLn, plainLn := splitByProtocol(p.server.Listener, p.errLog)
			p.server.Listener = tlsLn
			p.plain = &http.Server{Handler: opts.PlainHTTP, ErrorLog: p.errLog, ReadHeaderTimeout: time.Minute}
			go func() {
				if err := p.plain.Serve(plainLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
					p.errLog.Printf("plain HTTP: %v", err)
				}
			}()
		}
		p.server.TLS = opts.TLS
		p.server.EnableHTTP2 = opts.HTTP2
		p.server.StartTLS()
	} else {
		p.server.Start()
	}
	return p, nil
}

// URL returns the proxy's base URL, "http://127.0.0.1:PORT".
func (p *Proxy) URL() string { return p.server.URL }

// Host returns "127.0.0.1:PORT", the registry host to use in references.
func (p *Proxy) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(p.server.URL, "https://"), "http://")
}

// Close stops the proxy. Requests waiting on a delay are answered with 503
// at once; requests in flight upstream are waited for. Safe to call twice.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		close(p.done)
		if p.plain != nil {
			_ = p.plain.Close() // closes the shared listener: nothing to report
		}
		p.server.Close()
	})
}

// SetFault replaces the fault hook; nil passes every request.
func (p *Proxy) SetFault(f FaultFunc) {
	p.mu.Lock()
	p.fault = f
	p.mu.Unlock()
}

// SetDelay replaces the fixed per-request delay.
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// Requests returns a copy of the records of the requests received so far,
// in order of arrival. A request still in flight has the status it has
// been answered with so far (0 if none yet) and no Duration yet.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Request, len(p.requests))
	for i, r := range p.requests {
		out[i] = *r
	}
	return out
}

// Count returns the number of requests received so far.
func (p *Proxy) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests)
}

// Writes returns the number of PUT, POST, PATCH and DELETE requests
// received so far.
func (p *Proxy) Writes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.requests {
		if r.IsWrite() {
			n++
		}
	}
	return n
}

// PeakConcurrency returns the largest number of requests that were being
// handled at the same time.
func (p *Proxy) PeakConcurrency() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return int(p.peak)
}

// Reset forgets the recorded requests, the peak concurrency and the sequence
// number. The fault hook and delay stay.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = nil
	p.peak = 0
	p.seq = 0
}

// ServeHTTP handles one request. It is exported only to satisfy
// http.Handler.
//
// The request is recorded when it arrives and its status when the status is
// written, before the client can read the answer: a client that has its
// answer finds its request in Requests.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Proto:    r.Proto,
		Start:    time.Now(),
	}
	cur := p.inflight.Add(1)
	defer p.inflight.Add(-1)

	p.mu.Lock()
	p.seq++
	rec.Seq = p.seq
	if cur > p.peak {
		p.peak = cur
	}
	p.requests = append(p.requests, rec)
	fault := p.fault
	p.mu.Unlock()

	sw := &statusWriter{ResponseWriter: w, p: p, rec: rec}
	defer func() {
		p.mu.Lock()
		rec.Duration = time.Since(rec.Start)
		p.mu.Unlock()
	}()

	if !p.sleep(r.Context(), time.Duration(p.delay.Load())) {
		p.gone(sw)
		return
	}

	var action Action
	if fault != nil {
		action = fault(r, rec.Seq)
		if action.Inspect != nil {
			body, err := io.ReadAll(io.LimitReader(r.Body, MaxInspect))
			if err != nil {
				p.errLog.Printf("%s %s: read body: %v", r.Method, r.URL, err)
				sw.WriteHeader(http.StatusBadGateway)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			inspect := action.Inspect
			action = inspect(body)
			if action.IsPass() {
				action.Inspect = inspect // recorded as a request the hook looked at
			}
		}
		if !action.IsPass() {
			p.mu.Lock()
			rec.Fault = true
			p.mu.Unlock()
		}
	}
	if !p.sleep(r.Context(), action.Delay) {
		p.gone(sw)
		return
	}

	upstream := p.upstream
	if action.Upstream != "" {
		u, err := url.Parse(action.Upstream)
		if err != nil {
			p.errLog.Printf("fault upstream %q: %v", action.Upstream, err)
			sw.WriteHeader(http.StatusBadGateway)
			return
		}
		upstream = u
	}

	switch action.Reset {
	case ResetBeforeBody:
		p.reset(sw)
		return
	case ResetAfterBody:
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			p.errLog.Printf("%s %s: read body: %v", r.Method, r.URL, err)
		}
		p.reset(sw)
		return
	case ResetAfterUpstream:
		p.setUpstream(rec, upstream)
		p.forwardAndDrop(r, upstream)
		p.reset(sw)
		return
	}

	if action.Status != 0 {
		for k, vs := range action.Header {
			sw.Header()[k] = append([]string(nil), vs...)
		}
		if action.Body != "" && sw.Header().Get("Content-Type") == "" {
			sw.Header().Set("Content-Type", "application/json")
		}
		sw.Header().Set("Content-Length", fmt.Sprint(len(action.Body)))
		sw.WriteHeader(action.Status)
		if r.Method != http.MethodHead {
			if _, err := io.WriteString(sw, action.Body); err != nil {
				p.errLog.Printf("%s %s: write body: %v", r.Method, r.URL, err)
			}
		}
		return
	}

	p.setUpstream(rec, upstream)
	st := &requestState{upstream: upstream, action: action}
	p.reverse.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, st)))
}

func (p *Proxy) setUpstream(rec *Request, upstream *url.URL) {
	p.mu.Lock()
	rec.Upstream = upstream.String()
	p.mu.Unlock()
}

// modifyResponse rewrites Location headers that point at the upstream so
// that they point at the proxy, then applies the action's header changes.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	st, _ := resp.Request.Context().Value(ctxKey{}).(*requestState)
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", p.rewriteLocation(loc, resp.Request.URL))
	}
	if st == nil {
		return nil
	}
	for k, vs := range st.action.ResponseHeader {
		if len(vs) == 0 {
			resp.Header.Del(k)
			continue
		}
		resp.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if st.action.ModifyResponse != nil {
		return st.action.ModifyResponse(resp)
	}
	return nil
}

func (p *Proxy) rewriteLocation(loc string, upstream *url.URL) string {
	u, err := url.Parse(loc)
	if err != nil || !u.IsAbs() || !strings.EqualFold(u.Host, upstream.Host) {
		return loc
	}
	self, err := url.Parse(p.server.URL)
	if err != nil {
		return loc
	}
	u.Scheme = self.Scheme
	u.Host = self.Host
	return u.String()
}

// forwardAndDrop sends the request upstream and discards the answer: the
// upstream acts on it, the client never learns.
func (p *Proxy) forwardAndDrop(r *http.Request, upstream *url.URL) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = upstream.Scheme
	out.URL.Host = upstream.Host
	out.Host = ""
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		p.errLog.Printf("%s %s: forward: %v", r.Method, r.URL, err)
		return
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		p.errLog.Printf("%s %s: read upstream answer: %v", r.Method, r.URL, err)
	}
	if err := resp.Body.Close(); err != nil {
		p.errLog.Printf("%s %s: close upstream answer: %v", r.Method, r.URL, err)
	}
}

// reset hijacks the client connection and closes it with a TCP RST.
func (p *Proxy) reset(sw *statusWriter) {
	conn, _, err := http.NewResponseController(sw.ResponseWriter).Hijack()
	if err != nil {
		p.errLog.Printf("hijack: %v", err)
		panic(http.ErrAbortHandler) // the server drops the connection
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if pc, ok := raw.(*peekedConn); ok {
		raw = pc.Conn
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		if err := tcp.SetLinger(0); err != nil {
			p.errLog.Printf("set linger: %v", err)
		}
	}
	if err := raw.Close(); err != nil {
		p.errLog.Printf("close hijacked connection: %v", err)
	}
}

// gone answers a request whose wait was cut short: 503 when the proxy is
// closing; nothing when the client went away (it would not read it).
func (p *Proxy) gone(sw *statusWriter) {
	select {
	case <-p.done:
		sw.WriteHeader(http.StatusServiceUnavailable)
	default:
	}
}

// sleep waits d; it returns false if the client went away or the proxy is
// closing first.
func (p *Proxy) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-p.done:
		return false
	}
}

// statusWriter records the status in the request's record before the
// client can see it.
type statusWriter struct {
	http.ResponseWriter
	p           *Proxy
	rec         *Request
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader && code >= 200 {
		s.wroteHeader = true
		s.p.mu.Lock()
		s.rec.Status = code
		s.p.mu.Unlock()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush, hijack).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
