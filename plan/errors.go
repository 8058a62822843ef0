package plan

import "errors"

// The planner's errors are *spec.Error values (bad input, found once the
// sources were read), positioned at the entry they are about, that wrap
// spec.ErrInvalidSpec and one of these sentinels (or
// spec.ErrDuplicatePlatform for two entries of one platform, rule P5).
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
