package publish

import (
	"errors"

	"github.com/manifest-push/manifest-push/spec"
)

// ErrNotConverged: an update (spec.Spec.Append) kept finding the target tag
// replaced by other writers without its entries, and gave up after its
// bounded rounds; the tag may lack them. A rerun merges them in.
var ErrNotConverged = errors.New("concurrent updates did not converge")

// SourceError is a failure of one source: which (its reference, and where
// the spec gives it) and why. The CLI names the source and its position
// from these fields.
type SourceError struct {
	// Source names it: its reference, or its oci-layout: form.
	Source string
	Pos    spec.Pos
	Err    error
}

func (e *SourceError) Error() string { return "source " + e.Source + ": " + e.Err.Error() }

func (e *SourceError) Unwrap() error { return e.Err }
