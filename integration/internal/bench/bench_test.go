package bench_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/bench"
	"github.com/manifest-push/manifest-push/integration/internal/binary"
)

// TestRunSmall runs the benchmark with a tiny index: the report has a first
// push and a rerun, the first push writes and the rerun does not, and the
// markdown has the tables. No timing is asserted.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := context.Background()
	dir := t.TempDir()
	bin, err := binary.Build(ctx, dir, binary.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n, tags = 2, 3
	rep, err := bench.Run(ctx, bench.Config{Binary: bin, Sizes: []int{n}, Delay: 2 * time.Millisecond, Tags: tags, Runs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 {
		t.Fatalf("%d rows, want 2: %+v", len(rep.Rows), rep.Rows)
	}
	first, rerun := rep.Rows[0], rep.Rows[1]
	if first.N != n || first.Phase != bench.FirstPush || rerun.N != n || rerun.Phase != bench.Rerun {
		t.Errorf("rows %+v, %+v", first, rerun)
	}
	if !first.Changed || first.Writes == 0 || first.Requests <= first.Writes || first.PeakConcurrency == 0 {
		t.Errorf("first push %+v", first)
	}
	if rerun.Changed || rerun.Writes != 0 || rerun.Requests == 0 {
		t.Errorf("rerun %+v, want unchanged and no writes", rerun)
	}
	for _, row := range rep.Rows {
		if row.Wall <= 0 || row.MinWall > row.Wall || row.Wall > row.MaxWall || row.RoundTrips <= 0 {
			t.Errorf("times of %+v", row)
		}
		if runtime.GOOS == "linux" && row.PeakRSS < 1<<20 {
			t.Errorf("peak RSS %d bytes", row.PeakRSS)
		}
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| N | run | wall | round trips | requests | 401s | manifest GETs | manifest HEADs | writes | peak concurrency | peak RSS |",
		"| 2 | first push |",
		"| 2 | rerun |",
		"No peer measured",
		"| N=2 rerun writes | 0, unchanged | 0, changed=false | pass |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
	t.Log("\n" + b.String())
}

// TestRunTLSSpeaksHTTP2: against a TLS registry that offers HTTP/2 (ALPN
// h2), the binary speaks HTTP/2, and the push and its rerun behave as over
// plain HTTP.
func TestRunTLSSpeaksHTTP2(t *testing.T) {
	ctx := context.Background()
	bin, err := binary.Build(ctx, t.TempDir(), binary.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bench.Run(ctx, bench.Config{Binary: bin, Sizes: []int{3}, Tags: 2, TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Proto != "HTTP/2.0" {
		t.Errorf("the binary spoke %q to a registry offering HTTP/2", rep.Proto)
	}
	first, rerun := rep.Rows[0], rep.Rows[1]
	if !first.Changed || first.Writes == 0 || rerun.Changed || rerun.Writes != 0 {
		t.Errorf("first push %+v, rerun %+v", first, rerun)
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "## manifest-push over HTTP/2.0 over TLS") {
		t.Errorf("the report does not name the protocol:\n%s", b.String())
	}
}

// TestRunWithPeers installs crane and regctl at their pinned versions and
// measures them beside manifest-push through the same proxy: each makes a
// first push that writes, and the report has their rows and manifest
// reads. No timing is asserted.
func TestRunWithPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and the peer tools")
	}
	ctx := context.Background()
	dir := t.TempDir()
	bin, err := binary.Build(ctx, dir, binary.Options{})
	if err != nil {
		t.Fatal(err)
	}
	peers, err := bench.InstallPeers(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bench.Run(ctx, bench.Config{Binary: bin, Sizes: []int{2}, Delay: 2 * time.Millisecond, Tags: 2, Peers: peers})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.PeerRows) != 2*len(bench.Peers) {
		t.Fatalf("%d peer rows, want %d: %+v", len(rep.PeerRows), 2*len(bench.Peers), rep.PeerRows)
	}
	for _, p := range rep.PeerRows {
		if p.Requests == 0 || p.ManifestGETs+p.ManifestHEADs == 0 || (p.Phase == bench.FirstPush && p.Writes == 0) {
			t.Errorf("peer row %+v", p)
		}
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| crane index append v0.22.1 | 2 | first push |", "| regctl index create v0.9.2 | 2 | rerun |", "| **manifest-push** | 2 | rerun |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
	t.Log("\n" + b.String())
}

// TestTagParamComparison measures a first push into a registry that
// implements the tag parameter beside one into distribution as it is:
// both push, the registry that writes tags in the index's PUT never needs
// more manifest PUTs, distribution sees the parameter at most once (the
// run learns it is ignored), and the report has its table.
func TestTagParamComparison(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := context.Background()
	bin, err := binary.Build(ctx, t.TempDir(), binary.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bench.RunTagParam(ctx, bench.Config{Binary: bin, Delay: 2 * time.Millisecond}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Plain.Changed || !rep.Tagged.Changed || rep.Plain.ManifestPUTs == 0 {
		t.Errorf("first pushes %+v, %+v", rep.Plain, rep.Tagged)
	}
	if rep.Tagged.ManifestPUTs > rep.Plain.ManifestPUTs || rep.Plain.TaggedPUTs > 1 {
		t.Errorf("manifest PUTs: %d (%d with ?tag=) into a registry that implements the tag parameter, %d (%d with ?tag=) into one that does not",
			rep.Tagged.ManifestPUTs, rep.Tagged.TaggedPUTs, rep.Plain.ManifestPUTs, rep.Plain.TaggedPUTs)
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"### Tags in one request: first push of N=2 with 3 extra tags",
		"| ignores the tag parameter (distribution) |",
		"| implements it (proxy profile TagParameter) |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
	t.Log("\n" + b.String())
}
