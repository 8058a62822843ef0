package spec

import (
	"fmt"
	"regexp"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/internal/suggest"
)

// mediaTypeRE is a media type as RFC 6838 writes one (type "/" subtype,
// restricted names), which an artifactType must be.
var mediaTypeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`)

// CheckArtifactType checks an index's artifactType: a media type.
func CheckArtifactType(t string) error {
	if !mediaTypeRE.MatchString(t) {
		return fmt.Errorf("%s is not a media type: write TYPE/SUBTYPE, e.g. application/vnd.example.package.v1+tar", suggest.Quote(t))
	}
	return nil
}

// ParseSubject parses the reference of the manifest an artifact index
// refers to: a tag (no tag means latest) or a digest.
func ParseSubject(s string) (reference.Named, error) {
	ref, err := parseSource(s)
	if err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	return ref, nil
}

// CheckArtifact refuses an artifact index (artifactType, subject) in a
// Docker manifest list, which has no place for either; given names where
// the type was given ("type" in a spec, "--type" on a command line).
func CheckArtifact(typ IndexType, given string) error {
	if typ != TypeDocker {
		return nil
	}
	return fmt.Errorf("an artifact index needs an OCI index, but %s is docker: use %s (or auto), or remove it", given, ociFix(given))
}
