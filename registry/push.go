package registry

import (
	"context"

	"github.com/manifest-push/manifest-push/spec"
)

// Push resolves every source of s, builds the index, and writes it with its
// tags to the target repository, as DESIGN.md §6 describes.
func Push(ctx context.Context, s *spec.Spec, opts PushOptions) (*Result, error) {
	panic("TODO")
}

// Inspect reads a manifest or an index.
func Inspect(ctx context.Context, ref string, opts HostOptions) (*Inspection, error) {
	panic("TODO")
}
