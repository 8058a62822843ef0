package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/manifest-push/manifest-push/layout"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/publish"
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
		errors.Is(err, registry.ErrDockerConfig),
		errors.Is(err, layout.ErrInvalid),
		errors.Is(err, layout.ErrAmbiguous),
		errors.Is(err, platform.ErrInvalid),
		errors.Is(err, platform.ErrUnknownOS),
		errors.Is(err, platform.ErrUnknownArch):
		return exitInvalid
	case errors.Is(err, publish.ErrDamaged):
		return exitDamaged
	case errors.Is(err, registry.ErrImmutableTag), errors.Is(err, registry.ErrNoRepository):
		// The registry refused a write for a reason of its own settings
		// (Docker Hub answers an immutable tag 403, Harbor a missing
		// project 401): the credentials are fine.
		return exitRegistry
	case errors.Is(err, registry.ErrUnauthorized):
		return exitUnauthorized
	case errors.Is(err, registry.ErrNotFound):
		return exitNotFound
	default:
		return exitRegistry
	}
}

// maxErrorLines caps the error lines one failure prints; the rest are
// counted.
const maxErrorLines = 20

// printError writes err to stderr: "error: " and one line per line of the
// message, which errors.Join makes one per joined error, escaped (escape).
// Joined failures with the same cause (the same registry answer from the
// same host, such as a plain-HTTP registry answering every source) are
// printed once, with how many more it hit; at most maxErrorLines lines are
// printed, then a count. Last, once each, the fix for every cause the
// registry errors in it name.
func printError(w io.Writer, err error) {
	var lines []string
	for _, g := range groupErrors(err) {
		lines = append(lines, strings.Split(strings.TrimSpace(g.first.Error()), "\n")...)
		if n := len(g.others); n > 0 {
			shown := g.others[:min(n, 3)]
			line := fmt.Sprintf("the same failure for %d more: %s", n, strings.Join(shown, "; "))
			if n > len(shown) {
				line += fmt.Sprintf("; and %d more", n-len(shown))
			}
			lines = append(lines, line)
		}
	}
	for i, line := range lines {
		if i == maxErrorLines {
			fmt.Fprintf(w, "error: ... and %d more lines\n", len(lines)-maxErrorLines)
			break
		}
		fmt.Fprintf(w, "error: %s\n", escape(line))
	}
	for _, h := range hints(err) {
		if fix := hintFix(h); fix != "" {
			fmt.Fprintf(w, "hint: %s\n", escape(fix))
		}
	}
}

// jsonError is the JSON output of a command that failed as a whole.
type jsonError struct {
	Error    string   `json:"error"`
	ExitCode int      `json:"exitCode"`
	Hints    []string `json:"hints,omitempty"`
}

// printJSONError writes err to stdout as one JSON line (with --output json).
func printJSONError(w io.Writer, err error) {
	out := jsonError{Error: err.Error(), ExitCode: exitCode(err)}
	for _, h := range hints(err) {
		if fix := hintFix(h); fix != "" {
			out.Hints = append(out.Hints, fix)
		}
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		return
	}
	fmt.Fprintf(w, "%s\n", b)
}

// errorGroup is one cause: the first failure it was seen in, and what else
// it hit (each named by its subject).
type errorGroup struct {
	first  error
	others []string
}

// groupErrors splits the joined failures of err and puts together those
// whose registry error is the same answer from the same host.
func groupErrors(err error) []*errorGroup {
	var groups []*errorGroup
	byKey := map[string]*errorGroup{}
	for _, e := range publish.Errors(err) {
		re, ok := errors.AsType[*registry.Error](e)
		if !ok {
			groups = append(groups, &errorGroup{first: e})
			continue
		}
		key := cause(re)
		if g := byKey[key]; g != nil {
			g.others = append(g.others, subject(e, re))
			continue
		}
		g := &errorGroup{first: e}
		byKey[key] = g
		groups = append(groups, g)
	}
	return groups
}

// subject names what a failure was about: the source it read, else the
// request that failed.
func subject(e error, re *registry.Error) string {
	if se, ok := errors.AsType[*publish.SourceError](e); ok {
		return "source " + se.Source
	}
	return re.Method + " " + re.Path
}

// cause is what makes two registry errors the same failure: the host and
// the hint when there is one (a HEAD and a GET refused for want of
// credentials are one cause, though only the GET has a body to say so);
// else the host, the status, the registry's codes and messages, and the
// transport error.
func cause(e *registry.Error) string {
	if e.Hint != registry.HintNone {
		return fmt.Sprintf("%s\x00hint %d", e.Host, e.Hint)
	}
	transport := ""
	if e.Err != nil {
		// A transport error may name the path it failed for: the same
		// failure on another path is the same cause.
		transport = strings.ReplaceAll(e.Err.Error(), e.Path, "")
	}
	return fmt.Sprintf("%s\x00%d\x00%q\x00%q\x00%s", e.Host, e.StatusCode, e.Codes, e.Messages, transport)
}

// flagNames call the options of a run (spec.Option) by the flags that set
// them, in what the library says of them (its errors and warnings).
var flagNames = spec.Names{
	spec.OptionType:            "--type",
	spec.OptionAppend:          "--append",
	spec.OptionRemove:          "--remove",
	spec.OptionSelect:          "--platforms",
	spec.OptionSourcePlatforms: "--desc-platform with from-args",
	spec.OptionStrictPlatform:  "--strict-platform",
	spec.OptionRequire:         "--require",
	spec.OptionStagingTag:      "--staging-tag",
	spec.OptionByDigest:        "--by-digest",
	spec.OptionCreated:         sourceDateEpochVar,
}

// hint is a registry.Hint and the host it came from.
type hint struct {
	registry.Hint
	host string
}

// hintFix is what the user can do about a hint, in flags.
func hintFix(h hint) string {
	switch h.Hint {
	case registry.HintPlainHTTP:
		return fmt.Sprintf("%s speaks plain HTTP: try --plain-http-host %s (or --plain-http for every registry)", h.host, h.host)
	case registry.HintTLS:
		return fmt.Sprintf("give the CA of %s with --certs-dir, or skip verification for it with --insecure-host %s", h.host, h.host)
	case registry.HintIndexType:
		return "the registry does not take OCI indexes: try --type docker"
	case registry.HintNoCredentials:
		return fmt.Sprintf("%s wants credentials: log in with docker login %s, or give --username with --password-stdin (flags are for the target's registry)", h.host, h.host)
	case registry.HintOCIOnly:
		return h.Hint.String()
	}
	return ""
}

// hints lists the distinct hints of the registry errors in err's tree, in
// the order first met.
func hints(err error) []hint {
	var out []hint
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*registry.Error); ok && e.Hint != registry.HintNone {
			h := hint{Hint: e.Hint, host: e.Host}
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
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
