package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestJobsBoundTheWholeRun: --jobs bounds one run's requests in flight
// across all its specs. Three specs of eight platforms each, pushed
// concurrently by one run with --jobs 4, through a proxy that holds every
// request 20 ms so that they pile up: the proxy never sees more than 4 at
// once, and every index is pushed.
func TestJobsBoundTheWholeRun(t *testing.T) {
	e := newEnv(t)
	arches := []string{"amd64", "arm64", "arm/v7", "arm/v6", "386", "ppc64le", "s390x", "riscv64"}
	var files []string
	for n := range 3 {
		var b strings.Builder
		fmt.Fprintf(&b, "image: ${REG}/dst/app%d:1\nmanifests:\n", n)
		for _, a := range arches {
			tag := fmt.Sprintf("%d-%s", n, strings.ReplaceAll(a, "/", "-"))
			e.image("src/app", tag, "linux/"+a)
			fmt.Fprintf(&b, "  - image: ${REG}/src/app:%s\n", tag)
		}
		files = append(files, e.WriteFile(fmt.Sprintf("app%d.yaml", n), b.String()))
	}
	e.Proxy.Reset()
	e.Proxy.SetDelay(20 * time.Millisecond)
	r := e.run(append([]string{"--plain-http", "--jobs", "4", "from-spec"}, files...)...)
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	if peak := e.Proxy.PeakConcurrency(); peak > 4 || peak < 2 {
		t.Errorf("peak concurrency %d with --jobs 4 over three specs, want at most 4 (and the limit reached)", peak)
	}
	for n := range 3 {
		if d := e.TagDigest(fmt.Sprintf("dst/app%d", n), "1"); d == "" {
			t.Errorf("dst/app%d:1 not pushed", n)
		}
	}
	if got := strings.Count(r.Stdout, "Digest: "); got != 3 {
		t.Errorf("%d Digest lines\n%s", got, r.Stdout)
	}
}
