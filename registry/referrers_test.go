package registry

import (
	"net/url"
	"testing"
)

func TestNextPage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		link string
		want url.Values
	}{
		{`</v2/app/tags/list?n=2&last=b>; rel="next"`, url.Values{"n": {"2"}, "last": {"b"}}},
		{`<https://reg.example/v2/app/tags/list?last=b&n=2>; rel="next"`, url.Values{"n": {"2"}, "last": {"b"}}},
		{``, nil},
		{`</v2/app/tags/list?n=2&last=b>; rel="prev"`, nil},
		{`</v2/app/tags/list?n=2>; rel="next"`, nil},
	} {
		got := nextPage(tc.link)
		if got.Encode() != tc.want.Encode() || (got == nil) != (tc.want == nil) {
			t.Errorf("nextPage(%q) = %v, want %v", tc.link, got, tc.want)
		}
	}
}
