package library

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/libtest"
	"github.com/manifest-push/manifest-push/spec"
)

// TestRoundTrips counts the requests of a first push of N images from
// another repository into a fresh one, and of its rerun, and reports the
// wall time in round trips through a proxy that delays each request.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	const n, delay = 8, 25 * time.Millisecond
	e := newEnv(t)
	archs := []string{"amd64", "arm64", "s390x", "ppc64le", "386", "riscv64", "mips64le", "loong64"}
	var entries []spec.Entry
	for i := range n {
		tag := fmt.Sprintf("v1-%d", i)
		e.image("build/app", tag, *linux(archs[i], ""), imagetest.Docker)
		entries = append(entries, e.entry("build/app:"+tag, nil))
	}
	s := e.spec("release/app:1.0", []string{"1", "latest"}, entries...)
	const tags = 3
	e.Proxy.SetDelay(delay)
	ctx := context.Background()
	opts := e.opts() // with the env's config cache, as the CLI's across runs

	start := time.Now()
	if _, err := libtest.Push(ctx, s, opts); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(start)
	t.Logf("first push N=%d: %d requests, %d writes, %.1f round trips, peak concurrency %d", n, e.Proxy.Count(), e.Proxy.Writes(), float64(wall)/float64(delay), e.Proxy.PeakConcurrency())
	// Reads: N HEADs and N manifests of the sources, N configs, 3 tags, and the source repository's
	// tag list and referrers API probe (nothing refers to the images);
	// writes: 2N blobs mounted, N children, the index by digest, 3 tags. No
	// HEAD of a child: its mounts and PUT answer for themselves.
	if want := 6*n + 2*tags + 1 + 2; e.Proxy.Count() != want {
		t.Errorf("%d requests, want %d:\n%s", e.Proxy.Count(), want, clitest.Requests(e.Proxy))
	}

	e.Proxy.Reset()
	start = time.Now()
	if _, err := libtest.Push(ctx, s, opts); err != nil {
		t.Fatal(err)
	}
	wall = time.Since(start)
	t.Logf("rerun N=%d: %d requests, %d writes, %.1f round trips", n, e.Proxy.Count(), e.Proxy.Writes(), float64(wall)/float64(delay))
	// The rerun reads the target tag, looks at each source with HEAD (the
	// target holds its digest and its config's platform is remembered: one
	// manifest GET in all, as Docker Hub counts GETs as pulls), and looks for each child in the target (a
	// rerun heals what a clean-up job deleted).
	if want := 2*n + tags + 2; e.Proxy.Count() != want || e.Proxy.Writes() != 0 {
		t.Errorf("%d requests, %d writes; want %d, 0", e.Proxy.Count(), e.Proxy.Writes(), want)
	}
}
