package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/containerd/log"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
)

// Exit codes (README, "Exit codes").
const (
	exitOK           = 0
	exitRegistry     = 1
	exitInvalid      = 2
	exitUnauthorized = 3
	exitNotFound     = 4
	exitDamaged      = 5
)

// defaultTimeout bounds a whole run unless --timeout says otherwise.
const defaultTimeout = 5 * time.Minute

// streams are the process's standard streams, passed in so tests can run the
// app in-process.
type streams struct {
	in       io.Reader
	out, err io.Writer
	// lookupEnv resolves a spec's ${VAR}; nil means os.LookupEnv.
	lookupEnv func(string) (string, bool)
	// getenv reads the environment (the GitHub Action's inputs); nil means
	// os.Getenv.
	getenv func(string) string
}

// run runs the command line and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(ctx, streams{in: stdin, out: stdout, err: stderr}, args)
}

// runWith is run with the streams (and environment) of std.
func runWith(ctx context.Context, std streams, args []string) int {
	stdout, stderr := std.out, std.err
	args, answered := asPlugin(args, stdout)
	if answered {
		return exitOK
	}
	app := newApp(std)
	if len(args) > 0 && args[0] == "docker "+pluginName {
		app.HelpName = args[0] // help says docker manifestpush ...
	}
	args = reorder(app, args)
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	var done *reported
	if errors.As(err, &done) {
		return done.code
	}
	printError(stderr, err)
	if wantsJSON(args) {
		printJSONError(stdout, err)
	}
	return exitCode(err)
}

// wantsJSON reports whether a reordered command line asks for JSON output,
// for errors found before its flags could be read.
func wantsJSON(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--output=json" || a == "-o=json":
			return true
		case (a == "--output" || a == "-o") && i+1 < len(args) && args[i+1] == "json":
			return true
		}
	}
	return false
}

// reported is returned by actions that have printed their errors already.
type reported struct{ code int }

func (r *reported) Error() string { return fmt.Sprintf("exit status %d", r.code) }

// singleDash finds a flag name written with one dash in a flag parse error.
var singleDash = regexp.MustCompile(`(^|[\s:])-([A-Za-z][\w-]*)`)

// usageError is a problem with the command line itself.
type usageError struct{ err error }

func (u *usageError) Error() string { return u.err.Error() }
func (u *usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

func newApp(std streams) *cli.App {
	onUsage := func(c *cli.Context, err error, _ bool) error {
		// The flag package names flags with one dash; ours are spelled with two.
		msg := singleDash.ReplaceAllString(err.Error(), "$1--$2")
		if m := undefinedFlag.FindStringSubmatch(msg); m != nil {
			if near := nearestFlag(c, m[1]); near != "" {
				msg += fmt.Sprintf(" (did you mean --%s?)", near)
			}
			msg += "; see " + helpFor(c)
		}
		return &usageError{errors.New(msg)}
	}
	// A command's help lists its own flags first, then the global ones.
	pushFlags := func(extra ...cli.Flag) []cli.Flag {
		return append(append(append(extra, commonPushFlags()...), signFlags()...), globalFlags()...)
	}
	fromSpec := func() *cli.Command {
		return &cli.Command{
			Name:         "from-spec",
			Usage:        "push one index per spec file (- reads standard input)",
			ArgsUsage:    "FILE...",
			Flags:        pushFlags(),
			Description:  fromSpecHelp,
			OnUsageError: onUsage,
			Action:       func(c *cli.Context) error { return fromSpecAction(c, std) },
		}
	}
	fromArgs := func() *cli.Command {
		return &cli.Command{
			Name:         "from-args",
			Usage:        "push an index described by flags (and source references)",
			ArgsUsage:    "[SRC...]",
			Flags:        pushFlags(fromArgsFlags()...),
			Description:  fromArgsHelp,
			OnUsageError: onUsage,
			Action:       func(c *cli.Context) error { return fromArgsAction(c, std) },
		}
	}
	return &cli.App{
		Name:  "manifest-push",
		Usage: "publish per-platform images under one name as a multi-platform image",
		Description: "manifest-push assembles images that already sit in a registry into an OCI image index\n" +
			"or a Docker manifest list and pushes it, with its extra tags, in one push that is safe to repeat.",
		Version:                   version,
		HideVersion:               true,
		Reader:                    std.in,
		Writer:                    std.out,
		ErrWriter:                 std.err,
		Flags:                     globalFlags(),
		CustomAppHelpTemplate:     appHelpTemplate,
		DisableSliceFlagSeparator: true,
		Suggest:                   true,
		OnUsageError:              onUsage,
		ExitErrHandler:            func(*cli.Context, error) {},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(std.err, "manifest-push: %s\n", unknownCommand(c.App, name))
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return &usageError{errors.New(unknownCommand(c.App, c.Args().First()))}
			}
			return cli.ShowAppHelp(c)
		},
		Commands: withHelp([]*cli.Command{
			fromSpec(),
			fromArgs(),
			{
				Name:      "inspect",
				Usage:     "show a manifest or index (platforms, digests, sizes, annotations, referrers)",
				ArgsUsage: "REF",
				Flags: append([]cli.Flag{
					&cli.BoolFlag{Name: "raw", Usage: "print the document as the registry holds it"},
					&cli.StringFlag{Name: "platform", Usage: "also show the entry of this platform: its manifest, config platform and layers"},
					&cli.StringFlag{Name: "format", Usage: "print with a Go template over the JSON fields, docker's spelling or the JSON's: '{{.Digest}}', '{{range .Manifests}}{{.Platform}} {{end}}'; an unknown field is an error"},
					&cli.BoolFlag{Name: "referrers", Value: true, Usage: "list what refers to each entry (--referrers=false: do not look)"},
				}, globalFlags()...),
				Description:  inspectHelp,
				OnUsageError: onUsage,
				Action:       func(c *cli.Context) error { return inspectAction(c, std) },
			},
			{
				Name:      "verify",
				Usage:     "check that an index is whole: every child, blob and attestation present",
				ArgsUsage: "REF",
				Flags: append([]cli.Flag{
					&cli.BoolFlag{Name: "blobs", Usage: "check every config and layer blob too"},
					&cli.BoolFlag{Name: "signed", Usage: "check that the index and every manifest it lists are signed (cosign or sigstore signature): exit 5 naming each unsigned one"},
				}, globalFlags()...),
				Description:  verifyHelp,
				OnUsageError: onUsage,
				Action:       func(c *cli.Context) error { return verifyAction(c, std) },
			},
			{
				Name:         "push",
				Usage:        "from-spec and from-args under manifest-tool's spelling",
				Flags:        globalFlags(),
				OnUsageError: onUsage,
				Subcommands:  []*cli.Command{fromSpec(), fromArgs()},
				Action: func(c *cli.Context) error {
					if c.Args().Present() {
						return &usageError{errors.New(unknownSubcommand(c.Command, c.Args().First()))}
					}
					return usagef("push needs a subcommand: from-spec or from-args")
				},
			},
			{
				Name:         "validate",
				Usage:        "check spec files without a registry: syntax, platforms, references, rules (for pre-commit)",
				ArgsUsage:    "FILE...",
				Flags:        append(validateFlags(), globalFlags(validateFlagNames()...)...),
				Description:  validateHelp,
				OnUsageError: onUsage,
				Action:       func(c *cli.Context) error { return validateAction(c, std) },
			},
			{
				Name:         "version",
				Usage:        "print the version (--version says the same)",
				Flags:        globalFlags(),
				OnUsageError: onUsage,
				Action:       func(c *cli.Context) error { return versionAction(c, std) },
			},
			actionCommand(std),
			{
				Name:         "completion",
				Usage:        "print a shell completion script",
				ArgsUsage:    "bash|zsh|fish",
				Flags:        globalFlags(),
				OnUsageError: onUsage,
				Action:       func(c *cli.Context) error { return completionAction(c, std) },
			},
		}),
	}
}

// globalFlags are accepted before or after the command name: every command
// declares them too, and lookups walk the context lineage. A command that
// declares one of them as its own flag (validate's --output and --quiet,
// with their own help) names it in except.
func globalFlags(except ...string) []cli.Flag {
	return inCategory(globalCategory, slices.DeleteFunc([]cli.Flag{
		&cli.BoolFlag{Name: "plain-http", Usage: "speak plain HTTP to registries"},
		&cli.BoolFlag{Name: "insecure", Usage: "skip TLS certificate verification (never implied)"},
		&cli.StringSliceFlag{Name: "plain-http-host", Usage: "speak plain HTTP to this HOST[:PORT] only (repeatable; HOST alone: any port)"},
		&cli.StringSliceFlag{Name: "insecure-host", Usage: "skip TLS certificate verification for this HOST[:PORT] only (repeatable)"},
		&cli.StringFlag{Name: "certs-dir", Usage: "certs.d directory (HOST:PORT/ca.crt, client *.cert/*.key, hosts.toml)", DefaultText: "/etc/containerd/certs.d, /etc/docker/certs.d"},
		&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "user name for the target's registry host"},
		&cli.StringFlag{Name: "password", Aliases: []string{"p"}, Usage: "password for the target's registry host (prefer --password-stdin)"},
		&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from standard input"},
		&cli.StringFlag{Name: "docker-cfg", Usage: "Docker config directory or config.json", DefaultText: "$DOCKER_CONFIG or ~/.docker"},
		&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Usage: "requests in flight, across the whole run", DefaultText: fmt.Sprintf("%d, and %d per host until it speaks HTTP/2", registry.DefaultJobs, registry.MaxHTTP1Requests)},
		&cli.DurationFlag{Name: "timeout", Value: defaultTimeout, Usage: "bound on the whole run"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json"},
		&cli.BoolFlag{Name: "debug", Aliases: []string{"D"}, Usage: "log every request to standard error (secrets redacted)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the Digest line and errors: no tag lines, warnings or progress"},
	}, func(f cli.Flag) bool { return slices.Contains(except, f.Names()[0]) }))
}

func commonPushFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "type", Usage: "index type: auto, oci or docker (wins over the spec's type)", Value: string(spec.TypeAuto)},
		&cli.BoolFlag{Name: "ignore-missing", Usage: "skip sources the registry says do not exist"},
		&cli.BoolFlag{Name: "dry-run", Usage: "resolve and print the index and its digest; write nothing"},
		&cli.BoolFlag{Name: "force", Usage: "push even when every tag already points at the index"},
		&cli.BoolFlag{Name: "strict-platform", Usage: "make platform warnings errors"},
		&cli.BoolFlag{Name: "referrers", Value: true, Usage: "bring along what refers to the entries (signatures, SBOMs, attestations); --referrers=false leaves them"},
		&cli.StringFlag{Name: "attestations", Value: "keep", Usage: "keep or drop the Docker attestation manifests of index sources"},
		&cli.BoolFlag{Name: "append", Usage: "update what the target tag holds: its entries stay for the platforms not given here"},
		&cli.StringSliceFlag{Name: "remove", Usage: "leave this platform's entries out (repeatable; with --append and no sources: take it out of the target)"},
		&cli.StringSliceFlag{Name: "require", Usage: "completeness gate: move the target tag only once the index holds these platforms (with --append and --staging-tag; comma-separated or repeated)"},
		&cli.StringFlag{Name: "staging-tag", Usage: "with --require: the tag this pipeline run's jobs merge into (e.g. 1.0-run-$RUN_ID)"},
		&cli.BoolFlag{Name: "by-digest", Usage: "write the children and the index by digest and move no tag (sign first, tag later)"},
		&cli.StringSliceFlag{Name: "mirror", Usage: "publish the same index to this target too (repeatable; adds to the spec's mirrors)"},
	}
}

func fromArgsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "platforms", Usage: "os/arch[/variant][:os.version], comma-separated or repeated"},
		&cli.StringFlag{Name: "template", Usage: "source reference with OS, ARCH, VARIANT and OSVERSION placeholders"},
		&cli.StringFlag{Name: "target", Usage: "target reference"},
		&cli.StringSliceFlag{Name: "tags", Usage: "extra tags, comma-separated or repeated"},
		&cli.StringSliceFlag{Name: "annotations", Usage: "index annotation key=value (repeatable)"},
		&cli.StringFlag{Name: "artifact-type", Usage: "make the index an artifact index of this media type (OCI only)"},
		&cli.StringFlag{Name: "subject", Usage: "make the index refer to this manifest (REF: a tag or a digest; OCI only): it is listed among that manifest's referrers"},
		&cli.StringSliceFlag{Name: "desc-platform", Usage: "the platform of a source argument, for one whose config gives none (repeatable: the Nth for the Nth source)"},
	}
}

// owner returns the context in the lineage where name was set, or c.
func owner(c *cli.Context, name string) *cli.Context {
	for _, x := range c.Lineage() {
		if x == nil {
			continue
		}
		for _, n := range x.LocalFlagNames() {
			if n == name {
				return x
			}
		}
	}
	return c
}

func isSet(c *cli.Context, name string) bool { return owner(c, name).IsSet(name) }

func str(c *cli.Context, name string) string { return owner(c, name).String(name) }

func boolean(c *cli.Context, name string) bool { return owner(c, name).Bool(name) }

// globals are the options every command shares.
type globals struct {
	hosts registry.Options
	// username and password are the credentials given by flag, for the
	// target's registry host only (see client).
	username, password string
	jobs               int
	timeout            time.Duration
	json               bool
	debug              bool
	quiet              bool
	// stdinUsed is set when the password was read from standard input.
	stdinUsed bool
	// manifestTool is set under manifest-tool's spelling (push from-spec,
	// push from-args): text output keeps manifest-tool's stdout, the
	// Digest line alone; every other line goes to stderr.
	manifestTool bool
}

func readGlobals(c *cli.Context, std streams) (*globals, error) {
	g := &globals{
		hosts: registry.Options{
			PlainHTTP:      boolean(c, "plain-http"),
			Insecure:       boolean(c, "insecure"),
			PlainHTTPHosts: hostList(c, "plain-http-host"),
			InsecureHosts:  hostList(c, "insecure-host"),
			CertsDir:       str(c, "certs-dir"),
			DockerConfig:   str(c, "docker-cfg"),
		},
		username: str(c, "username"),
		password: str(c, "password"),
		jobs:     owner(c, "jobs").Int("jobs"),
		timeout:  owner(c, "timeout").Duration("timeout"),
		debug:    boolean(c, "debug"),
		quiet:    boolean(c, "quiet"),
	}
	for _, a := range c.Lineage() {
		if a.Command != nil && a.Command.Name == "push" {
			g.manifestTool = true
		}
	}
	var err error
	if g.json, err = readOutput(c); err != nil {
		return nil, err
	}
	if isSet(c, "jobs") && g.jobs < 1 {
		return nil, usagef("--jobs %d: give 1 or more", g.jobs)
	}
	if g.timeout <= 0 {
		return nil, usagef("--timeout %s: give a positive duration such as 5m", g.timeout)
	}
	if boolean(c, "password-stdin") {
		if g.password != "" {
			return nil, usagef("--password and --password-stdin: give one of them")
		}
		b, err := readAllLimited(std.in, 64<<10)
		if err != nil {
			return nil, usagef("--password-stdin: %v", err)
		}
		g.password = strings.TrimRight(string(b), "\r\n")
		g.stdinUsed = true
	}
	if g.password != "" && g.username == "" {
		return nil, usagef("a password needs --username")
	}
	if g.username != "" && g.password == "" {
		return nil, usagef("--username %s needs --password-stdin or --password", g.username)
	}
	for _, f := range []string{"plain-http-host", "insecure-host"} {
		for _, h := range hostList(c, f) {
			if h == "" || strings.ContainsAny(h, "/ ") || strings.Contains(h, "://") {
				return nil, usagef("--%s %q: give a registry host as HOST or HOST:PORT, such as localhost:5000", f, h)
			}
		}
	}
	if err := registry.CheckDockerConfig(g.hosts.DockerConfig); err != nil {
		return nil, usagef("%v: give --docker-cfg a Docker config directory or config.json that exists and parses (without --docker-cfg: $DOCKER_CONFIG, or ~/.docker)", err)
	}
	if isSet(c, "password") {
		fmt.Fprintln(std.err, "warning: --password on the command line may be seen by other users; use --password-stdin")
	}
	if !g.quiet {
		g.hosts.Warn = func(msg string) { fmt.Fprintf(std.err, "warning: %s\n", escape(msg)) }
	}
	return g, nil
}

// hostList reads a repeated host flag, each value also split at commas.
func hostList(c *cli.Context, name string) []string {
	var out []string
	for _, v := range owner(c, name).StringSlice(name) {
		for _, h := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(h))
		}
	}
	return out
}

// client builds the one registry client of the run. Credentials given by
// flag go to the registry hosts of targets only; every other host's come
// from the Docker config.
func (g *globals) client(targets []string) *registry.Client {
	opts := g.hosts
	opts.Jobs = g.jobs
	if g.username != "" || g.password != "" {
		opts.Credentials = registry.HostCredentials(g.username, g.password, registry.DockerCredentials(opts.DockerConfig), targets...)
	}
	return registry.NewClient(opts)
}

// readOutput reads --output: true for json.
func readOutput(c *cli.Context) (bool, error) {
	switch out := str(c, "output"); out {
	case "text":
		return false, nil
	case "json":
		return true, nil
	default:
		return false, usagef("--output %q: use text or json", out)
	}
}

func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}

// withLogger returns ctx carrying a logger that writes to stderr, at debug
// level with --debug and warnings only otherwise.
func withLogger(ctx context.Context, g *globals, stderr io.Writer) context.Context {
	l := logrus.New()
	l.SetOutput(stderr)
	l.SetLevel(logrus.WarnLevel)
	if g.debug {
		l.SetLevel(logrus.DebugLevel)
	}
	l.SetFormatter(&logrus.TextFormatter{DisableTimestamp: !g.debug, FullTimestamp: true})
	return log.WithLogger(ctx, logrus.NewEntry(l))
}
