package layout

import "errors"

var (
	// ErrInvalid: the path given is not a usable OCI image layout: it does
	// not exist, cannot be read, is neither a directory nor a tar archive,
	// lacks a valid oci-layout or index.json, or holds a file that does not
	// match its digest or size (that error wraps content.ErrDigestMismatch
	// too).
	ErrInvalid = errors.New("not a usable OCI image layout")
	// ErrAmbiguous: a layout source names no tag or digest, or a tag that
	// several images carry, and the layout holds more than one image.
	ErrAmbiguous = errors.New("more than one image in the layout")
)

// damagedError is a file of the layout that does not match its digest or
// size: it wraps content.ErrDigestMismatch (through err) and ErrInvalid.
type damagedError struct{ err error }

func damaged(err error) error { return &damagedError{err: err} }

func (e *damagedError) Error() string { return e.err.Error() }

func (e *damagedError) Unwrap() []error { return []error{e.err, ErrInvalid} }
