package main

import (
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

func printInspection(std streams, in *publish.Inspection) error {
	w := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Name:\t%s\n", in.Ref)
	fmt.Fprintf(w, "MediaType:\t%s\n", in.MediaType)
	fmt.Fprintf(w, "Digest:\t%s\n", in.Digest)
	fmt.Fprintf(w, "Size:\t%d\n", in.Size)
	for _, kv := range sortedPairs(in.Annotations) {
		fmt.Fprintf(w, "Annotation:\t%s\n", kv)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(std.out)
	w = tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PLATFORM\tDIGEST\tSIZE\tMEDIA TYPE\tANNOTATIONS")
	for _, m := range in.Manifests {
		p := m.Platform
		if p == "" {
			p = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", p, m.Digest, m.Size, m.MediaType, strings.Join(sortedPairs(m.Annotations), ","))
	}
	return w.Flush()
}

func sortedPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
