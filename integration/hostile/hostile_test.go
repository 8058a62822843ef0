// Package hostile runs the manifest-push binary against registries that
// misbehave on purpose: a scriptable front (the counting proxy, with faults)
// in front of the real embedded distribution registry, and small servers on
// the side that record what reaches them (a redirect's other end, a token
// server) or answer without end. Each case asserts the exit code, the peak
// memory of the binary (measured as the benchmark does, through the maxrss
// helper), what reached the other server, and that nothing was written when
// the push must fail.
package hostile

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/manifest-push/manifest-push/integration/internal/bench"
	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
)

// maxPeakRSS is the memory any hostile case may make the binary use.
const maxPeakRSS = 64 << 20

var (
	// bin is the manifest-push executable, maxrss the helper that runs it
	// and writes its peak RSS.
	bin, maxrss string
)

func TestMain(m *testing.M) {
	// distribution's token access controller logs through this process's
	// logrus; its refusals are expected here.
	logrus.SetOutput(io.Discard)
	dir, err := os.MkdirTemp("", "manifest-push-hostile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if maxrss, err = bench.BuildMaxRSS(context.Background(), dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := clitest.Main(m, &bin, binary.Options{})
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// run runs the binary with args through maxrss and returns what it gave
// and its peak RSS; it fails the test when the peak reaches maxPeakRSS.
func run(t *testing.T, o clitest.RunOptions, args ...string) clitest.Result {
	t.Helper()
	result := filepath.Join(t.TempDir(), "rss")
	r := clitest.Run(t, maxrss, o, append([]string{result, bin}, args...)...)
	r.Args = args
	b, err := os.ReadFile(result)
	if err != nil {
		t.Fatalf("maxrss wrote no result: %v\n%s", err, r)
	}
	f := strings.Fields(string(b))
	rss, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || rss <= 0 {
		t.Fatalf("maxrss result %q: %v", b, err)
	}
	t.Logf("peak RSS %.1f MiB", float64(rss)/(1<<20))
	if rss >= maxPeakRSS {
		t.Errorf("peak RSS %.1f MiB, want under %d MiB\n%s", float64(rss)/(1<<20), maxPeakRSS>>20, r)
	}
	return r
}

// recorder is a server on the side: it records the credentials of every
// request that reaches it, and answers each with serve (nil: 404).
type recorder struct {
	*httptest.Server
	mu      sync.Mutex
	hits    int
	secrets []string // Authorization and Cookie values received
	serve   http.HandlerFunc
}

func newRecorder(t *testing.T, serve http.HandlerFunc) *recorder {
	t.Helper()
	rec := &recorder{serve: serve}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.hits++
		for _, h := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
			if v := r.Header.Get(h); v != "" {
				rec.secrets = append(rec.secrets, h+": "+v)
			}
		}
		rec.mu.Unlock()
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		if rec.serve == nil {
			http.NotFound(w, r)
			return
		}
		rec.serve(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) seen() (hits int, secrets []string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.hits, append([]string(nil), rec.secrets...)
}

// forwardTo is a handler that serves each request from base with client
// (which carries its own credentials): storage that a registry redirects
// blob and manifest reads to.
func forwardTo(client *http.Client, base string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header.Set("Accept", r.Header.Get("Accept"))
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for _, h := range []string{"Content-Type", "Content-Length", "Docker-Content-Digest"} {
			if v := resp.Header.Get(h); v != "" {
				w.Header().Set(h, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}
}

// endless answers status with a body that never ends (prefix, then the
// same byte forever), until the client goes away.
func endless(status int, contentType, prefix string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		bw := bufio.NewWriterSize(w, 64<<10)
		if _, err := bw.WriteString(prefix); err != nil {
			return
		}
		chunk := strings.Repeat("A", 64<<10)
		for r.Context().Err() == nil {
			if _, err := bw.WriteString(chunk); err != nil {
				return
			}
		}
	}
}

// hugeToken answers a token request with a JSON token of n bytes, streamed,
// with its length declared when declare is set.
func hugeToken(n int64, declare bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		prefix, suffix := `{"token":"`, `"}`
		if declare {
			w.Header().Set("Content-Length", fmt.Sprint(int64(len(prefix)+len(suffix))+n))
		}
		bw := bufio.NewWriterSize(w, 64<<10)
		_, _ = bw.WriteString(prefix)
		chunk := strings.Repeat("A", 64<<10)
		for sent := int64(0); sent < n && r.Context().Err() == nil; sent += int64(len(chunk)) {
			if _, err := bw.WriteString(chunk[:min(int64(len(chunk)), n-sent)]); err != nil {
				return
			}
		}
		_, _ = bw.WriteString(suffix)
		_ = bw.Flush()
	}
}
