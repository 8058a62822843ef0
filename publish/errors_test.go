package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestErrors(t *testing.T) {
	t.Parallel()
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	reg := &registry.Error{Method: "GET", URL: "https://reg.example/v2/img/manifests/1", StatusCode: 404}
	two := fmt.Errorf("%w and %w", a, b)
	for _, tc := range []struct {
		name string
		err  error
		want []error
	}{
		{"nil", nil, nil},
		{"one", a, []error{a}},
		{"a join of one", errors.Join(a), []error{a}},
		{"nested joins, in order", errors.Join(a, errors.Join(b, c)), []error{a, b, c}},
		{"a join of a wrapped join is not split further", errors.Join(a, fmt.Errorf("x: %w", errors.Join(b, c))), []error{a, fmt.Errorf("x: %w", errors.Join(b, c))}},
		{"a registry error unwrapping to its sentinels is one", reg, []error{reg}},
		{"two %w is one", two, []error{two}},
		{"a source error in a join", errors.Join(&SourceError{Source: "s", Err: a}, b), []error{&SourceError{Source: "s", Err: a}, b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Errors(tc.err)
			same := func(x, y error) bool { return x == y || x != nil && y != nil && x.Error() == y.Error() }
			if !slices.EqualFunc(got, tc.want, same) {
				t.Errorf("Errors(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

// Push's errors name the options of the run by their fields, or as
// Options.Names calls them.
func TestOptionNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	update := testSpec(t, "reg.test/app:1", nil)
	updating := spec.Request{Append: true, Remove: []ocispec.Platform{amd}}
	gate := testSpec(t, "reg.test/app:1", nil, "reg.test/src:a")
	gated := spec.Request{Append: true, Require: []ocispec.Platform{amd}, StagingTag: "1-run-1", ByDigest: true}
	flags := spec.Names{spec.OptionAppend: "--append", spec.OptionByDigest: "--by-digest", spec.OptionRequire: "--require"}
	for _, tc := range []struct {
		name string
		spec *spec.Spec
		opts Options
		want string
		is   error
	}{
		{"an update of no tag", update, Options{Request: updating},
			"reg.test/app:1: not found: Request.Append with no sources takes platforms out of what the target tag holds, and the tag does not exist; check the target's name and tag", registry.ErrNotFound},
		{"an update of no tag, by flag", update, Options{Request: updating, Names: flags},
			"reg.test/app:1: not found: --append with no sources takes platforms out of what the target tag holds, and the tag does not exist; check the target's name and tag", registry.ErrNotFound},
		{"by digest with the gate", gate, Options{Request: gated},
			"test: Request.ByDigest moves no tag and Request.Require moves the target tag once the index is complete: give one of them", spec.ErrInvalidSpec},
		{"by digest with the gate, by flag", gate, Options{Request: gated, Names: flags},
			"test: --by-digest moves no tag and --require moves the target tag once the index is complete: give one of them", spec.ErrInvalidSpec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Push(ctx, newFake(), tc.spec, tc.opts)
			if err == nil || err.Error() != tc.want || !errors.Is(err, tc.is) {
				t.Errorf("err = %v\nwant %s (%v)", err, tc.want, tc.is)
			}
		})
	}
}
