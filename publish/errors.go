package publish

import "errors"

// ErrNotConverged: an update (spec.Spec.Append) kept finding the target tag
// replaced by other writers without its entries, and gave up after its
// bounded rounds; the tag may lack them. A rerun merges them in.
var ErrNotConverged = errors.New("concurrent updates did not converge")
