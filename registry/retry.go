package registry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/containerd/log"
)

func defaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Attempts: 5, Base: 200 * time.Millisecond, Max: 5 * time.Second, MaxRetryAfter: 30 * time.Second}
}

// policyOf is p with each zero field set to its default.
func policyOf(p RetryPolicy) RetryPolicy {
	d := defaultRetryPolicy()
	if p.Attempts <= 0 {
		p.Attempts = d.Attempts
	}
	if p.Base <= 0 {
		p.Base = d.Base
	}
	if p.Max <= 0 {
		p.Max = d.Max
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = d.MaxRetryAfter
	}
	return p
}

// backoff is the wait before retry number n (1-based): capped exponential,
// with equal jitter (between half and all of it).
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// retryTransport retries transient failures of requests whose body can be
// sent again: connection resets, timeouts, 408, 429, 500, 502, 503, 504.
// It waits the capped exponential backoff with jitter, or the Retry-After
// asked (seconds or HTTP date, capped) when that is longer, and never
// waits past the request context's deadline.
type retryTransport struct {
	base   http.RoundTripper
	policy RetryPolicy
}

// retryableStatus is a status worth asking again for.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// transientError is a transport failure worth trying again.
func transientError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return true
	}
	return false
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// retryAfter is the wait a 429 or 503 answer asks for: its Retry-After
// header, or else a "retry-after" hint in its body (GHCR), which it reads
// (at most 64 KiB) and puts back for the caller.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return d, true
	}
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0, false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
	if err != nil {
		return 0, false
	}
	return bodyRetryAfter(body)
}

// replayable reports whether req's body can be sent again.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !replayable(req) {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := t.base.RoundTrip(r)
		if attempt >= t.policy.Attempts {
			return resp, err
		}
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil || !transientError(err) {
				return nil, err
			}
			wait = t.policy.backoff(attempt)
		case retryableStatus(resp.StatusCode):
			wait = t.policy.backoff(attempt)
			if ra, ok := retryAfter(resp); ok {
				if ra > t.policy.MaxRetryAfter {
					// A limit that resets later than anyone would sit
					// through (Docker Hub's pull limit: an hour): fail now;
					// the error says when it resets.
					return resp, nil
				}
				// The backoff is a floor: a Retry-After of 0 or a date in
				// the past never turns the retries into a burst.
				wait = max(wait, ra)
			}
		default:
			return resp, nil
		}
		if deadline, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(deadline) {
			return resp, err // waiting would pass the deadline: give the last answer
		}
		l := log.G(ctx).WithField("method", req.Method).WithField("url", redactURL(req.URL)).
			WithField("attempt", attempt).WithField("wait", wait)
		if resp != nil {
			l.WithField("status", resp.StatusCode).Debug("retrying registry request")
			drain(ctx, resp)
		} else {
			l.WithError(err).Debug("retrying registry request")
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

// drain reads a little of a response body, so the connection can be
// reused, and closes it.
func drain(ctx context.Context, resp *http.Response) {
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)); err != nil {
		log.G(ctx).WithError(err).Debug("discarding a response body")
	}
	if err := resp.Body.Close(); err != nil {
		log.G(ctx).WithError(err).Debug("closing a response body")
	}
}
