// Package bench measures what a push costs: it runs the manifest-push
// binary, as a separate process as users run it, against the embedded
// registry behind the counting proxy that adds a fixed delay to every
// request (a remote registry's round trip), and reports for each index size
// a first push into a fresh repository and its rerun: wall time, wall time
// in round trips, requests, 401s, writes, peak concurrency and the peak
// memory of the process. The sources are in another repository of the same
// registry (cross-repository), one single-layer image per entry, each with
// its own layer so that every mount is a real one. The registry may sit
// behind a token server, as Docker Hub does (Config.Token).
//
// cmd/bench (make bench) prints the report with the peers' numbers and the
// goals of issue 5; the package's test runs it with a tiny index.
package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/integration/internal/testca"
	"github.com/manifest-push/manifest-push/integration/internal/tokenauth"
)

// Config configures Run. Binary is required; for the rest the zero value
// is useful.
type Config struct {
	// Binary is the manifest-push executable to measure.
	Binary string
	// Sizes are the numbers of index entries measured. Nil means 8, 32 and
	// 256.
	Sizes []int
	// Delay is added by the proxy to every request. Zero means no delay
	// (and no wall time in round trips).
	Delay time.Duration
	// Tags is the number of tags pushed: the target's and Tags-1 extra
	// ones. Zero means 3.
	Tags int
	// Runs is how many times each size is measured, each time into a fresh
	// target repository; the median wall time is reported. Zero means 1.
	Runs int
	// Jobs is passed as --jobs. Zero means the binary's default.
	Jobs int
	// Trace keeps the proxy's record of every request in the rows.
	Trace bool
	// Log hears progress (setup, each run). Nil means none.
	Log io.Writer
	// MaxRSS is the maxrss helper (./maxrss) that runs the binary and
	// reports its wall time and peak memory. Empty means build it.
	MaxRSS string
	// Peers are the peer tools' executables by PeerTool.Name (see
	// InstallPeers): each is measured on the sizes up to 32, over plain
	// HTTP only, through the same proxy. Nil measures none.
	Peers map[string]string
	// TLS serves the registry and the proxy over HTTPS, the proxy offering
	// HTTP/2 (ALPN h2) as registries on the internet do; the binary trusts
	// their CA through --certs-dir. False means plain HTTP/1.1.
	TLS bool
	// Token puts the registry behind a token server, as Docker Hub is:
	// every request without a bearer token is answered 401 with a
	// challenge, and the binary logs in with a user and password from its
	// Docker config. The peers are not measured then. False means a
	// registry that asks for nothing.
	Token bool
	// TagParam puts the proxy's TagParameter profile in front of the
	// registry: it implements the tag parameter of the distribution-spec
	// (a manifest PUT by digest with ?tag=A&tag=B writes the tags too).
	// False means the registry as it is, which ignores the parameter.
	TagParam bool
}

// Phases measured for each size.
const (
	FirstPush = "first push"
	Rerun     = "rerun"
)

// Row is one measurement: a size and phase, over Config.Runs runs.
type Row struct {
	N     int
	Phase string
	// Wall is the median wall time of the process; MinWall and MaxWall
	// the spread over the runs.
	Wall, MinWall, MaxWall time.Duration
	// RoundTrips is Wall divided by the delay; zero without a delay.
	RoundTrips float64
	// Requests, Writes (PUT, POST, PATCH, DELETE) and PeakConcurrency seen
	// by the proxy: the largest over the runs.
	Requests, Writes, PeakConcurrency int
	// Unauthorized is the requests answered 401 (a challenge, each a round
	// trip spent on nothing else): the largest over the runs.
	Unauthorized int
	// ManifestGETs and ManifestHEADs are the requests for manifests by
	// method (Docker Hub counts every manifest GET against a pull limit, a
	// HEAD never): the largest over the runs.
	ManifestGETs, ManifestHEADs int
	// ManifestPUTs are the manifest PUTs (children, index, tags), and
	// TaggedPUTs those of them that carried the tag parameter: the largest
	// over the runs.
	ManifestPUTs, TaggedPUTs int
	// PeakRSS is the largest peak resident set size of the process, in
	// bytes; zero where the system does not report it.
	PeakRSS int64
	// Changed is what the binary's JSON output said (the last run).
	Changed bool
	// Trace is the last run's requests, with Config.Trace.
	Trace []proxy.Request
}

// Report is the outcome of Run.
type Report struct {
	// Proto is the protocol the binary spoke to the proxy (HTTP/1.1,
	// HTTP/2.0), as the proxy saw it.
	Proto string
	// Token says the registry was behind a token server (Config.Token).
	Token bool
	Delay time.Duration
	Tags  int
	Runs  int
	Rows  []Row
	// PeerRows are the peer tools measured in the same run.
	PeerRows []PeerRow
	// Setup is the time spent packing the source images (not measured).
	Setup time.Duration
}

// Row returns the row of size n and phase, if measured.
func (r *Report) Row(n int, phase string) (Row, bool) {
	for _, row := range r.Rows {
		if row.N == n && row.Phase == phase {
			return row, true
		}
	}
	return Row{}, false
}

// Run starts a registry and the proxy, packs the source images of every
// size, and measures each size's first push and rerun.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Binary == "" {
		return nil, errors.New("bench: no binary")
	}
	if cfg.Sizes == nil {
		cfg.Sizes = []int{8, 32, 256}
	}
	if cfg.Tags <= 0 {
		cfg.Tags = 3
	}
	if cfg.Runs <= 0 {
		cfg.Runs = 1
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	var (
		ropts  registrytest.Options
		ts     *tokenauth.TokenServer
		pxOpts proxy.Options
		ca     *testca.CA
		err    error
	)
	if cfg.Token {
		if ts, err = tokenauth.StartTokenServer(tokenauth.TokenOptions{Username: benchUser, Password: benchPassword}); err != nil {
			return nil, err
		}
		defer ts.Close()
		ropts.Token = ts.RegistryAuth()
	}
	reg, err := registrytest.Start(ropts)
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	packer := reg.Client()
	if ts != nil {
		packer = &http.Client{Transport: ts.Transport(reg.Transport())}
	}
	// With TLS, the proxy is the TLS front (as a registry's load balancer
	// is) and speaks plain HTTP to the registry behind it, on this machine.
	if cfg.TLS {
		if ca, err = testca.New(); err != nil {
			return nil, err
		}
		cert, err := ca.ServerCertificate()
		if err != nil {
			return nil, err
		}
		pxOpts = proxy.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, HTTP2: true}
	}
	px, err := proxy.Start(reg.URL(), pxOpts)
	if err != nil {
		return nil, err
	}
	defer px.Close()
	if cfg.TagParam {
		prof := proxy.TagParameter(proxy.ProfileOptions{Upstream: reg.URL(), Client: reg.Client()})
		defer prof.Close()
		px.SetFault(prof.Fault)
	}
	dir, err := os.MkdirTemp("", "manifest-push-bench-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	transport := []string{"--plain-http"}
	if cfg.TLS {
		certs := filepath.Join(dir, "certs.d")
		if _, err := ca.WriteCertsDir(certs, px.Host()); err != nil {
			return nil, err
		}
		transport = []string{"--certs-dir", certs}
		if ts != nil {
			// The token server speaks plain HTTP: the user's choice for
			// its host only.
			realm, err := url.Parse(ts.Realm())
			if err != nil {
				return nil, err
			}
			transport = append(transport, "--plain-http-host", realm.Host)
		}
	}
	dockerCfg := filepath.Join(dir, "docker")
	if err := os.Mkdir(dockerCfg, 0o700); err != nil {
		return nil, err
	}
	if ts != nil {
		if err := writeLogin(dockerCfg, px.Host()); err != nil {
			return nil, err
		}
	}

	if cfg.MaxRSS == "" {
		if cfg.MaxRSS, err = BuildMaxRSS(ctx, dir); err != nil {
			return nil, err
		}
	}

	rep := &Report{Delay: cfg.Delay, Tags: cfg.Tags, Runs: cfg.Runs, Token: cfg.Token}
	start := time.Now()
	for _, n := range cfg.Sizes {
		fmt.Fprintf(logw, "packing %d images...\n", n)
		if err := pack(ctx, packer, reg.URL(), n); err != nil {
			return nil, err
		}
	}
	rep.Setup = time.Since(start)

	px.SetDelay(cfg.Delay)
	r := runner{cfg: cfg, px: px, dir: dir, dockerCfg: dockerCfg, transport: transport, log: logw}
	for _, n := range cfg.Sizes {
		rows, err := r.measure(ctx, n)
		if err != nil {
			return nil, err
		}
		rep.Rows = append(rep.Rows, rows...)
		if n <= 32 && !cfg.TLS && !cfg.Token && len(cfg.Peers) > 0 {
			peers, err := r.measurePeers(ctx, n)
			if err != nil {
				return nil, err
			}
			rep.PeerRows = append(rep.PeerRows, peers...)
		}
	}
	rep.Proto = r.proto
	return rep, nil
}

// The account the binary logs in with behind a token server.
const (
	benchUser     = "bench"
	benchPassword = "bench-password"
)

// writeLogin writes a Docker config.json into dir that logs in to host as
// benchUser, as docker login does.
func writeLogin(dir, host string) error {
	auth := base64.StdEncoding.EncodeToString([]byte(benchUser + ":" + benchPassword))
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o600)
}

// sourceRepo is where the images of an index of n entries are packed.
func sourceRepo(n int) string { return fmt.Sprintf("src/n%d", n) }

// pack pushes n single-layer images, each with its own layer (it holds the
// platform's name), straight to the registry at base with client: the
// proxy does not see them.
func pack(ctx context.Context, client *http.Client, base string, n int) error {
	const workers = 16
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range next {
				img := imagetest.Image{Platform: imagetest.NthPlatform(i), Format: imagetest.Docker}
				if _, err := imagetest.PushImage(ctx, client, base, sourceRepo(n), fmt.Sprintf("img-%d", i), img); err != nil {
					errs[w] = fmt.Errorf("packing image %d of %d: %w", i, n, err)
					cancel()
					return
				}
			}
		})
	}
	func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	return errors.Join(errs...)
}

type runner struct {
	cfg       Config
	px        *proxy.Proxy
	dir       string
	dockerCfg string
	transport []string // --plain-http, or --certs-dir DIR
	log       io.Writer
	proto     string // what the last run spoke
}

// specFile writes the spec of an index of n entries into target.
func (r *runner) specFile(n int, target string) (string, error) {
	var b strings.Builder
	host := r.px.Host()
	fmt.Fprintf(&b, "image: %s/%s:1.0\n", host, target)
	if r.cfg.Tags > 1 {
		b.WriteString("tags:\n")
		for t := 1; t < r.cfg.Tags; t++ {
			fmt.Fprintf(&b, "  - %q\n", extraTag(t))
		}
	}
	b.WriteString("manifests:\n")
	for i := range n {
		p := imagetest.NthPlatform(i)
		fmt.Fprintf(&b, "  - image: %s/%s:img-%d\n    platform: {os: %s, architecture: %s", host, sourceRepo(n), i, p.OS, p.Architecture)
		if p.Variant != "" {
			fmt.Fprintf(&b, ", variant: %s", p.Variant)
		}
		if p.OSVersion != "" {
			fmt.Fprintf(&b, ", os.version: %q", p.OSVersion)
		}
		b.WriteString("}\n")
	}
	file := filepath.Join(r.dir, strings.ReplaceAll(target, "/", "_")+".yaml")
	return file, os.WriteFile(file, []byte(b.String()), 0o600)
}

// extraTag names the t-th extra tag: 1, latest, t3, t4...
func extraTag(t int) string {
	switch t {
	case 1:
		return "1"
	case 2:
		return "latest"
	}
	return fmt.Sprintf("t%d", t)
}

// sample is one process run.
type sample struct {
	wall                   time.Duration
	requests, writes, peak int
	gets, heads            int
	puts, tagged           int
	unauthorized           int
	rss                    int64
	changed                bool
	trace                  []proxy.Request
}

// measure runs the first push and the rerun of an index of n entries,
// cfg.Runs times, each time into a fresh target repository.
func (r *runner) measure(ctx context.Context, n int) ([]Row, error) {
	var first, rerun []sample
	for k := range r.cfg.Runs {
		file, err := r.specFile(n, fmt.Sprintf("bench/n%d-run%d", n, k+1))
		if err != nil {
			return nil, err
		}
		s, err := r.push(ctx, file)
		if err != nil {
			return nil, fmt.Errorf("first push at N=%d: %w", n, err)
		}
		first = append(first, s)
		s, err = r.push(ctx, file)
		if err != nil {
			return nil, fmt.Errorf("rerun at N=%d: %w", n, err)
		}
		rerun = append(rerun, s)
		fmt.Fprintf(r.log, "N=%d run %d: first push %v, rerun %v\n", n, k+1, first[k].wall.Round(time.Millisecond), s.wall.Round(time.Millisecond))
	}
	return []Row{r.row(n, FirstPush, first), r.row(n, Rerun, rerun)}, nil
}

func (r *runner) row(n int, phase string, samples []sample) Row {
	walls := make([]time.Duration, len(samples))
	row := Row{N: n, Phase: phase}
	for i, s := range samples {
		walls[i] = s.wall
		row.Requests = max(row.Requests, s.requests)
		row.Writes = max(row.Writes, s.writes)
		row.PeakConcurrency = max(row.PeakConcurrency, s.peak)
		row.PeakRSS = max(row.PeakRSS, s.rss)
		row.ManifestGETs = max(row.ManifestGETs, s.gets)
		row.ManifestHEADs = max(row.ManifestHEADs, s.heads)
		row.Unauthorized = max(row.Unauthorized, s.unauthorized)
		row.ManifestPUTs = max(row.ManifestPUTs, s.puts)
		row.TaggedPUTs = max(row.TaggedPUTs, s.tagged)
	}
	last := samples[len(samples)-1]
	row.Changed = last.changed
	row.Trace = last.trace
	slices.Sort(walls)
	row.Wall, row.MinWall, row.MaxWall = walls[len(walls)/2], walls[0], walls[len(walls)-1]
	if r.cfg.Delay > 0 {
		row.RoundTrips = float64(row.Wall) / float64(r.cfg.Delay)
	}
	return row
}

// push runs the binary once on a spec file, through the maxrss helper, and
// samples what the proxy and the system saw.
func (r *runner) push(ctx context.Context, file string) (sample, error) {
	result := filepath.Join(r.dir, "maxrss.out")
	args := append([]string{result, r.cfg.Binary}, r.transport...)
	args = append(args, "--docker-cfg", r.dockerCfg, "--output", "json")
	if r.cfg.Jobs > 0 {
		args = append(args, "--jobs", fmt.Sprint(r.cfg.Jobs))
	}
	args = append(args, "from-spec", file)
	cmd := exec.CommandContext(ctx, r.cfg.MaxRSS, args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+r.dockerCfg)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r.px.Reset()
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%s: %w\n%s", cmd, err, stderr.String())
	}
	var out struct {
		Changed bool `json:"changed"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return sample{}, fmt.Errorf("reading the JSON result %q: %w", stdout.String(), err)
	}
	data, err := os.ReadFile(result)
	if err != nil {
		return sample{}, err
	}
	var rss, wall int64
	if _, err := fmt.Sscan(string(data), &rss, &wall); err != nil {
		return sample{}, fmt.Errorf("reading %s %q: %w", result, data, err)
	}
	s := sample{
		wall:     time.Duration(wall),
		requests: r.px.Count(),
		writes:   r.px.Writes(),
		peak:     r.px.PeakConcurrency(),
		rss:      rss,
		changed:  out.Changed,
	}
	reqs := r.px.Requests()
	if len(reqs) > 0 {
		r.proto = reqs[0].Proto
	}
	s.gets, s.heads = manifestReads(reqs)
	s.puts, s.tagged = manifestPuts(reqs)
	for _, q := range reqs {
		if q.Status == http.StatusUnauthorized {
			s.unauthorized++
		}
	}
	if r.cfg.Trace {
		s.trace = r.px.Requests()
	}
	return s, nil
}

// BuildMaxRSS builds the maxrss helper into dir and returns its path.
func BuildMaxRSS(ctx context.Context, dir string) (string, error) {
	root, err := binary.ProductRoot(ctx)
	if err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Join(dir, "maxrss"))
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/maxrss")
	cmd.Dir = filepath.Join(root, "integration")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the maxrss helper: %w\n%s", err, msg)
	}
	return out, nil
}

// manifestPuts counts the PUT requests for manifests among reqs, and
// those of them with the tag parameter.
func manifestPuts(reqs []proxy.Request) (puts, tagged int) {
	for _, q := range reqs {
		if q.Method != http.MethodPut || !strings.Contains(q.Path, "/manifests/") {
			continue
		}
		puts++
		if v, err := url.ParseQuery(q.RawQuery); err == nil && len(v["tag"]) > 0 {
			tagged++
		}
	}
	return puts, tagged
}

// manifestReads counts the GET and HEAD requests for manifests among reqs.
func manifestReads(reqs []proxy.Request) (gets, heads int) {
	for _, q := range reqs {
		if !strings.Contains(q.Path, "/manifests/") {
			continue
		}
		switch q.Method {
		case "GET":
			gets++
		case "HEAD":
			heads++
		}
	}
	return gets, heads
}
