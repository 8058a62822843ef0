package suggest

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"amd64", "amd64", 0},
		{"amd46", "amd64", 1}, // a transposition counts once
		{"arm", "arm64", 2},
		{"", "abc", 3},
		{"platfrom", "platform", 1},
		{"kitten", "sitting", 3},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	if got := Quote("amd46"); got != `"amd46"` {
		t.Errorf("Quote = %s", got)
	}
	long := strings.Repeat("é", 40) // 80 bytes: the cut falls inside a rune
	got := Quote(long)
	if !strings.HasSuffix(got, `"...`) || len(got) > MaxQuote+5 || strings.ContainsRune(got, '\uFFFD') || strings.Contains(got, `\x`) {
		t.Errorf("Quote(long) = %s", got)
	}
}
