package plan

import (
	"errors"

	"github.com/manifest-push/manifest-push/spec"
)

var (
	// ErrPlatformMismatch: the image config disagrees with the spec and
	// strict platform checks are on (P2).
	ErrPlatformMismatch = errors.New("platform mismatch")
	// ErrDuplicateDigest: two platforms share one manifest digest and strict
	// platform checks are on (P5).
	ErrDuplicateDigest = errors.New("same manifest for two platforms")
	// ErrMissingPlatform: neither the spec nor the config gives os and
	// architecture (P1).
	ErrMissingPlatform = errors.New("missing platform")
	// ErrNoPlatformMatch: an index source has no entry for the spec's
	// platform (P4).
	ErrNoPlatformMatch = errors.New("no entry for the platform")
	// ErrMediaType: the requested index type cannot hold the entries or the
	// annotations (--type docker with OCI content).
	ErrMediaType = errors.New("media type conflict")
	// ErrEmpty: no entries remain (every source missing).
	ErrEmpty = errors.New("no entries")
)

// Error is a problem of one source found once it was read. It matches
// spec.ErrInvalidSpec as well as its own sentinel (or spec.ErrDuplicatePlatform
// for two entries of one platform, rule P5): it is bad input, found late.
type Error struct {
	Pos spec.Pos
	Msg string
	Err error
}

func (e *Error) Error() string {
	if e.Pos.File == "" {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Unwrap returns spec.ErrInvalidSpec and the sentinel.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{spec.ErrInvalidSpec}
	}
	return []error{spec.ErrInvalidSpec, e.Err}
}
