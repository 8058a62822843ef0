package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/urfave/cli/v2"
)

// verifyAction checks an index (publish.Verify) and says what it found:
// exit 0 whole, 5 damaged (each problem named), 1 when it could not check.
func verifyAction(c *cli.Context, std streams) error {
	if c.NArg() != 1 {
		return usagef("verify needs one reference, such as registry.example.com/hello:1.0")
	}
	g, err := readGlobals(c, std)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, g.timeout)
	defer cancel()
	ctx = withLogger(ctx, g, std.err)
	ref := c.Args().First()
	var targets []string
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		targets = append(targets, reference.Domain(named))
	}
	v, err := publish.Verify(ctx, g.client(targets), ref, publish.VerifyOptions{Blobs: c.Bool("blobs")})
	if err != nil && !errors.Is(err, publish.ErrDamaged) {
		return annotateTimeout(ctx, err, g)
	}
	if g.json {
		b, merr := json.Marshal(v)
		if merr != nil {
			return merr
		}
		fmt.Fprintf(std.out, "%s\n", b)
	} else {
		for _, p := range v.Problems {
			fmt.Fprintf(std.out, "damaged: %s\n", escape(p))
		}
		if !g.quiet {
			for _, n := range v.Notes {
				fmt.Fprintf(std.err, "note: %s\n", escape(n))
			}
		}
		state := "whole"
		if !v.Whole() {
			state = fmt.Sprintf("DAMAGED, %d problem(s)", len(v.Problems))
		}
		blobs := ""
		if c.Bool("blobs") {
			blobs = fmt.Sprintf(", %d blobs", v.Blobs)
		}
		fmt.Fprintf(std.out, "%s@%s: %s (%d entries%s checked)\n", escape(v.Ref), v.Digest, state, v.Entries, blobs)
	}
	if err != nil {
		return &reported{code: exitDamaged}
	}
	return nil
}
