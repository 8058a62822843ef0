package platform

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that Parse never panics, that its errors wrap one of the
// package's sentinels, and that what it returns is normalised, formats back
// to itself and equals itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"linux/amd64", "linux/arm/v7", "linux/armhf", "windows/amd64:10.0.17763.6189",
		"linux/x86_64", "linux/aarch64/8", "linux/amd46", "linus/amd64", "linux",
		"linux/arm/", "linux/armhf/v6", "windows/amd64:", "a/b/c/d", ":", "/",
		"LINUX/ARM64/V8", "linux/i686", "macos/arm64", "linux/arm64/9.0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnknownOS) && !errors.Is(err, ErrUnknownArch) {
				t.Fatalf("Parse(%q) error %v wraps no sentinel", s, err)
			}
			return
		}
		if p.OS == "" || p.Architecture == "" {
			t.Fatalf("Parse(%q) = %+v without os or architecture", s, p)
		}
		n, err := Normalize(p)
		if err != nil {
			t.Fatalf("Normalize(Parse(%q)): %v", s, err)
		}
		if diff := cmp.Diff(p, n); diff != "" {
			t.Fatalf("Parse(%q) is not normalised (-parsed +normalised):\n%s", s, diff)
		}
		again, err := Parse(Format(p))
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))) = %q: %v", s, Format(p), err)
		}
		if diff := cmp.Diff(p, again); diff != "" {
			t.Fatalf("Parse(%q) does not round-trip through Format (-want +got):\n%s", s, diff)
		}
		if !Equal(p, again) {
			t.Fatalf("Equal(%+v, itself) = false", p)
		}
	})
}
