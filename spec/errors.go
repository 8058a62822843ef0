package spec

import "errors"

// ErrInvalidSpec is wrapped by every error that a spec or from-args input
// produces.
var ErrInvalidSpec = errors.New("invalid spec")

// Error is one problem in a spec, with its position.
type Error struct {
	Pos Pos
	Msg string
	// Err is an underlying sentinel (such as platform.ErrUnknownArch), or nil.
	Err error
}

func (e *Error) Error() string {
	if e.Pos.File == "" {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Unwrap returns ErrInvalidSpec and the underlying error, so that errors.Is
// matches either.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidSpec, e.Err}
	}
	return []error{ErrInvalidSpec}
}

// ErrDuplicatePlatform is wrapped, with ErrInvalidSpec, by the error for two
// entries that give the same normalised platform (rule P5).
var ErrDuplicatePlatform = errors.New("duplicate platform")
