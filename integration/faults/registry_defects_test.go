package faults

import (
	"net/http"
	"testing"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/registry"
)

// A registry that answers every request 503 with a Retry-After of 0, or of
// a date in the past, asks for no wait: the capped exponential backoff is
// a floor all the same. Each request is tried at most the policy's number
// of attempts, and two successive tries of one request are never closer
// than the shortest first backoff (half the base, with jitter), as the
// proxy saw them arrive. Exit 1.
func TestRetryAfterZeroKeepsTheBackoff(t *testing.T) {
	t.Parallel()
	policy := registry.RetryPolicy{Attempts: 5, Base: 200 * time.Millisecond} // the client's defaults
	floor := policy.Base / 2
	for _, tc := range []struct {
		name       string
		retryAfter string
	}{
		{"zero", "0"},
		{"date in the past", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, registrytest.Options{})
			e.sources()
			e.Proxy.SetFault(proxy.Always(nil, proxy.RetryAfter(http.StatusServiceUnavailable, tc.retryAfter)))
			r := e.push()
			wantCode(t, r, 1)

			tries := map[string][]time.Time{}
			reqs := e.Proxy.Requests()
			for _, q := range reqs {
				key := q.Method + " " + q.Path + "?" + q.RawQuery
				tries[key] = append(tries[key], q.Start)
			}
			minGap := time.Duration(-1)
			for key, at := range tries {
				if len(at) > policy.Attempts {
					t.Errorf("%s tried %d times, want at most %d", key, len(at), policy.Attempts)
				}
				for i := 1; i < len(at); i++ {
					if gap := at[i].Sub(at[i-1]); minGap < 0 || gap < minGap {
						minGap = gap
					}
				}
			}
			t.Logf("%d requests (%d distinct), shortest gap between two tries of one request %v", len(reqs), len(tries), minGap)
			if minGap < 0 {
				t.Fatalf("no request was tried twice: the case tests nothing\n%s", clitest.Requests(e.Proxy))
			}
			if minGap < floor {
				t.Errorf("two tries of one request %v apart, want at least %v (the backoff is a floor)\n%s", minGap, floor, clitest.Requests(e.Proxy))
			}
		})
	}
}
