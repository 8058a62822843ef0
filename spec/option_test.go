package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/distribution/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The workflow rules name the options as the caller calls them: Validate
// by their fields, ValidateNamed by the names given, FromArgs by its
// flags.
func TestWorkflowNames(t *testing.T) {
	t.Parallel()
	target, err := reference.ParseNormalizedNamed("reg.example/img:1.0")
	if err != nil {
		t.Fatal(err)
	}
	src, err := reference.ParseNormalizedNamed("reg.example/img:amd64")
	if err != nil {
		t.Fatal(err)
	}
	s := &Spec{Name: "s", Target: target.(reference.NamedTagged), Manifests: []Entry{{Image: src}}}
	req := func(stagingTag string, appendTo bool, require ...ocispec.Platform) Request {
		return Request{Append: appendTo, Require: require, StagingTag: stagingTag}
	}
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	flags := Names{OptionRequire: "--require", OptionAppend: "--append", OptionStagingTag: "--staging-tag"}
	for _, tc := range []struct {
		name  string
		req   Request
		names Names
		want  string
	}{
		{"require without append, by field", req("1.0-run-1", false, amd), nil,
			"s: Request.Require needs Request.Append and Request.StagingTag TAG: the jobs of a run merge into the staging tag, and the one that completes it moves the target tag (e.g. Request.Append Request.StagingTag 1.0-run-$RUN_ID)"},
		{"require without append, by flag", req("1.0-run-1", false, amd), flags,
			"s: --require needs --append and --staging-tag TAG: the jobs of a run merge into the staging tag, and the one that completes it moves the target tag (e.g. --append --staging-tag 1.0-run-$RUN_ID)"},
		{"staging tag without require", req("1.0-run-1", true), nil,
			"s: Request.StagingTag is for the completeness gate: give the platforms the index must hold with Request.Require"},
		{"staging tag is the target tag", req("1.0", true, amd), flags,
			"s: --staging-tag 1.0 is a tag the index is published under: give the run its own tag, e.g. 1.0-run-$RUN_ID"},
		{"bad staging tag", req("a b", true, amd), nil, "s: Request.StagingTag: "},
		{"bad required platform", req("1.0-run-1", true, ocispec.Platform{OS: "linx", Architecture: "amd64"}), flags, "s: --require: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(s, tc.req, tc.names)
			if !errors.Is(err, ErrInvalidSpec) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
			if tc.names == nil && strings.Contains(err.Error(), "--") {
				t.Errorf("err = %v names a flag", err)
			}
		})
	}

	_, _, err = FromArgs(Args{Target: "reg.example/img:1.0", Sources: []string{"reg.example/img:amd64"}, Require: []string{"linux/amd64"}, StagingTag: "1.0-run-1"})
	if want := "--require needs --append and --staging-tag TAG"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("FromArgs: %v, want %q", err, want)
	}
}
