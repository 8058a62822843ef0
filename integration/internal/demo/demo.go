// Package demo is the helloarch story of the talk manifest-push comes from,
// end to end and on one machine: cross-compile a greeting program for six
// platforms, push one image per platform (the linux ones all saying
// linux/amd64 in their configs, as images built on one machine do), assemble
// them under one name with the real manifest-push binary and a spec that
// patches every platform up, and then the payoff: pick each linux platform's
// entry from the pushed index the way containerd does, and run what it holds,
// natively or under qemu-user-static.
//
// Run is the demo's core, shared by `make demo` (cmd/demo) and its test.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/crossimage"
	"github.com/manifest-push/manifest-push/integration/internal/ggcrtest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	// Repo is the repository the demo pushes to, as in the helloarch spec.
	Repo = "helloarch"
	// Version is the target tag; the per-platform images are tagged
	// Version-os-arch[-variant].
	Version = "1.0"
	// SpecPath is the spec the demo pushes, relative to the product's root.
	SpecPath = "examples/helloarch/helloarch.yaml"
	// ProgramPath is the greeting program, relative to the product's root.
	ProgramPath = "./examples/helloarch/hello.go"
	// WindowsOSVersion is the os.version of the windows image's config
	// (Windows Server 2019, ltsc2019): the spec leaves it out and the index
	// takes it from the config (rule P3).
	WindowsOSVersion = "10.0.17763.6189"
)

// Platforms are the platforms the demo builds, in the spec's order.
var Platforms = []ocispec.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
	{OS: "linux", Architecture: "arm", Variant: "v7"},
	{OS: "linux", Architecture: "ppc64le"},
	{OS: "linux", Architecture: "s390x"},
	{OS: "windows", Architecture: "amd64", OSVersion: WindowsOSVersion},
}

// InstallQemu is the hint printed when qemu-user-static is missing.
const InstallQemu = "apt-get install qemu-user-static"

// Options configures Run. The zero value runs the whole demo on an
// embedded registry, silently.
type Options struct {
	// Out receives the demo's narration and the commands' output. Nil means
	// io.Discard.
	Out io.Writer
	// Registry is the host[:port] of a registry to use instead of the
	// embedded one (anonymous push and pull). Empty means: start
	// go-containerregistry's registry (pkg/registry) in-process on
	// 127.0.0.1 and stop it at the end. It is the demo's registry, rather
	// than distribution's, because it compiles in seconds where
	// distribution's (with its OpenTelemetry, gRPC, Redis and Prometheus
	// dependencies) takes over two minutes on a cold build cache; the
	// tests run both.
	Registry string
	// HTTPS speaks HTTPS to Registry. False means plain HTTP (and
	// manifest-push gets --plain-http). Ignored for the embedded registry,
	// which speaks plain HTTP.
	HTTPS bool
	// Binary is a manifest-push executable to run. Empty means build it
	// from the product module into a temporary directory.
	Binary string
	// LookPath finds the qemu user-mode emulators. Nil means exec.LookPath.
	LookPath func(file string) (string, error)
	// Start is when the demo started, for its "Done in": make demo passes
	// the time it began compiling the demo itself. Zero means when Run is
	// called.
	Start time.Time
	// Tick is how often a long step says it is still at work. Zero means
	// every 5 seconds.
	Tick time.Duration
	// Hold, when set, is called once the demo has run, while its registry
	// is still up and its manifest-push executable still there (the
	// playground: make playground). Run returns when it does.
	Hold func(ctx context.Context, rep Report) error
}

// Report is what the demo did.
type Report struct {
	// Registry is the registry host used.
	Registry string
	// Target is the pushed index's reference (HOST/helloarch:1.0).
	Target string
	// Digest is the index digest manifest-push printed.
	Digest string
	// Greetings has one element per linux platform, in Platforms order.
	Greetings []Greeting
	// Windows is the index entry a windows/amd64 puller selects.
	Windows ocispec.Descriptor
	// Elapsed is the demo's wall time.
	Elapsed time.Duration
	// Binary is the manifest-push executable the demo ran (for Hold: it
	// is removed when Run returns).
	Binary string
	// Images are the per-platform images pushed, HOST/helloarch:1.0-SUFFIX,
	// in Platforms order.
	Images []string
}

// Greeted is the number of platforms that greeted correctly.
func (r Report) Greeted() int {
	n := 0
	for _, g := range r.Greetings {
		if g.OK() {
			n++
		}
	}
	return n
}

// MissingQemu lists the emulators that were needed but not found.
func (r Report) MissingQemu() []string {
	var out []string
	for _, g := range r.Greetings {
		if g.Missing != "" {
			out = append(out, g.Missing)
		}
	}
	return out
}

// Greeting is the payoff for one platform.
type Greeting struct {
	// Platform is the puller's platform.
	Platform ocispec.Platform
	// Entry is the index entry containerd's matching selected for it.
	Entry ocispec.Descriptor
	// Runner is "native" or the path of the qemu emulator; empty when the
	// program was not run.
	Runner string
	// Missing is the emulator that would have run it, when it is not
	// installed.
	Missing string
	// Want is the expected greeting, Got what the program printed.
	Want, Got string
	// Err is why running failed (nil when it ran, or was not run).
	Err error
}

// OK reports whether the program ran and greeted as expected.
func (g Greeting) OK() bool { return g.Runner != "" && g.Err == nil && g.Got == g.Want }

// Run runs the demo. It returns an error when a step fails or a program
// greets wrongly; a missing emulator is not an error (the report says which
// platforms were not run, and the narration how to install it).
func Run(ctx context.Context, opts Options) (Report, error) {
	start := opts.Start
	if start.IsZero() {
		start = time.Now()
	}
	d := &run{opts: opts, out: opts.Out, start: start}
	if d.opts.Tick <= 0 {
		d.opts.Tick = 5 * time.Second
	}
	if d.out == nil {
		d.out = io.Discard
	}
	if d.opts.LookPath == nil {
		d.opts.LookPath = exec.LookPath
	}
	rep, err := d.run(ctx)
	rep.Elapsed = time.Since(start)
	if err != nil {
		fmt.Fprintf(d.out, "\nFAILED after %s: %v\n", rep.Elapsed.Round(100*time.Millisecond), err)
		return rep, err
	}
	fmt.Fprintf(d.out, "\nDone in %s: %d of %d linux platforms greeted.\n",
		rep.Elapsed.Round(100*time.Millisecond), rep.Greeted(), len(rep.Greetings))
	return rep, nil
}

// run holds one demo's state.
type run struct {
	start   time.Time
	opts    Options
	out     io.Writer
	stage   int
	root    string // the product module's root
	work    string // temporary directory
	host    string
	baseURL string
	client  *http.Client
	bin     string
}

const stages = 6

func (d *run) heading(title string) {
	d.stage++
	fmt.Fprintf(d.out, "\n==> [%d/%d] %s\n", d.stage, stages, title)
}

// say prints one indented line of narration (no trailing blanks).
func (d *run) say(format string, args ...any) {
	line := strings.TrimRight(fmt.Sprintf(format, args...), " \t")
	if line == "" {
		fmt.Fprintln(d.out)
		return
	}
	fmt.Fprintf(d.out, "    %s\n", line)
}

func (d *run) run(ctx context.Context) (Report, error) {
	var rep Report
	root, err := binary.ProductRoot(ctx)
	if err != nil {
		return rep, err
	}
	d.root = root
	d.work, err = os.MkdirTemp("", "helloarch-demo-")
	if err != nil {
		return rep, fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(d.work)

	d.heading("Start a registry")
	stop, err := d.startRegistry()
	if err != nil {
		return rep, err
	}
	defer stop()
	rep.Registry = d.host
	rep.Target = d.host + "/" + Repo + ":" + Version

	d.heading("Compile " + strings.TrimPrefix(ProgramPath, "./") + " for six platforms and manifest-push, in parallel")
	bins, err := d.buildAll(ctx)
	if err != nil {
		return rep, err
	}

	d.heading("Push one image per platform (built on one machine: every linux config says linux/amd64)")
	if err := d.pushImages(ctx, bins); err != nil {
		return rep, err
	}

	d.heading("Assemble them under one name: manifest-push from-spec")
	if rep.Digest, err = d.assemble(ctx); err != nil {
		return rep, err
	}

	d.heading("Inspect the result")
	if err := d.manifestPush(ctx, d.flags("inspect", rep.Target)...); err != nil {
		return rep, err
	}

	d.heading("The payoff: each machine picks its entry and runs it")
	rep.Greetings, rep.Windows, err = d.payoff(ctx)
	if err != nil || d.opts.Hold == nil {
		return rep, err
	}
	rep.Binary = d.bin
	for _, p := range Platforms {
		rep.Images = append(rep.Images, d.host+"/"+Repo+":"+Version+"-"+crossimage.Suffix(p))
	}
	rep.Elapsed = time.Since(d.start)
	return rep, d.opts.Hold(ctx, rep)
}

func (d *run) startRegistry() (stop func(), err error) {
	if d.opts.Registry != "" {
		d.host = d.opts.Registry
		scheme := "http"
		if d.opts.HTTPS {
			scheme = "https"
		}
		d.baseURL = scheme + "://" + d.host
		d.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		d.say("using the registry at %s (%s)", d.baseURL, map[bool]string{true: "HTTPS", false: "plain HTTP"}[d.opts.HTTPS])
		return func() {}, nil
	}
	d.opts.HTTPS = false
	reg := ggcrtest.Start()
	d.host, d.baseURL, d.client = reg.Host(), reg.URL(), reg.Client()
	d.say("go-containerregistry's registry (pkg/registry), in-process, in memory, plain HTTP at %s", d.host)
	return reg.Close, nil
}

// buildAll cross-compiles the greeting program for every platform and
// builds manifest-push (unless Options.Binary is given), all at once, saying
// every Tick what is still compiling. It returns the programs' executables,
// in Platforms order.
func (d *run) buildAll(ctx context.Context) ([]string, error) {
	type job struct {
		name  string
		build func(context.Context) error
	}
	var jobs []job
	builds := make([]crossimage.Build, len(Platforms))
	for i, p := range Platforms {
		name := "hello-" + crossimage.Suffix(p)
		if p.OS == "windows" {
			name += ".exe"
		}
		builds[i] = crossimage.Build{
			Dir:      d.root,
			Package:  ProgramPath,
			Platform: ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant},
			Out:      filepath.Join(d.work, "build", name),
		}
		b := builds[i]
		jobs = append(jobs, job{"hello " + crossimage.Name(p), func(ctx context.Context) error { return crossimage.GoBuild(ctx, b) }})
	}
	d.bin = d.opts.Binary
	if d.bin == "" {
		jobs = append(jobs, job{"manifest-push", func(ctx context.Context) error {
			var err error
			d.bin, err = binary.Build(ctx, d.work, binary.Options{})
			return err
		}})
		d.say("the first run compiles Go's runtime for five more platforms and manifest-push's dependencies:")
		d.say("about a minute and a half on two cores; later runs take seconds (the Go build cache)")
	}
	start := time.Now()
	type done struct {
		i   int
		err error
	}
	results := make(chan done, len(jobs))
	started := make(chan int, len(jobs))
	// At most three builds at a time: the go command parallelises each one
	// too, and more would only make them share the same cores.
	sem := make(chan struct{}, 3)
	for i, j := range jobs {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			started <- i
			results <- done{i, j.build(ctx)}
		}()
	}
	running := map[int]bool{}
	pending := map[int]bool{}
	for i := range jobs {
		pending[i] = true
	}
	tick := time.NewTicker(d.opts.Tick)
	defer tick.Stop()
	var errs []error
	for len(pending) > 0 {
		select {
		case i := <-started:
			running[i] = true
		case r := <-results:
			delete(pending, r.i)
			if r.err != nil {
				errs = append(errs, r.err)
			}
		case <-tick.C:
			var names []string
			waiting := 0
			for i, j := range jobs {
				switch {
				case pending[i] && running[i]:
					names = append(names, j.name)
				case pending[i]:
					waiting++
				}
			}
			d.say("%3ds  %d of %d built, %d waiting; compiling %s", int(time.Since(start).Seconds()), len(jobs)-len(pending), len(jobs), waiting, strings.Join(names, ", "))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	d.say("compiled in %s:", time.Since(start).Round(100*time.Millisecond))
	out := make([]string, len(builds))
	for i, b := range builds {
		env, err := crossimage.GoEnv(b.Platform)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(b.Out)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		d.say("%-16s %-40s %s", crossimage.Name(b.Platform), strings.Join(env[1:], " "), mib(fi.Size()))
		out[i] = b.Out
	}
	return out, nil
}

// configPlatform is what the image config of p's image says: linux/amd64 for
// every linux image (they were all built on one x86-64 machine), and the
// real platform, with its os.version, for the windows image (built on
// Windows).
func configPlatform(p ocispec.Platform) ocispec.Platform {
	if p.OS == "linux" {
		return ocispec.Platform{OS: "linux", Architecture: "amd64"}
	}
	return p
}

// imageFile is where the program lives in p's image.
func imageFile(p ocispec.Platform) string {
	if p.OS == "windows" {
		return "hello.exe"
	}
	return "hello"
}

func (d *run) pushImages(ctx context.Context, bins []string) error {
	for i, p := range Platforms {
		content, err := os.ReadFile(bins[i])
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		entrypoint := []string{"/hello"}
		if p.OS == "windows" {
			entrypoint = []string{`C:\hello.exe`}
		}
		tag := Version + "-" + crossimage.Suffix(p)
		desc, err := crossimage.Push(ctx, d.client, d.baseURL, Repo, tag, crossimage.Image{
			Platform:   configPlatform(p),
			Path:       imageFile(p),
			Binary:     content,
			Entrypoint: entrypoint,
		})
		if err != nil {
			return fmt.Errorf("demo: push %s:%s: %w", Repo, tag, err)
		}
		d.say("%-46s config says %-30s %s", d.host+"/"+Repo+":"+tag, crossimage.Name(configPlatform(p)), short(desc.Digest))
	}
	return nil
}

// flags returns manifest-push's arguments: the global flags this registry
// needs, then args.
func (d *run) flags(args ...string) []string {
	if d.opts.HTTPS {
		return args
	}
	return append([]string{"--plain-http"}, args...)
}

// assemble pushes the spec, pushes it again to show that a rerun writes
// nothing, and returns the digest.
func (d *run) assemble(ctx context.Context) (string, error) {
	var first bytes.Buffer
	if err := d.manifestPushTo(ctx, &first, d.flags("from-spec", SpecPath)...); err != nil {
		return "", err
	}
	dgst := digestLine(first.String())
	if dgst == "" {
		return "", errors.New("demo: manifest-push printed no Digest line")
	}
	d.say("")
	d.say("# again: same inputs, same digest, nothing written")
	var second bytes.Buffer
	if err := d.manifestPushTo(ctx, &second, d.flags("from-spec", SpecPath)...); err != nil {
		return "", err
	}
	if again := digestLine(second.String()); again != dgst {
		return "", fmt.Errorf("demo: the rerun gave digest %q, the first run %q", again, dgst)
	}
	return dgst, nil
}

// digestLine returns the digest of manifest-push's "Digest: sha256:... SIZE"
// line, or "".
func digestLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Digest:" {
			return f[1]
		}
	}
	return ""
}

func (d *run) manifestPush(ctx context.Context, args ...string) error {
	return d.manifestPushTo(ctx, io.Discard, args...)
}

// manifestPushTo runs manifest-push in the product's root with REGISTRY in
// its environment, shows the command and its output (stdout and stderr, as a
// terminal would), and copies the output to capture.
func (d *run) manifestPushTo(ctx context.Context, capture io.Writer, args ...string) error {
	shown := "manifest-push " + strings.Join(args, " ")
	if slices.Contains(args, "from-spec") {
		shown = "REGISTRY=" + d.host + " " + shown
	}
	d.say("$ %s", shown)
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Dir = d.root
	cmd.Env = append(os.Environ(), "REGISTRY="+d.host)
	var all bytes.Buffer
	cmd.Stdout = &all
	cmd.Stderr = &all
	err := cmd.Run()
	for _, line := range strings.Split(strings.TrimRight(all.String(), "\n"), "\n") {
		d.say("%s", line)
	}
	if _, werr := capture.Write(all.Bytes()); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("demo: %s: %w", shown, err)
	}
	return nil
}

// payoff selects each platform's entry from the pushed index, extracts the
// program and runs it.
func (d *run) payoff(ctx context.Context) ([]Greeting, ocispec.Descriptor, error) {
	_, body, _, err := imagetest.GetManifest(ctx, d.client, d.baseURL, Repo, Version)
	if err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("demo: read the index: %w", err)
	}
	var index ocispec.Index
	if err := json.Unmarshal(body, &index); err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("demo: read the index: %w", err)
	}
	var greetings []Greeting
	var windows ocispec.Descriptor
	var errs []error
	for _, p := range Platforms {
		want := p // a windows puller matches on its os.version as well
		entry, ok := Select(index, want)
		if !ok {
			errs = append(errs, fmt.Errorf("demo: the index has no entry for %s", platforms.Format(want)))
			continue
		}
		if p.OS != "linux" {
			windows = entry
			// The demo's windows image is a stand-in: a real one is built on
			// Windows FROM a nanoserver base layer.
			d.say("%-14s picks %s  (os.version %s): a Windows Server 2019 host would run this entry",
				platforms.Format(want), short(entry.Digest), entry.Platform.OSVersion)
			continue
		}
		g := d.greet(ctx, want, entry)
		greetings = append(greetings, g)
		switch {
		case g.Err != nil:
			errs = append(errs, fmt.Errorf("demo: %s: %w", platforms.Format(want), g.Err))
			d.say("%-14s picks %s  FAILED: %v", platforms.Format(want), short(entry.Digest), g.Err)
		case g.Runner == "":
			d.say("%-14s picks %s  not run: %s is not installed (%s)", platforms.Format(want), short(entry.Digest), g.Missing, InstallQemu)
		case g.Got != g.Want:
			errs = append(errs, fmt.Errorf("demo: %s greeted %q, want %q", platforms.Format(want), g.Got, g.Want))
			d.say("%-14s picks %s  %-22s %s   WRONG, want %s", platforms.Format(want), short(entry.Digest), runnerName(g.Runner), g.Got, g.Want)
		default:
			d.say("%-14s picks %s  %-22s %s", platforms.Format(want), short(entry.Digest), runnerName(g.Runner), g.Got)
		}
	}
	if missing := len(greetings) - countRun(greetings); missing > 0 {
		d.say("")
		d.say("%d platform(s) not run: install the qemu user-mode emulators (%s) and run make demo again", missing, InstallQemu)
	}
	return greetings, windows, errors.Join(errs...)
}

func countRun(gs []Greeting) int {
	n := 0
	for _, g := range gs {
		if g.Runner != "" {
			n++
		}
	}
	return n
}

// Select returns the entry of index a puller on platform p picks: among the
// entries containerd's platforms.Only(p) matches, the best one by its Less
// (for linux/arm/v7: v7 before v6 before v5).
func Select(index ocispec.Index, p ocispec.Platform) (ocispec.Descriptor, bool) {
	m := platforms.Only(p)
	var candidates []ocispec.Descriptor
	for _, desc := range index.Manifests {
		if desc.Platform != nil && m.Match(*desc.Platform) {
			candidates = append(candidates, desc)
		}
	}
	if len(candidates) == 0 {
		return ocispec.Descriptor{}, false
	}
	sort.SliceStable(candidates, func(i, j int) bool { return m.Less(*candidates[i].Platform, *candidates[j].Platform) })
	return candidates[0], true
}

// greet fetches entry's manifest and layer, extracts the program and runs
// it on platform p.
func (d *run) greet(ctx context.Context, p ocispec.Platform, entry ocispec.Descriptor) Greeting {
	g := Greeting{Platform: p, Entry: entry, Want: "Hello, " + platforms.Format(p) + "!"}
	runner, missing := d.runner(p)
	g.Missing = missing
	if runner == "" {
		return g
	}
	path, err := d.extract(ctx, p, entry)
	if err != nil {
		g.Err = err
		return g
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var cmd *exec.Cmd
	if runner == "native" {
		cmd = exec.CommandContext(ctx, path)
	} else {
		cmd = exec.CommandContext(ctx, runner, path)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	g.Runner = runner
	if err := cmd.Run(); err != nil {
		g.Err = fmt.Errorf("%s: %w: %s", cmd, err, strings.TrimSpace(out.String()))
	}
	g.Got = strings.TrimSpace(out.String())
	return g
}

// extract writes the program of entry's image into the work directory.
func (d *run) extract(ctx context.Context, p ocispec.Platform, entry ocispec.Descriptor) (string, error) {
	_, body, _, err := imagetest.GetManifest(ctx, d.client, d.baseURL, Repo, entry.Digest.String())
	if err != nil {
		return "", err
	}
	var manifest ocispec.Manifest
	if err := json.Unmarshal(body, &manifest); err != nil {
		return "", fmt.Errorf("manifest %s: %w", entry.Digest, err)
	}
	if len(manifest.Layers) != 1 {
		return "", fmt.Errorf("manifest %s has %d layers, want 1", entry.Digest, len(manifest.Layers))
	}
	layer, err := imagetest.GetBlob(ctx, d.client, d.baseURL, Repo, manifest.Layers[0].Digest)
	if err != nil {
		return "", err
	}
	content, _, err := crossimage.ReadFile(layer, imageFile(p))
	if err != nil {
		return "", err
	}
	dir := filepath.Join(d.work, "run", crossimage.Suffix(p))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, imageFile(p))
	if err := os.WriteFile(path, content, 0o755); err != nil {
		return "", err
	}
	return path, nil
}

// qemuArch maps GOARCH to the name qemu's user-mode emulators use.
var qemuArch = map[string]string{
	"amd64":    "x86_64",
	"386":      "i386",
	"arm64":    "aarch64",
	"arm":      "arm",
	"ppc64le":  "ppc64le",
	"ppc64":    "ppc64",
	"s390x":    "s390x",
	"riscv64":  "riscv64",
	"mips64le": "mips64el",
	"loong64":  "loongarch64",
}

// runner returns how to run a linux program for p here: "native", or the
// path of the qemu user-mode emulator; when neither is possible, the
// emulator that is missing.
func (d *run) runner(p ocispec.Platform) (runner, missing string) {
	if runtime.GOOS == "linux" && runtime.GOARCH == p.Architecture {
		return "native", ""
	}
	arch, ok := qemuArch[p.Architecture]
	if !ok {
		return "", "qemu for " + p.Architecture
	}
	// The programs are static, so qemu-user's dynamic emulators do as well.
	for _, name := range []string{"qemu-" + arch + "-static", "qemu-" + arch} {
		if path, err := d.opts.LookPath(name); err == nil {
			return path, ""
		}
	}
	return "", "qemu-" + arch + "-static"
}

func runnerName(runner string) string {
	if runner == "native" {
		return "(native)"
	}
	return "(" + filepath.Base(runner) + ")"
}

func short(d digest.Digest) string {
	s := d.String()
	if len(s) > 19 {
		return s[:19]
	}
	return s
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
