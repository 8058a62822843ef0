package publish

import (
	"errors"
	"reflect"

	"github.com/manifest-push/manifest-push/spec"
)

// ErrNotConverged: an update (spec.Request.Append) kept finding the target tag
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
	// Missing is set when the registry does not have what Source names:
	// no such tag, digest or repository (Err wraps registry.ErrNotFound).
	// A source whose manifest is there but whose config or entries are
	// not is not Missing.
	Missing bool
	// Near is, for a source Missing by tag, what the tag list of its
	// repository offers instead (read during the push); nil for a source
	// by digest, or when the tags could not be listed.
	Near *NearTags
}

// NearTags is what a repository holds near a tag it does not have (a
// template that expands to img:linux-armv7 where the repository has
// linux-arm-v7).
type NearTags struct {
	// Repository is the repository listed, as registry.Repo prints it.
	Repository string
	// Tag is the tag the source names.
	Tag string
	// Count is how many tags the repository has (0: none, or no such
	// repository).
	Count int
	// Tags are its tags nearest to Tag, nearest first, at most
	// maxNearTags; none when no tag is near.
	Tags []string
}

func (e *SourceError) Error() string { return "source " + e.Source + ": " + e.Err.Error() }

func (e *SourceError) Unwrap() error { return e.Err }

// joinType is the type errors.Join returns.
var joinType = reflect.TypeOf(errors.Join(errors.New("")))

// Errors lists the errors an errors.Join made err of, recursively, or err
// itself; none for nil. A type that unwraps to several errors without
// being a join (a registry.Error and its sentinels, a fmt.Errorf with two
// %w) is one error. A caller that reports failures one by one (a line
// each, grouped by cause) splits a Push's error with it.
func Errors(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok || reflect.TypeOf(err) != joinType {
		return []error{err}
	}
	var out []error
	for _, p := range j.Unwrap() {
		out = append(out, Errors(p)...)
	}
	return out
}
