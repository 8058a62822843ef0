package publish

import (
	"errors"
	"fmt"

	"github.com/manifest-push/manifest-push/spec"
)

// ErrLayoutUnwired: a spec entry's source is an OCI image layout
// (spec.Entry.Layout), which the package layout reads but Push does not
// take yet. Push refuses such a spec before any request.
var ErrLayoutUnwired = errors.New("OCI layout sources are not supported by this push yet")

// refuseLayouts refuses a spec with layout sources, naming each, until Push
// reads them through package layout.
func refuseLayouts(s *spec.Spec) error {
	var errs []error
	for _, e := range s.Manifests {
		if e.Layout == nil {
			continue
		}
		if e.Pos.File != "" {
			errs = append(errs, fmt.Errorf("%s: source %s: %w", e.Pos, e.Layout, ErrLayoutUnwired))
		} else {
			errs = append(errs, fmt.Errorf("source %s: %w", e.Layout, ErrLayoutUnwired))
		}
	}
	return errors.Join(errs...)
}
