package layout

import "errors"

var (
	// ErrInvalid: the path given is not a usable OCI image layout: it does
	// not exist, cannot be read, is neither a directory nor a tar archive,
	// or lacks a valid oci-layout or index.json.
	ErrInvalid = errors.New("not a usable OCI image layout")
	// ErrAmbiguous: a layout source names no tag or digest, or a tag that
	// several images carry, and the layout holds more than one image.
	ErrAmbiguous = errors.New("more than one image in the layout")
)
