package bench_test

import (
	"context"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/bench"
	"github.com/manifest-push/manifest-push/integration/internal/binary"
)

// TestRunBehindTokenServer runs the benchmark against a registry behind a
// token server (every request without a token is answered 401): the rows
// count the 401s, a first push of 8 entries has at most one, and the
// report says where it ran and checks that goal. No timing is asserted.
func TestRunBehindTokenServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := context.Background()
	bin, err := binary.Build(ctx, t.TempDir(), binary.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bench.Run(ctx, bench.Config{Binary: bin, Sizes: []int{8}, Tags: 2, Token: true})
	if err != nil {
		t.Fatal(err)
	}
	first, ok := rep.Row(8, bench.FirstPush)
	if !ok || !first.Changed || first.Writes == 0 {
		t.Fatalf("first push %+v", first)
	}
	if first.Unauthorized != 1 {
		t.Errorf("first push answered 401 %d times, want 1 (one request learns the challenge)", first.Unauthorized)
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"behind a token server",
		"| N | run | wall | round trips | requests | 401s |",
		"| N=8 first push 401s | ≤ 1 | 1 | pass |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
	t.Log("\n" + b.String())
}
