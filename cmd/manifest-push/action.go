package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// actionCommand is the GitHub Action's entry point (action.yml runs the
// image with it): it reads the action's inputs from the INPUT_* variables
// a runner sets, runs from-spec or from-args with --output json (the
// password on standard input, never on the command line), prints the JSON
// lines to the log, and writes the outputs digest (the last index's) and
// json (every line) to the $GITHUB_OUTPUT file. Its exit code is the
// push's.
//
// Inputs: spec (spec files, whitespace-separated), args (from-args
// arguments, whitespace-separated, instead of spec), registry (the value of
// ${REGISTRY} in the spec), username, password, options (more flags, such
// as --type oci or --tags 1,latest, whitespace-separated), sign ("true"
// adds --sign: the index and every child signed with cosign, found on
// PATH, before any tag moves; "false" or empty adds nothing).
func actionCommand(std streams) *cli.Command {
	return &cli.Command{
		Name:   "github-action",
		Usage:  "run as the GitHub Action (inputs from INPUT_* variables, outputs to $GITHUB_OUTPUT)",
		Hidden: true,
		Action: func(c *cli.Context) error { return githubAction(c, std) },
	}
}

func githubAction(c *cli.Context, std streams) error {
	getenv := std.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	input := func(name string) string { return strings.TrimSpace(getenv("INPUT_" + strings.ToUpper(name))) }
	specs, args := strings.Fields(input("spec")), strings.Fields(input("args"))
	switch {
	case len(specs) > 0 && len(args) > 0:
		return usagef("the action's inputs spec and args are both given: give one of them")
	case len(specs) == 0 && len(args) == 0:
		return usagef("the action needs the input spec (spec files) or args (from-args arguments)")
	}
	var sign bool
	switch v := input("sign"); v {
	case "true":
		sign = true
	case "false", "":
	default:
		return usagef("the action's input sign is %q: give true or false (cosign's own arguments go in options, as --sign-arg)", escape(v))
	}
	outputFile := getenv("GITHUB_OUTPUT")
	if outputFile == "" {
		return usagef("GITHUB_OUTPUT is not set: the action runs under a GitHub Actions runner")
	}

	line := append([]string{"manifest-push"}, strings.Fields(input("options"))...)
	if sign {
		line = append(line, "--sign")
	}
	line = append(line, "--output", "json")
	password := getenv("INPUT_PASSWORD")
	if u := input("username"); u != "" {
		line = append(line, "--username", u)
	}
	if password != "" {
		line = append(line, "--password-stdin")
	}
	if len(specs) > 0 {
		line = append(append(line, "from-spec"), specs...)
	} else {
		line = append(append(line, "from-args"), args...)
	}

	inner := std
	inner.in = strings.NewReader(password)
	var out bytes.Buffer
	inner.out = &out
	if registry := input("registry"); registry != "" {
		lookup := std.lookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		inner.lookupEnv = func(name string) (string, bool) {
			if name == "REGISTRY" {
				return registry, true
			}
			return lookup(name)
		}
	}
	code := runWith(c.Context, inner, line)
	if _, err := std.out.Write(out.Bytes()); err != nil {
		return err
	}
	if err := writeOutputs(outputFile, out.Bytes()); err != nil {
		fmt.Fprintf(std.err, "error: writing the action's outputs to %s: %v\n", outputFile, err)
		return &reported{code: max(code, exitRegistry)}
	}
	if code != exitOK {
		return &reported{code: code}
	}
	return nil
}

// writeOutputs appends the outputs digest and json to the $GITHUB_OUTPUT
// file, the multi-line one between a random delimiter that the value
// cannot contain.
func writeOutputs(path string, jsonLines []byte) error {
	var digest string
	for _, l := range strings.Split(strings.TrimSpace(string(jsonLines)), "\n") {
		var r struct {
			Digest string `json:"digest"`
		}
		if json.Unmarshal([]byte(l), &r) == nil && r.Digest != "" {
			digest = r.Digest
		}
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	delim := "manifest-push-" + hex.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "digest=%s\njson<<%s\n%s\n%s\n", digest, delim, strings.TrimRight(string(jsonLines), "\n"), delim)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
