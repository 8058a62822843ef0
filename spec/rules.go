package spec

import (
	"fmt"
	"slices"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/platform"

	"github.com/manifest-push/manifest-push/internal/suggest"
)

// Types are the index type words, in the order messages list them.
var Types = []IndexType{TypeAuto, TypeOCI, TypeDocker}

// CheckType is the one check of an index type word (the spec's type key,
// the --type flag, a hand-built Spec.Type, the planner's input): empty,
// auto, oci or docker; anything else is an error that suggests the nearest.
func CheckType(t IndexType) error {
	switch t {
	case "", TypeAuto, TypeOCI, TypeDocker:
		return nil
	}
	words := make([]string, len(Types))
	for i, w := range Types {
		words[i] = string(w)
	}
	return fmt.Errorf("unknown type %s%s; use auto, oci or docker", suggest.Quote(string(t)), didYouMean(string(t), words, nil))
}

// ParseType checks a type word the user wrote (the spec's type key, the
// --type flag), where an empty word is no type: the word is returned when
// it is auto, oci or docker; anything else is CheckType's error.
func ParseType(word string) (IndexType, error) {
	if word == "" {
		return "", fmt.Errorf(`unknown type ""; use auto, oci or docker`)
	}
	return IndexType(word), CheckType(IndexType(word))
}

// CheckAnnotations is the one rule of annotations and types: annotations
// (of the index or of an entry) need an OCI index, so a type of docker with
// annotations is an error. given names where the type was given: "type"
// (a spec file's key), "--type" (the flag) or what a caller's Names call
// OptionType, for the fix it suggests.
func CheckAnnotations(typ IndexType, given string) error {
	if typ != TypeDocker {
		return nil
	}
	return fmt.Errorf("annotations need an OCI index, but %s is docker: use %s (or auto), or remove the annotations", given, ociFix(given))
}

// ociFix is how to ask for an OCI index where given ("type" in a spec,
// "--type" on a command line) asked for a Docker list.
func ociFix(given string) string {
	if given == "type" {
		return "type: oci"
	}
	return given + " oci"
}

// ParseMirror parses a mirror reference: a target (a tag, never a digest;
// no tag means latest) other than the main target.
func ParseMirror(ref string, target reference.NamedTagged) (reference.NamedTagged, error) {
	m, err := parseTarget(ref)
	if err != nil {
		return nil, err
	}
	if target != nil && m.String() == target.String() {
		return nil, fmt.Errorf("%s is the target itself: a mirror is another repository or registry", suggest.Quote(ref))
	}
	return m, nil
}

// checkWorkflow checks the rules of the completeness gate and the mirrors
// (docs/rules.md, "Publishing workflows"), naming the options that set
// them as names calls them.
func checkWorkflow(s *Spec, r Request, names Names) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, &Error{Pos: Pos{File: s.Name}, Msg: fmt.Sprintf(format, args...)})
	}
	require, staging, update := names.Of(OptionRequire), names.Of(OptionStagingTag), names.Of(OptionAppend)
	switch {
	case r.ByDigest && len(r.Require) > 0:
		fail("%s moves no tag and %s moves the target tag once the index is complete: give one of them", names.Of(OptionByDigest), require)
	case len(r.Require) > 0 && (!r.Append || r.StagingTag == ""):
		fail("%[1]s needs %[2]s and %[3]s TAG: the jobs of a run merge into the staging tag, and the one that completes it moves the target tag (e.g. %[2]s %[3]s 1.0-run-$RUN_ID)", require, update, staging)
	case r.StagingTag != "" && len(r.Require) == 0:
		fail("%s is for the completeness gate: give the platforms the index must hold with %s", staging, require)
	}
	if r.StagingTag != "" {
		if err := checkTag(r.StagingTag); err != nil {
			fail("%s: %v", staging, err)
		} else if s.Target != nil && (r.StagingTag == s.Target.Tag() || slices.Contains(s.Tags, r.StagingTag)) {
			fail("%s %s is a tag the index is published under: give the run its own tag, e.g. %s-run-$RUN_ID", staging, r.StagingTag, r.StagingTag)
		}
	}
	for _, p := range r.Require {
		if _, err := platform.Normalize(p); err != nil {
			fail("%s: %v", require, err)
		}
	}
	seen := map[string]bool{}
	for _, m := range r.AllMirrors(s) {
		switch {
		case m == nil:
			fail("a mirror has no reference")
		case s.Target != nil && m.String() == s.Target.String():
			fail("mirror %s is the target itself: a mirror is another repository or registry", m)
		case seen[m.String()]:
			fail("mirror %s is given twice", m)
		default:
			seen[m.String()] = true
		}
	}
	return errs
}
