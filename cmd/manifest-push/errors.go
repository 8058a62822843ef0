package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
)

// exitCode maps an error to the exit codes of DESIGN.md §7.
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
// message, which errors.Join makes one per joined error.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(strings.TrimSpace(err.Error()), "\n") {
		fmt.Fprintf(w, "error: %s\n", line)
	}
}
