package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
)

// exitCode maps an error to the exit codes of the README ("Exit codes").
func exitCode(err error) int {
	var usage *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage),
		errors.Is(err, spec.ErrInvalidSpec),
		errors.Is(err, registry.ErrInvalidReference),
		errors.Is(err, platform.ErrInvalid),
		errors.Is(err, platform.ErrUnknownOS),
		errors.Is(err, platform.ErrUnknownArch):
		return exitInvalid
	case errors.Is(err, registry.ErrUnauthorized):
		return exitUnauthorized
	case errors.Is(err, registry.ErrNotFound):
		return exitNotFound
	default:
		return exitRegistry
	}
}

// printError writes err to w: "error: " and one line per line of the
// message, which errors.Join makes one per joined error; then, once each,
// the fix for every cause the registry errors in it name.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(strings.TrimSpace(err.Error()), "\n") {
		fmt.Fprintf(w, "error: %s\n", line)
	}
	for _, h := range hints(err) {
		if fix := hintFix(h); fix != "" {
			fmt.Fprintf(w, "hint: %s\n", fix)
		}
	}
}

// hintFix is what the user can do about a registry.Hint, in flags.
func hintFix(h registry.Hint) string {
	switch h {
	case registry.HintPlainHTTP:
		return "the registry speaks plain HTTP: try --plain-http"
	case registry.HintTLS:
		return "give the registry's CA with --certs-dir, or skip verification with --insecure"
	case registry.HintIndexType:
		return "the registry does not take OCI indexes: try --type docker"
	}
	return ""
}

// hints lists the distinct hints of the registry errors in err's tree, in
// the order first met.
func hints(err error) []registry.Hint {
	var out []registry.Hint
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*registry.Error); ok && e.Hint != registry.HintNone && !slices.Contains(out, e.Hint) {
			out = append(out, e.Hint)
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if next := u.Unwrap(); next != nil {
				walk(next)
			}
		case interface{ Unwrap() []error }:
			for _, next := range u.Unwrap() {
				walk(next)
			}
		}
	}
	walk(err)
	return out
}
