package spec

import (
	"fmt"

	"github.com/manifest-push/manifest-push/internal/suggest"
)

// Types are the index type words, in the order messages list them.
var Types = []string{TypeAuto, TypeOCI, TypeDocker}

// CheckType is the one check of an index type word (the spec's type key,
// the --type flag, a hand-built Spec.Type, the planner's input): empty,
// auto, oci or docker; anything else is an error that suggests the nearest.
func CheckType(t string) error {
	switch t {
	case "", TypeAuto, TypeOCI, TypeDocker:
		return nil
	}
	return fmt.Errorf("unknown type %s%s; use auto, oci or docker", suggest.Quote(t), didYouMean(t, Types, nil))
}

// ParseType checks a type word the user wrote (the spec's type key, the
// --type flag), where an empty word is no type: the word is returned when
// it is auto, oci or docker; anything else is CheckType's error.
func ParseType(word string) (string, error) {
	if word == "" {
		return "", fmt.Errorf(`unknown type ""; use auto, oci or docker`)
	}
	return word, CheckType(word)
}

// CheckAnnotations is the one rule of annotations and types: annotations
// (of the index or of an entry) need an OCI index, so a type of docker with
// annotations is an error. given names where the type was given: "type"
// (a spec file's key) or "--type" (the flag), for the fix it suggests.
func CheckAnnotations(typ, given string) error {
	if typ != TypeDocker {
		return nil
	}
	fix := "type: oci"
	if given != "type" {
		fix = given + " oci"
	}
	return fmt.Errorf("annotations need an OCI index, but %s is docker: use %s (or auto), or remove the annotations", given, fix)
}
