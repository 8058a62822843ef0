package platform

import "errors"

var (
	// ErrInvalid is returned for a platform string that cannot be parsed.
	ErrInvalid = errors.New("invalid platform")
	// ErrUnknownOS is returned for an operating system that is not known.
	ErrUnknownOS = errors.New("unknown operating system")
	// ErrUnknownArch is returned for an architecture that is not known.
	ErrUnknownArch = errors.New("unknown architecture")
)
