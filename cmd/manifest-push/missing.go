package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/manifest-push/manifest-push/internal/suggest"
	"github.com/manifest-push/manifest-push/publish"
)

// missingSource prints a source the registry does not have with what a
// user needs to fix it: the FILE:LINE of its spec entry, and for a source
// given by tag the tags of its repository nearest to it (see
// publish.NearTags).
type missingSource struct {
	*publish.SourceError
}

func (m *missingSource) Error() string {
	msg := m.SourceError.Error()
	if m.Pos.File != "" {
		msg = m.Pos.String() + ": " + msg
	}
	return msg + nearText(m.Near)
}

func (m *missingSource) Unwrap() error { return m.SourceError }

// explainMissing gives each missing source among the failures of a push
// (publish.SourceError with Missing set) the text of missingSource. Other
// failures are left as they are.
func explainMissing(err error) error {
	parts := publish.Errors(err)
	changed := false
	for i, part := range parts {
		if se, ok := part.(*publish.SourceError); ok && se.Missing {
			parts[i], changed = &missingSource{se}, true
		}
	}
	if !changed {
		return err
	}
	return errors.Join(parts...)
}

// nearText says which tags of its repository are near a missing tag, or
// that there are none; nothing when the tags were not listed.
func nearText(n *publish.NearTags) string {
	switch {
	case n == nil:
		return ""
	case n.Count == 0:
		return fmt.Sprintf("; %s has no tags", n.Repository)
	case len(n.Tags) == 0:
		return fmt.Sprintf("; none of the %d tags of %s is near %s", n.Count, n.Repository, suggest.Quote(n.Tag))
	}
	return fmt.Sprintf("; %s has %s %s (is the template or the tag spelled as the images were tagged?)",
		n.Repository, plural(len(n.Tags), "the near tag", "the near tags"), strings.Join(n.Tags, ", "))
}
