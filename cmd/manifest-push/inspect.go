package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/urfave/cli/v2"
)

// refCommand is what inspect and verify start from: their one reference
// argument, the globals, a context bounded by --timeout with the logger,
// and the run's client (flag credentials for the reference's registry).
type refCommand struct {
	ref    string
	g      *globals
	ctx    context.Context
	cancel context.CancelFunc
	client *registry.Client
}

func newRefCommand(c *cli.Context, std streams, name string) (*refCommand, error) {
	if c.NArg() != 1 {
		return nil, usagef("%s needs one reference, such as registry.example.com/hello:1.0", name)
	}
	g, err := readGlobals(c, std)
	if err != nil {
		return nil, err
	}
	rc := &refCommand{ref: c.Args().First(), g: g}
	rc.ctx, rc.cancel = context.WithTimeout(c.Context, g.timeout)
	rc.ctx = withLogger(rc.ctx, g, std.err)
	var targets []string
	if named, err := reference.ParseNormalizedNamed(rc.ref); err == nil {
		targets = append(targets, reference.Domain(named))
	}
	rc.client = g.client(targets)
	return rc, nil
}

func inspectAction(c *cli.Context, std streams) error {
	rc, err := newRefCommand(c, std, "inspect")
	if err != nil {
		return err
	}
	defer rc.cancel()
	ctx, g, ref := rc.ctx, rc.g, rc.ref
	opts := publish.InspectOptions{Referrers: c.Bool("referrers") && !c.Bool("raw")}
	if p := c.String("platform"); p != "" {
		pl, err := platform.Parse(p)
		if err != nil {
			return usagef("--platform: %v", err)
		}
		opts.Platform = &pl
	}
	var tmpl *template.Template
	if f := c.String("format"); f != "" {
		if tmpl, err = template.New("format").Funcs(template.FuncMap{"json": toJSON}).Option("missingkey=error").Parse(f); err != nil {
			return usagef("--format: %v", err)
		}
	}
	in, err := publish.Inspect(ctx, rc.client, ref, opts)
	if err != nil {
		return annotateTimeout(ctx, err, g)
	}
	if !g.json {
		for _, w := range in.Warnings {
			fmt.Fprintf(std.err, "warning: %s\n", escape(w))
		}
	}
	switch {
	case c.Bool("raw"):
		_, err = fmt.Fprintf(std.out, "%s\n", in.Raw)
	case tmpl != nil:
		err = formatInspection(std, tmpl, in)
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

// formatInspection runs the --format template over the inspection's JSON
// fields, as docker's and regctl's --format do over theirs: each field is
// there under its JSON name and capitalised, as docker spells them
// ({{.Digest}} and {{.digest}}, {{range .Manifests}}{{.Platform}}{{end}}).
// A field the inspection does not have is an error that lists those it
// has, and nothing is printed. What it prints is escaped like any text
// output.
func formatInspection(std streams, tmpl *template.Template, in *publish.Inspection) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	var data map[string]any
	if err := json.Unmarshal(b, &data); err != nil {
		return err
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, docker(data)); err != nil {
		fields := make([]string, 0, len(data))
		for k := range data {
			fields = append(fields, capitalise(k))
		}
		sort.Strings(fields)
		return usagef("--format: %v; the fields are %s (and, in each of Manifests, those of an entry: see --output json)", err, strings.Join(fields, ", "))
	}
	text := out.String()
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		if _, err := fmt.Fprintln(std.out, escape(strings.TrimSuffix(line, "\n"))); err != nil {
			return err
		}
	}
	return nil
}

// docker returns v (decoded JSON) with every object's keys also under
// their capitalised spelling, the one docker's --format uses; annotations
// keep their keys as they are.
func docker(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, 2*len(v))
		for k, x := range v {
			if k == "annotations" {
				out[k] = x // keys from outside: as they are
				continue
			}
			out[k] = docker(x)
		}
		for k := range v {
			if c := capitalise(k); c != k {
				if _, taken := v[c]; !taken {
					out[c] = out[k]
				}
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = docker(x)
		}
		return out
	}
	return v
}

// capitalise upper-cases the first letter of an ASCII key.
func capitalise(k string) string {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return k
	}
	return string(k[0]-'a'+'A') + k[1:]
}

// toJSON is the template function json: v as compact JSON.
func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
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
	if in.ArtifactType != "" {
		fmt.Fprintf(w, "ArtifactType:\t%s\n", escape(in.ArtifactType))
	}
	if in.Subject != nil {
		fmt.Fprintf(w, "Subject:\t%s %s\n", escape(in.Subject.Digest.String()), escape(in.Subject.MediaType))
	}
	if in.Signed != nil {
		fmt.Fprintf(w, "Signed:\t%s\n", yesNo(*in.Signed))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(&buf)
	w = tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	signedColumn := len(in.Manifests) > 0 && in.Manifests[0].Signed != nil
	if signedColumn {
		fmt.Fprintln(w, "PLATFORM\tDIGEST\tSIZE\tMEDIA TYPE\tSIGNED\tANNOTATIONS")
	} else {
		fmt.Fprintln(w, "PLATFORM\tDIGEST\tSIZE\tMEDIA TYPE\tANNOTATIONS")
	}
	for _, m := range in.Manifests {
		p := m.Platform
		if p == "" {
			p = "-"
		}
		signed := ""
		if signedColumn && m.Signed != nil {
			signed = yesNo(*m.Signed) + "\t"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s%s\n", escape(p), escape(m.Digest.String()), m.Size, escape(m.MediaType), signed, strings.Join(sortedPairs(m.Annotations), ","))
		for _, r := range m.Referrers {
			kind := r.ArtifactType
			if r.Tag != "" {
				kind = "tag " + r.Tag
			}
			fmt.Fprintf(w, "  referrer\t%s\t\t%s\t%s\n", escape(r.Digest.String()), escape(r.MediaType), escape(kind))
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if c := in.Child; c != nil {
		fmt.Fprintln(&buf)
		w = tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
		fmt.Fprintf(w, "Entry:\t%s\n", escape(c.Digest.String()))
		fmt.Fprintf(w, "MediaType:\t%s\n", escape(c.MediaType))
		fmt.Fprintf(w, "Platform:\t%s\n", escape(c.Platform))
		fmt.Fprintf(w, "Config platform:\t%s\n", escape(c.ConfigPlatform))
		fmt.Fprintf(w, "Config:\t%s\t%d\n", escape(c.Config.Digest.String()), c.Config.Size)
		for _, l := range c.Layers {
			fmt.Fprintf(w, "Layer:\t%s\t%d\t%s\n", escape(l.Digest.String()), l.Size, escape(l.MediaType))
		}
		if err := w.Flush(); err != nil {
			return err
		}
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

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
