package main

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
)

// Every option the library's messages name has its flag here.
func TestFlagNames(t *testing.T) {
	t.Parallel()
	for o := spec.OptionType; o.String() != "an option"; o++ {
		if flagNames[o] == "" {
			t.Errorf("%s has no flag name", o)
		}
	}
}

// A missing source is printed from the fields of its publish.SourceError:
// the spec position, the message, and what its repository holds instead.
func TestExplainMissing(t *testing.T) {
	t.Parallel()
	notFound := fmt.Errorf("manifest unknown: %w", registry.ErrNotFound)
	pos := spec.Pos{File: "s.yaml", Line: 5, Col: 5}
	missing := func(near *publish.NearTags) *publish.SourceError {
		return &publish.SourceError{Source: "reg.test/src:linux-armv7", Pos: pos, Err: notFound, Missing: true, Near: near}
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"near tags", missing(&publish.NearTags{Repository: "reg.test/src", Tag: "linux-armv7", Count: 4, Tags: []string{"linux-arm-v7", "linux-arm64"}}),
			"error: s.yaml:5:5: source reg.test/src:linux-armv7: manifest unknown: not found; reg.test/src has the near tags linux-arm-v7, linux-arm64 (is the template or the tag spelled as the images were tagged?)\n"},
		{"one near tag", missing(&publish.NearTags{Repository: "reg.test/src", Tag: "linux-armv7", Count: 1, Tags: []string{"linux-arm-v7"}}),
			"error: s.yaml:5:5: source reg.test/src:linux-armv7: manifest unknown: not found; reg.test/src has the near tag linux-arm-v7 (is the template or the tag spelled as the images were tagged?)\n"},
		{"none near", missing(&publish.NearTags{Repository: "reg.test/src", Tag: "linux-armv7", Count: 4}),
			"error: s.yaml:5:5: source reg.test/src:linux-armv7: manifest unknown: not found; none of the 4 tags of reg.test/src is near \"linux-armv7\"\n"},
		{"no tags", missing(&publish.NearTags{Repository: "reg.test/src", Tag: "linux-armv7"}),
			"error: s.yaml:5:5: source reg.test/src:linux-armv7: manifest unknown: not found; reg.test/src has no tags\n"},
		{"not listed", missing(nil),
			"error: s.yaml:5:5: source reg.test/src:linux-armv7: manifest unknown: not found\n"},
		{"a source that is there but failed is left as it is", &publish.SourceError{Source: "reg.test/src:a", Pos: pos, Err: notFound},
			"error: source reg.test/src:a: manifest unknown: not found\n"},
		{"joined, each its own line", errors.Join(missing(nil), errors.New("other")),
			"error: s.yaml:5:5: source reg.test/src:linux-armv7: manifest unknown: not found\nerror: other\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := explainMissing(tc.err)
			var out bytes.Buffer
			printError(&out, err)
			if out.String() != tc.want {
				t.Errorf("printed\n%s\nwant\n%s", out.String(), tc.want)
			}
			if !errors.Is(err, registry.ErrNotFound) || exitCode(err) != exitNotFound {
				t.Errorf("exit code %d, want %d", exitCode(err), exitNotFound)
			}
		})
	}
}
