package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/urfave/cli/v2"
)

// validateFlags are validate's own flags: the global options that mean
// something without a registry, with what they mean to validate. It takes
// the other global options too (globalFlags), and ignores them.
func validateFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the errors: no line per valid file"},
	}
}

// validateFlagNames names validateFlags.
func validateFlagNames() []string {
	var names []string
	for _, f := range validateFlags() {
		names = append(names, f.Names()[0])
	}
	return names
}

// validateProblem is one problem of a spec in validate's JSON output.
type validateProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Message string `json:"message"`
}

// validateLine is one spec file's line of validate's JSON output.
type validateLine struct {
	Spec     string            `json:"spec"`
	Valid    bool              `json:"valid"`
	Target   string            `json:"target,omitempty"`
	Entries  int               `json:"entries"`
	Problems []validateProblem `json:"problems"`
}

// validateAction checks spec files with every rule that needs no registry:
// the checks spec.Load applies when from-spec reads a file (syntax, unknown
// and duplicate keys, ${VAR} references, target and source references,
// tags, platforms and their aliases, rule P1 for the platforms the spec
// gives, rule P5 among them, annotations and the index type), then
// spec.Validate. What only the images can tell (a config's platform, P2–P4,
// whether a source exists) is left to --dry-run. It exits 0 when every
// file is valid, 2 otherwise, and writes nothing anywhere.
func validateAction(c *cli.Context, std streams) error {
	files := c.Args().Slice()
	if len(files) == 0 {
		return usagef("validate needs at least one spec file (- reads standard input), e.g. manifest-push validate manifest.yaml")
	}
	asJSON, err := readOutput(c)
	if err != nil {
		return err
	}
	stdin := 0
	for _, f := range files {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return usagef("standard input can be read once: give - as one spec")
	}
	bad := 0
	for _, f := range files {
		var s *spec.Spec
		var err error
		if f == "-" {
			s, err = spec.Load("-", std.in, spec.LoadOptions{LookupEnv: std.lookupEnv})
		} else {
			s, err = spec.LoadFile(f, spec.LoadOptions{LookupEnv: std.lookupEnv})
		}
		if err == nil {
			err = spec.Validate(s)
		}
		if err != nil {
			bad++
		}
		line := validateLine{Spec: f, Valid: err == nil, Problems: []validateProblem{}}
		if s != nil {
			line.Entries = len(s.Manifests)
			if s.Target != nil {
				line.Target = s.Target.String()
			}
		}
		if err != nil {
			for _, e := range publish.Errors(err) {
				p := validateProblem{Message: e.Error()}
				var se *spec.Error
				if errors.As(e, &se) {
					p = validateProblem{File: se.Pos.File, Line: se.Pos.Line, Col: se.Pos.Col, Message: se.Msg}
				}
				line.Problems = append(line.Problems, p)
			}
		}
		switch {
		case asJSON:
			b, merr := json.Marshal(line)
			if merr != nil {
				return merr
			}
			fmt.Fprintf(std.out, "%s\n", b)
		case err != nil:
			printError(std.err, err)
		case !c.Bool("quiet"):
			fmt.Fprintf(std.out, "%s: valid: %s, %d %s\n", escape(f), escape(line.Target), line.Entries, plural(line.Entries, "entry", "entries"))
		}
	}
	if bad > 0 {
		if !asJSON && len(files) > 1 {
			fmt.Fprintf(std.err, "error: %d of the %d spec files given %s invalid\n", bad, len(files), plural(bad, "is", "are"))
		}
		return &reported{code: exitInvalid}
	}
	return nil
}
