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

func TestNearest(t *testing.T) {
	t.Parallel()
	commands := []string{"from-spec", "from-args", "inspect", "verify", "validate", "push"}
	for _, tc := range []struct{ word, want string }{
		{"form-spec", "from-spec"},
		{"fromspec", "from-spec"},
		{"FROM_ARGS", "from-args"},
		{"inspcet", "inspect"},
		{"validte", "validate"},
		{"dryrun", ""},
		{"xyz", ""},
		{"", ""},
	} {
		if got := Nearest(tc.word, commands, nil); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
	if got := Nearest("dryrun", []string{"debug", "dry-run", "force"}, nil); got != "dry-run" {
		t.Errorf("Nearest(dryrun) = %q, want dry-run", got)
	}
}
