package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/urfave/cli/v2"
)

func inspectAction(c *cli.Context, std streams) error {
	if c.NArg() != 1 {
		return usagef("inspect needs one reference, such as registry.example.com/hello:1.0")
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
	in, err := publish.Inspect(ctx, g.client(targets), ref)
	if err != nil {
		return annotateTimeout(ctx, err, g)
	}
	switch {
	case c.Bool("raw"):
		_, err = fmt.Fprintf(std.out, "%s\n", in.Raw)
	case g.json:
		var b []byte
		b, err = json.Marshal(in)
		if err == nil {
			_, err = fmt.Fprintf(std.out, "%s\n", b)
		}
	default:
		err = printInspection(std, in)
	}
	return err
}

// printInspection prints an inspection as two aligned tables, every value
// from the registry escaped, and no line ending in spaces.
func printInspection(std streams, in *publish.Inspection) error {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Name:\t%s\n", escape(in.Ref))
	fmt.Fprintf(w, "MediaType:\t%s\n", escape(in.MediaType))
	fmt.Fprintf(w, "Digest:\t%s\n", in.Digest)
	fmt.Fprintf(w, "Size:\t%d\n", in.Size)
	for _, kv := range sortedPairs(in.Annotations) {
		fmt.Fprintf(w, "Annotation:\t%s\n", kv)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(&buf)
	w = tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PLATFORM\tDIGEST\tSIZE\tMEDIA TYPE\tANNOTATIONS")
	for _, m := range in.Manifests {
		p := m.Platform
		if p == "" {
			p = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", escape(p), escape(m.Digest.String()), m.Size, escape(m.MediaType), strings.Join(sortedPairs(m.Annotations), ","))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := fmt.Fprintln(std.out, strings.TrimRight(line, " \n")); err != nil {
			return err
		}
	}
	return nil
}

func sortedPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, escape(k)+"="+escape(v))
	}
	sort.Strings(out)
	return out
}
