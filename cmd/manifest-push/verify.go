package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/manifest-push/manifest-push/publish"
	"github.com/urfave/cli/v2"
)

// verifyAction checks an index (publish.Verify) and says what it found:
// exit 0 whole, 5 damaged (each problem named), 1 when it could not check.
func verifyAction(c *cli.Context, std streams) error {
	rc, err := newRefCommand(c, std, "verify")
	if err != nil {
		return err
	}
	defer rc.cancel()
	ctx, g := rc.ctx, rc.g
	v, err := publish.Verify(ctx, rc.client, rc.ref, publish.VerifyOptions{Blobs: c.Bool("blobs"), Signed: c.Bool("signed")})
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
		for _, a := range v.Unsigned {
			fmt.Fprintf(std.out, "unsigned: %s\n", escape(a))
		}
		if !g.quiet {
			for _, n := range v.Notes {
				fmt.Fprintf(std.err, "note: %s\n", escape(n))
			}
		}
		state := "whole"
		switch {
		case len(v.Problems) > 0:
			state = fmt.Sprintf("DAMAGED, %d problem(s)", len(v.Problems))
		case len(v.Unsigned) > 0:
			state = fmt.Sprintf("UNSIGNED, %d manifest(s) without a signature", len(v.Unsigned))
		}
		blobs := ""
		if c.Bool("blobs") {
			blobs = fmt.Sprintf(", %d blobs", v.Blobs)
		}
		if c.Bool("signed") {
			blobs += fmt.Sprintf(", %d signed", v.Signed)
		}
		fmt.Fprintf(std.out, "%s@%s: %s (%d entries%s checked)\n", escape(v.Ref), v.Digest, state, v.Entries, blobs)
		if v.Repair != "" {
			fmt.Fprintf(std.err, "hint: %s\n", v.Repair)
		}
	}
	if err != nil {
		return &reported{code: exitDamaged}
	}
	return nil
}
