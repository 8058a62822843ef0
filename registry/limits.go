package registry

import (
	"context"
	"sync"
	"sync/atomic"
)

// MaxHTTP1Requests is how many requests a client has in flight to one
// registry host that is not known to speak HTTP/2, when Options.Jobs is
// zero: over HTTP/1.1 each request in flight is a connection, and 64 is a
// polite number of them. A host that answers over HTTP/2 multiplexes its
// requests on a few connections, and only the client's Jobs bound them.
const MaxHTTP1Requests = 64

// limits bounds a client's requests in flight: all of them (jobs), and
// those to each host that has not answered over HTTP/2 yet (perHost).
type limits struct {
	all     chan struct{}
	perHost int

	mu    sync.Mutex
	hosts map[string]*hostLimit
}

type hostLimit struct {
	sem chan struct{}
	h2  atomic.Bool
	// open is closed when the host speaks HTTP/2: requests waiting for a
	// place among sem go on at once.
	open chan struct{}
	once sync.Once
}

func newLimits(jobs, perHost int) *limits {
	return &limits{all: make(chan struct{}, jobs), perHost: perHost, hosts: map[string]*hostLimit{}}
}

func (l *limits) host(name string) *hostLimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.hosts[name]
	if h == nil {
		h = &hostLimit{sem: make(chan struct{}, l.perHost), open: make(chan struct{})}
		l.hosts[name] = h
	}
	return h
}

// acquire waits for a place for a request to host and returns the function
// that gives it back (to be called once).
func (l *limits) acquire(ctx context.Context, host string) (func(), error) {
	select {
	case l.all <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	h := l.host(host)
	if h.h2.Load() {
		return func() { <-l.all }, nil
	}
	select {
	case h.sem <- struct{}{}:
		return func() { <-h.sem; <-l.all }, nil
	case <-h.open:
		return func() { <-l.all }, nil
	case <-ctx.Done():
		<-l.all
		return nil, context.Cause(ctx)
	}
}

// spokeHTTP2 records that host speaks HTTP/2 (a TLS handshake chose h2, or
// an answer came over it): its requests are bounded by the client's Jobs
// only from now on, those waiting included.
func (l *limits) spokeHTTP2(host string) {
	h := l.host(host)
	h.h2.Store(true)
	h.once.Do(func() { close(h.open) })
}
