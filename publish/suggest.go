package publish

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/internal/suggest"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
)

// maxNearTags is how many near tags NearTags.Tags holds at most.
const maxNearTags = 3

// tagLister lists a repository's tags; registry.Client does. A Registry
// without it gives a missing source no NearTags.
type tagLister interface {
	ListTags(ctx context.Context, r registry.Repo) ([]string, error)
}

// sourceError is the failure of spec entry e, a registry source, to be
// read: a SourceError. When the registry does not have what e names, it is
// Missing; for a source by tag, its repository's tags are listed (one
// request, or a page each, made only for a missing source) and the
// nearest ones attached as Near. A listing that fails only means no Near.
func (rd *reader) sourceError(ctx context.Context, e spec.Entry, err error) *SourceError {
	se := &SourceError{Source: e.Image.String(), Pos: e.Pos, Err: err}
	if !errors.Is(err, registry.ErrNotFound) {
		return se
	}
	se.Missing = true
	tagged, ok := e.Image.(reference.Tagged)
	if _, digested := e.Image.(reference.Digested); !ok || digested {
		return se
	}
	lister, ok := rd.reg.(tagLister)
	if !ok {
		return se
	}
	repo := registry.RepoOf(e.Image)
	tags, lerr := lister.ListTags(ctx, repo)
	if lerr != nil {
		return se
	}
	se.Near = &NearTags{Repository: repo.String(), Tag: tagged.Tag(), Count: len(tags), Tags: nearTags(tagged.Tag(), tags)}
	return se
}

// nearTags are the tags nearest to tag, other than tag itself: those that
// differ only in case and the separators "-", "_" and ".", then those
// within an edit distance of a third of tag's length (at least 2); at most
// maxNearTags, nearest first (ties in the order listed).
func nearTags(tag string, tags []string) []string {
	type scored struct {
		tag string
		d   int
	}
	limit := max(2, len(tag)/3)
	var near []scored
	want := squashTag(tag)
	for _, t := range tags {
		if d := suggest.Distance(want, squashTag(t)); d <= limit && t != tag {
			near = append(near, scored{t, d})
		}
	}
	sort.SliceStable(near, func(i, j int) bool { return near[i].d < near[j].d })
	var names []string
	for _, n := range near[:min(len(near), maxNearTags)] {
		names = append(names, n.tag)
	}
	return names
}

// squashTag lower-cases a tag and drops its separators, so that
// linux-armv7 and linux-arm-v7 compare equal.
func squashTag(t string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == '_' || r == '.':
			return -1
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, t)
}
