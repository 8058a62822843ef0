package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/internal/suggest"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
)

// maxNearTags is how many near tags a missing source's message names.
const maxNearTags = 3

// missingSource is a source the registry does not have, with where the spec
// gives it and, for a tag, the nearest tags its repository has.
type missingSource struct {
	pos  spec.Pos
	near string
	err  error
}

func (m *missingSource) Error() string {
	msg := m.err.Error()
	if m.pos.File != "" {
		msg = m.pos.String() + ": " + msg
	}
	return msg + m.near
}

func (m *missingSource) Unwrap() error { return m.err }

// explainMissing adds what a user needs to fix a source the registry does
// not have to the failures of a push of s: the FILE:LINE of its spec entry,
// and for a source given by tag the tags of its repository that are
// nearest to it (a template that expands to img:linux-armv7 where the
// repository has linux-arm-v7). Looking for near tags costs one tag list
// per repository, made only when a source is missing. Other failures are
// left as they are.
func explainMissing(ctx context.Context, client *registry.Client, s *spec.Spec, err error) error {
	if err == nil || s == nil || !errors.Is(err, registry.ErrNotFound) {
		return err
	}
	parts := publish.Errors(err)
	tags := map[string][]string{} // repository → its tags, listed once
	changed := false
	for i, part := range parts {
		if !errors.Is(part, registry.ErrNotFound) {
			continue
		}
		ref, ok := strings.CutPrefix(part.Error(), "source ")
		if !ok {
			continue
		}
		ref, _, _ = strings.Cut(ref, ": ")
		for _, e := range s.Manifests {
			if e.Image == nil || e.Image.String() != ref {
				continue
			}
			m := &missingSource{pos: e.Pos, err: part}
			if tagged, ok := e.Image.(reference.Tagged); ok {
				if _, digested := e.Image.(reference.Digested); !digested {
					repo := registry.RepoOf(e.Image)
					list, seen := tags[repo.String()]
					if !seen {
						list, _ = client.ListTags(ctx, repo) // a failure only means no hint
						tags[repo.String()] = list
					}
					m.near = nearTags(repo.String(), tagged.Tag(), list)
				}
			}
			parts[i], changed = m, true
			break
		}
	}
	if !changed {
		return err
	}
	return errors.Join(parts...)
}

// nearTags says which of tags are nearest to tag: those that differ only in
// case and the separators "-", "_" and ".", then those within an edit
// distance of a third of tag's length (at least 2), at most maxNearTags,
// nearest first; or that there are none.
func nearTags(repo, tag string, tags []string) string {
	if len(tags) == 0 {
		return fmt.Sprintf("; %s has no tags", repo)
	}
	type scored struct {
		tag string
		d   int
	}
	limit := max(2, len(tag)/3)
	var near []scored
	want := squashTag(tag)
	for _, t := range tags {
		d := suggest.Distance(want, squashTag(t))
		if d <= limit && t != tag {
			near = append(near, scored{t, d})
		}
	}
	if len(near) == 0 {
		return fmt.Sprintf("; none of the %d tags of %s is near %s", len(tags), repo, suggest.Quote(tag))
	}
	sort.SliceStable(near, func(i, j int) bool { return near[i].d < near[j].d })
	var names []string
	for _, n := range near[:min(len(near), maxNearTags)] {
		names = append(names, n.tag)
	}
	return fmt.Sprintf("; %s has %s %s (is the template or the tag spelled as the images were tagged?)",
		repo, plural(len(names), "the near tag", "the near tags"), strings.Join(names, ", "))
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
