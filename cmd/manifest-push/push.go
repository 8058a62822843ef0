package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/urfave/cli/v2"
)

// pushOptions reads the push flags shared by from-spec and from-args.
func pushOptions(c *cli.Context) (publish.Options, error) {
	opts := publish.Options{
		IgnoreMissing:  boolean(c, "ignore-missing"),
		DryRun:         boolean(c, "dry-run"),
		Force:          boolean(c, "force"),
		StrictPlatform: boolean(c, "strict-platform"),
		SkipReferrers:  !boolean(c, "referrers"),
		Names:          flagNames,
	}
	if dir, err := os.UserCacheDir(); err == nil {
		opts.Configs = publish.DirCache(filepath.Join(dir, "manifest-push", "configs"))
	}
	switch a := str(c, "attestations"); a {
	case "keep":
	case "drop":
		opts.DropAttestations = true
	default:
		return opts, usagef("--attestations %q: use keep or drop", a)
	}
	if isSet(c, "type") {
		t, err := spec.ParseType(str(c, "type"))
		if err != nil {
			return opts, usagef("--type: %v", err)
		}
		opts.Type = t
	}
	return opts, nil
}

// job is one spec to push, or the error that loading it gave.
type job struct {
	name string
	spec *spec.Spec
	// req is what the run asks of it (the flags of its choices).
	req spec.Request
	err error
}

// requestArgs are the flags of a run's choices (spec.ParseRequest).
func requestArgs(c *cli.Context) spec.RequestArgs {
	return spec.RequestArgs{
		Append:     c.Bool("append"),
		Remove:     c.StringSlice("remove"),
		Require:    c.StringSlice("require"),
		StagingTag: c.String("staging-tag"),
		Mirrors:    c.StringSlice("mirror"),
		ByDigest:   c.Bool("by-digest"),
	}
}

func fromSpecAction(c *cli.Context, std streams) error {
	files := c.Args().Slice()
	if len(files) == 0 {
		return usagef("from-spec needs at least one spec file (- reads standard input)")
	}
	g, err := readGlobals(c, std)
	if err != nil {
		return err
	}
	opts, err := pushOptions(c)
	if err != nil {
		return err
	}
	if opts.Created, err = sourceDateEpoch(std.lookupEnv); err != nil {
		return err
	}
	stdinSpecs := 0
	for _, f := range files {
		if f == "-" {
			stdinSpecs++
		}
	}
	if stdinSpecs > 1 || (stdinSpecs == 1 && g.stdinUsed) {
		return usagef("standard input can be read once: give - as one spec, or use --password-stdin")
	}
	if _, err := spec.ParseRemove(c.StringSlice("remove")); err != nil {
		return err
	}
	signReq, err := signRequest(c)
	if err != nil {
		return err
	}
	jobs := make([]job, len(files))
	for i, f := range files {
		jobs[i].name = f
		if f == "-" {
			jobs[i].spec, jobs[i].err = spec.Load("-", std.in, spec.LoadOptions{LookupEnv: std.lookupEnv})
		} else {
			jobs[i].spec, jobs[i].err = spec.LoadFile(f, spec.LoadOptions{LookupEnv: std.lookupEnv})
		}
		if jobs[i].spec != nil {
			jobs[i].req, jobs[i].err = spec.ParseRequest(requestArgs(c), jobs[i].spec.Target)
			jobs[i].req.Sign = signReq
			if jobs[i].err == nil {
				jobs[i].err = spec.Check(jobs[i].spec, jobs[i].req, flagNames)
			}
			if jobs[i].err != nil {
				jobs[i].spec = nil
			}
		}
	}
	if bad := invalidJobs(jobs); bad > 0 {
		// Nothing is pushed unless every spec is valid: the valid ones say
		// so in JSON, and one line says it in text.
		summary := fmt.Sprintf("nothing pushed: %d of the %d spec files given %s invalid; fix %s and run again", bad, len(jobs), plural(bad, "is", "are"), plural(bad, "it", "them"))
		outcomes := make([]outcome, len(jobs))
		for i := range jobs {
			outcomes[i].err = jobs[i].err
			if outcomes[i].err == nil && g.json {
				outcomes[i].err = usagef("%s", summary)
			}
		}
		printOutcomes(std, g, jobs, outcomes)
		if len(jobs) > 1 && !g.json {
			printError(std.err, usagef("%s", summary))
		}
		return &reported{code: exitInvalid}
	}
	return pushAll(c.Context, g, opts, jobs, std)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// invalidJobs counts the specs that did not load.
func invalidJobs(jobs []job) int {
	n := 0
	for _, j := range jobs {
		if j.err != nil {
			n++
		}
	}
	return n
}

func fromArgsAction(c *cli.Context, std streams) error {
	g, err := readGlobals(c, std)
	if err != nil {
		return err
	}
	opts, err := pushOptions(c)
	if err != nil {
		return err
	}
	if opts.Created, err = sourceDateEpoch(std.lookupEnv); err != nil {
		return err
	}
	var tags []string
	for _, t := range c.StringSlice("tags") {
		tags = append(tags, strings.Split(t, ",")...)
	}
	ra := requestArgs(c)
	s, req, err := spec.FromArgs(spec.Args{
		Platforms:       c.StringSlice("platforms"),
		Template:        c.String("template"),
		Sources:         c.Args().Slice(),
		Target:          c.String("target"),
		Tags:            tags,
		Annotations:     c.StringSlice("annotations"),
		SourcePlatforms: c.StringSlice("desc-platform"),
		Type:            opts.Type,
		Append:          ra.Append,
		Remove:          ra.Remove,
		Require:         ra.Require,
		StagingTag:      ra.StagingTag,
		Mirrors:         ra.Mirrors,
		ByDigest:        ra.ByDigest,
		ArtifactType:    c.String("artifact-type"),
		Subject:         c.String("subject"),
	})
	if err == nil {
		req.Sign, err = signRequest(c)
	}
	return pushAll(c.Context, g, opts, []job{{name: "from-args", spec: s, req: req, err: err}}, std)
}

// outcome is what one job gave.
type outcome struct {
	res *publish.Result
	err error
}

// pushAll pushes every loaded spec concurrently, prints the outcomes in the
// order given, and returns the worst exit code as a reported error.
func pushAll(ctx context.Context, g *globals, opts publish.Options, jobs []job, std streams) error {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	ctx = withLogger(ctx, g, std.err)
	var progress *progressDisplay
	if !g.quiet {
		progress = startProgress(std.err)
		opts.Progress = progress.report
	}

	var targets []string
	for _, j := range jobs {
		if j.spec != nil && j.spec.Target != nil {
			targets = append(targets, reference.Domain(j.spec.Target))
		}
	}
	signing, err := newSigners(g, jobs, targets)
	if err != nil {
		return err
	}
	defer signing.close()
	client := g.client(targets)

	outcomes := make([]outcome, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		if j.err != nil {
			outcomes[i].err = j.err
			continue
		}
		wg.Go(func() {
			o := opts
			o.Request = j.req
			o.Signing = signing.options(j)
			res, err := publish.Push(ctx, client, j.spec, o)
			err = explainMissing(err)
			outcomes[i] = outcome{res: res, err: annotateTimeout(ctx, err, g)}
		})
	}
	wg.Wait()
	progress.close()
	if code := printOutcomes(std, g, jobs, outcomes); code != exitOK {
		return &reported{code: code}
	}
	return nil
}

// printOutcomes prints each job's warnings, result and error, in the order
// given, and returns the worst exit code.
func printOutcomes(std streams, g *globals, jobs []job, outcomes []outcome) int {
	code := exitOK
	var all []outcome
	var allJobs []job
	for i, o := range outcomes {
		all, allJobs = append(all, o), append(allJobs, jobs[i])
		if o.res == nil {
			continue
		}
		for _, m := range o.res.Mirrors {
			all, allJobs = append(all, outcome{res: m.Result, err: m.Err}), append(allJobs, jobs[i])
		}
	}
	jobs = allJobs
	for i, o := range all {
		if o.res != nil && !g.quiet {
			for _, w := range o.res.Warnings {
				fmt.Fprintf(std.err, "warning: %s\n", escape(w))
			}
		}
		if g.json {
			printJSON(std, jobs[i], o)
		} else {
			printText(std, g, o)
		}
		if o.err != nil {
			printError(std.err, o.err)
			code = max(code, exitCode(o.err))
		}
	}
	return code
}

// annotateTimeout says what the run was waiting for when --timeout ended it.
func annotateTimeout(ctx context.Context, err error, g *globals) error {
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("gave up after --timeout %s: %w", g.timeout, err)
}

// printText prints one push's result as text: the dry-run index, the
// changes, the tags, the referrers and rounds, and last the Digest line. The
// Digest line goes to stdout; the others too, except under manifest-tool's
// spelling (globals.manifestTool), where they go to stderr.
func printText(std streams, g *globals, o outcome) {
	r := o.res
	if r == nil {
		return
	}
	// info carries every line but the Digest line: stdout, or stderr under
	// manifest-tool's spelling, whose stdout is the Digest line alone.
	info := std.out
	if g.manifestTool {
		info = std.err
	}
	if r.DryRun && !g.quiet {
		fmt.Fprintf(info, "%s\n", r.Index)
	}
	if !g.quiet {
		for _, c := range r.Changes {
			switch c.Change {
			case publish.ChangeAdded:
				fmt.Fprintf(info, "+ %s\n", escape(c.Platform))
			case publish.ChangeUpdated:
				fmt.Fprintf(info, "~ %s %s -> %s\n", escape(c.Platform), c.From, c.To)
			case publish.ChangeRemoved:
				fmt.Fprintf(info, "- %s\n", escape(c.Platform))
			}
		}
		repo := r.Ref.Name()
		if st := r.Staging; st != nil {
			if st.Complete {
				fmt.Fprintln(std.out, escape(fmt.Sprintf("%s:%s holds every required platform: the target tags move to it", repo, st.Tag)))
			} else {
				fmt.Fprintln(std.out, escape(fmt.Sprintf("%s:%s staged; still missing: %s (%s moves once they are in)", repo, st.Tag, strings.Join(st.Missing, ", "), r.Target)))
			}
		}
		if r.ByDigest {
			fmt.Fprintln(std.out, escape(fmt.Sprintf("%s@%s pushed by digest; no tag moved", repo, r.Digest)))
		}
		for _, t := range r.Tags {
			line := fmt.Sprintf("%s:%s %s", repo, t.Tag, t.Status)
			switch {
			case t.Previous != "" && t.Status != publish.TagUnchanged:
				line += " (was " + t.Previous.String() + ")"
			case t.Previous == "" && t.Status != publish.TagUnchanged:
				line += " (new)"
			}
			fmt.Fprintln(info, escape(line))
		}
	}
	if n, copied := referrerCounts(r); n > 0 && !g.quiet {
		verb := "copied"
		if r.DryRun {
			verb = "to copy"
		}
		fmt.Fprintf(info, "Referrers: %d found, %d %s\n", n, copied, verb)
	}
	if len(r.Signatures) > 0 && !g.quiet {
		printSignatures(info, r)
	}
	if r.Rounds > 0 && !g.quiet {
		fmt.Fprintf(info, "Rounds: %d\n", r.Rounds)
	}
	if r.Digest != "" && o.err == nil {
		fmt.Fprintf(std.out, "Digest: %s %d\n", r.Digest, r.Size)
	}
}

// referrerCounts counts the referrers of r's entries, and those copied.
func referrerCounts(r *publish.Result) (n, copied int) {
	for _, m := range r.Manifests {
		for _, ref := range m.Referrers {
			n++
			if ref.Copied {
				copied++
			}
		}
	}
	return n, copied
}

// jsonLine is one spec's JSON output: the result, plus the index document
// with --dry-run, and the error if any.
type jsonLine struct {
	*publish.Result
	Index json.RawMessage `json:"index,omitempty"`
	Spec  string          `json:"spec"`
	Error string          `json:"error,omitempty"`
}

func printJSON(std streams, j job, o outcome) {
	res := o.res
	if res == nil {
		res = &publish.Result{}
		if j.spec != nil {
			res.Target = j.spec.Target.String()
		}
	}
	if res.Tags == nil {
		res.Tags = []publish.TagResult{}
	}
	if res.Manifests == nil {
		res.Manifests = []publish.ManifestResult{}
	}
	for i := range res.Manifests {
		if res.Manifests[i].Referrers == nil {
			res.Manifests[i].Referrers = []publish.ReferrerResult{}
		}
	}
	if res.Warnings == nil {
		res.Warnings = []string{}
	}
	if res.Changes == nil {
		res.Changes = []publish.Change{}
	}
	line := jsonLine{Result: res, Spec: j.name}
	if res.DryRun && json.Valid(res.Index) {
		line.Index = res.Index
	}
	if o.err != nil {
		line.Error = o.err.Error()
	}
	b, err := json.Marshal(line)
	if err != nil {
		fmt.Fprintf(std.err, "error: encoding the result: %v\n", err)
		return
	}
	fmt.Fprintf(std.out, "%s\n", b)
}
