package registry

import "errors"

var (
	// ErrNotFound: the registry says a repository, manifest or blob does
	// not exist (404, NAME_UNKNOWN, MANIFEST_UNKNOWN).
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: authentication or authorisation was refused (401, 403).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrDigestMismatch: content read from a registry does not match its
	// digest or size.
	ErrDigestMismatch = errors.New("digest mismatch")
)
