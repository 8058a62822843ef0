package publish

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/manifest-push/manifest-push/registry"
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
