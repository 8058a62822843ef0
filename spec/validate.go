package spec

import (
	"errors"
	"fmt"
	"slices"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/platform"
)

// Validate checks a spec that was built by hand, or changed after Load or
// FromArgs made it, by the rules they apply: a target with a tag, at least
// one entry, each with a source reference, normalisable platforms, no two
// entries of the same platform, valid extra tags, and no annotations with
// type docker. Errors name the entry's position when it has one, wrap
// ErrInvalidSpec, and are joined. A spec Load or FromArgs returned passes.
func Validate(s *Spec) error { return Check(s, Request{}, nil) }

// ValidateNamed is Validate with the options of a run called in its
// errors as names calls them.
func ValidateNamed(s *Spec, names Names) error { return Check(s, Request{}, names) }

// Check validates s as Validate does, together with what the run asks of
// it (r): the one place where a spec and a request are checked. The
// spec's manifests may be empty for an update that only removes
// platforms; the rules of the completeness gate, by-digest pushes and
// mirrors are checked, and errors call the options of the run as names
// calls them (nil: by their fields, Option.String).
func Check(s *Spec, r Request, names Names) error {
	if s == nil {
		return &Error{Msg: "no spec given"}
	}
	var errs []error
	fail := func(pos Pos, err error, format string, args ...any) {
		errs = append(errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Err: err})
	}
	file := Pos{File: s.Name}
	if err := CheckType(s.Type); err != nil {
		fail(file, nil, "%v", err)
	}
	if s.Target == nil {
		fail(file, nil, "no target: set the target reference, %s", examples["image"])
	}
	for _, t := range s.Tags {
		if err := checkTag(t); err != nil {
			fail(file, nil, "%v", err)
		}
	}
	if err := CheckAnnotations(s.Type, "type"); err != nil && len(s.Annotations) > 0 {
		fail(file, nil, "%v", err)
	}
	if len(s.Manifests) == 0 && !(r.Append && len(r.Remove) > 0) {
		fail(file, nil, `"manifests" is empty: list at least one source image, %s`, examples["manifests"])
	}
	for _, p := range append(slices.Clone(r.Select), r.Remove...) {
		if _, err := platform.Normalize(p); err != nil {
			fail(file, err, "%v", err)
		}
	}
	errs = append(errs, checkWorkflow(s, r, names)...)
	seen := map[string]Entry{}
	for _, e := range s.Manifests {
		pos := e.Pos
		if pos.File == "" {
			pos.File = s.Name
		}
		switch {
		case e.Image == nil && e.Layout == nil:
			fail(pos, nil, "an entry has no source image: set its reference, e.g. registry.example.com/hello:1.0-linux-amd64")
		case e.Image != nil && e.Layout != nil:
			fail(pos, nil, "an entry has both a registry reference (%s) and an OCI layout (%s): give one", familiar(e.Image), e.Layout)
		case e.Layout != nil && e.Layout.Path == "":
			fail(pos, nil, "the OCI layout source %s has no path: write oci-layout:PATH[:TAG|@DIGEST]", e.Layout)
		}
		if err := CheckAnnotations(s.Type, "type"); err != nil && len(e.Annotations) > 0 {
			fail(pos, nil, "%v", err)
		}
		if e.Platform == nil {
			continue
		}
		p, err := platform.Normalize(*e.Platform)
		if err != nil {
			fail(pos, err, "%v", err)
			continue
		}
		if p.OS == "" || p.Architecture == "" || configMayTell(p) {
			continue
		}
		key := platform.DuplicateKey(p, e.Features)
		if prev, dup := seen[key]; dup {
			fail(pos, ErrDuplicatePlatform, "platform %s is also given by %s: an index holds each platform once; remove one entry or correct its platform",
				platform.Format(p), prev.Source())
			continue
		}
		seen[key] = e
	}
	return errors.Join(errs...)
}

func familiar(n reference.Named) string {
	if n == nil {
		return "an entry with no image"
	}
	return reference.FamiliarString(n)
}
