package imagetest

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrNotFound is wrapped by errors for a 404 answer (unknown manifest, blob
// or repository).
var ErrNotFound = errors.New("not found")

// ErrDigestMismatch is returned when content does not match the digest it
// was asked for.
var ErrDigestMismatch = errors.New("digest mismatch")

// HTTPError is an unexpected answer from the registry.
type HTTPError struct {
	Method string
	URL    string
	Status int
	// Body is the start of the answer's body (the registry's error JSON).
	Body string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.Status, http.StatusText(e.Status), e.Body)
}

// Unwrap returns ErrNotFound for a 404 answer.
func (e *HTTPError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return ErrNotFound
	}
	return nil
}
