// Package e2e runs the built manifest-push binary against the real embedded
// distribution registry, with the counting proxy in front of it, and checks
// what a user sees: the bytes in the registry, the exit code, and what the
// command prints on stdout and stderr.
//
// Test images are pushed to the registry directly; the binary is pointed at
// the proxy (--plain-http), so the proxy's log holds the binary's requests
// and nothing else.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// bin is the manifest-push executable built by TestMain.
var bin string

func TestMain(m *testing.M) {
	os.Exit(clitest.Main(m, &bin, binary.Options{Race: os.Getenv("MP_E2E_RACE") == "1"}))
}

// env is one test's registry, the proxy in front of it and a scratch
// directory for spec files and an empty Docker config.
type env struct {
	*clitest.Env
	t *testing.T
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{Env: clitest.NewEnv(t, registrytest.Options{}), t: t}
}

// ref is repo:tag (or repo@digest) on the proxy host.
func (e *env) ref(s string) string { return e.Host() + "/" + s }

// image pushes a Docker image whose config says platform p (os/arch[/variant]).
func (e *env) image(repo, tag, p string) ocispec.Descriptor {
	e.t.Helper()
	return e.Push(repo, tag, imagetest.Image{Platform: plat(e.t, p)})
}

// plat parses os/arch[/variant].
func plat(t *testing.T, s string) ocispec.Platform {
	t.Helper()
	p, err := platforms.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs the binary with args and the base environment: HOME and
// DOCKER_CONFIG in the scratch directory (no credentials of the machine's
// user), REG set to the proxy's host.
func (e *env) run(args ...string) clitest.Result {
	e.t.Helper()
	return e.runWith(clitest.RunOptions{}, args...)
}

// runWith is run with the extras of o; o.Env comes after REG (and
// GOCOVERDIR, passed on when set).
func (e *env) runWith(o clitest.RunOptions, args ...string) clitest.Result {
	e.t.Helper()
	base := []string{"REG=" + e.Host()}
	if d := os.Getenv("GOCOVERDIR"); d != "" {
		base = append(base, "GOCOVERDIR="+d)
	}
	o.Env = append(base, o.Env...)
	return e.Run(bin, o, args...)
}

// digestLine parses the last line of stdout, "Digest: sha256:<hex> <size>".
func digestLine(t *testing.T, r clitest.Result) (digest.Digest, int64) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	f := strings.Fields(last)
	if len(f) != 3 || f[0] != "Digest:" {
		t.Fatalf("last line of stdout is %q, want Digest: sha256:<hex> <size>\n%s", last, r)
	}
	d, err := digest.Parse(f[1])
	if err != nil {
		t.Fatalf("digest line %q: %v", last, err)
	}
	n, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		t.Fatalf("digest line %q: %v", last, err)
	}
	return d, n
}

// stdoutLines returns stdout's lines without the trailing empty one.
func stdoutLines(r clitest.Result) []string {
	s := strings.TrimRight(r.Stdout, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// pushed is an index as the registry holds it.
type pushed struct {
	contentType string
	body        []byte
	digest      digest.Digest
	index       ocispec.Index
}

// index reads repo:ref from the registry directly and parses it as an index.
func (e *env) index(repo, ref string) pushed {
	e.t.Helper()
	ct, body, d, err := imagetest.GetManifest(context.Background(), e.Client, e.Registry.URL(), repo, ref)
	if err != nil {
		e.t.Fatalf("reading %s:%s: %v", repo, ref, err)
	}
	p := pushed{contentType: ct, body: body, digest: d}
	if err := json.Unmarshal(body, &p.index); err != nil {
		e.t.Fatalf("%s:%s is not an index: %v\n%s", repo, ref, err, body)
	}
	if p.index.MediaType != ct {
		e.t.Errorf("%s:%s: mediaType %q in the body, %q as Content-Type", repo, ref, p.index.MediaType, ct)
	}
	if p.index.SchemaVersion != 2 {
		e.t.Errorf("%s:%s: schemaVersion %d, want 2", repo, ref, p.index.SchemaVersion)
	}
	return p
}

// tags lists repo's tags, sorted; nil when the repository does not exist.
func (e *env) tags(repo string) []string {
	e.t.Helper()
	tags, err := imagetest.Tags(context.Background(), e.Client, e.Registry.URL(), repo)
	if errors.Is(err, imagetest.ErrNotFound) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	sort.Strings(tags)
	return tags
}

// hasImage checks that manifest d and every blob it names are in repo.
func (e *env) hasImage(repo string, d digest.Digest) {
	e.t.Helper()
	ctx := context.Background()
	_, body, _, err := imagetest.GetManifest(ctx, e.Client, e.Registry.URL(), repo, d.String())
	if err != nil {
		e.t.Errorf("manifest %s is not in %s: %v", d, repo, err)
		return
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		e.t.Fatal(err)
	}
	for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		ok, err := imagetest.BlobExists(ctx, e.Client, e.Registry.URL(), repo, b.Digest)
		if err != nil || !ok {
			e.t.Errorf("blob %s of %s is not in %s (%v)", b.Digest, d, repo, err)
		}
	}
}

// wantNoRequests fails unless nothing went through the proxy.
func (e *env) wantNoRequests(r clitest.Result) {
	e.t.Helper()
	if n := e.Proxy.Count(); n != 0 {
		e.t.Errorf("%d requests through the proxy, want none\n%s\n%s", n, clitest.Requests(e.Proxy), r)
	}
}

// wantNoWrites fails unless no PUT, POST, PATCH or DELETE went through.
func (e *env) wantNoWrites(r clitest.Result) {
	e.t.Helper()
	if n := e.Proxy.Writes(); n != 0 {
		e.t.Errorf("%d writes through the proxy, want none\n%s\n%s", n, clitest.Requests(e.Proxy), r)
	}
}

// entry is what an index entry must be.
type entry struct {
	desc     ocispec.Descriptor // digest, size and media type of the child
	platform ocispec.Platform
	// annotations are the entry's annotations; nil means none.
	annotations map[string]string
}

// wantEntries compares the index's entries with want, in order.
func wantEntries(t *testing.T, p pushed, want []entry) {
	t.Helper()
	got := p.index.Manifests
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d\n%s", len(got), len(want), p.body)
	}
	for i, w := range want {
		g := got[i]
		if g.Digest != w.desc.Digest || g.Size != w.desc.Size || g.MediaType != w.desc.MediaType {
			t.Errorf("entry %d is %s %d %s, want %s %d %s", i, g.Digest, g.Size, g.MediaType, w.desc.Digest, w.desc.Size, w.desc.MediaType)
		}
		if g.Platform == nil {
			t.Errorf("entry %d has no platform\n%s", i, p.body)
		} else if gp, wp := platforms.FormatAll(*g.Platform)+"|"+strings.Join(g.Platform.OSFeatures, ","),
			platforms.FormatAll(w.platform)+"|"+strings.Join(w.platform.OSFeatures, ","); gp != wp || g.Platform.OSVersion != w.platform.OSVersion {
			t.Errorf("entry %d platform %+v, want %+v", i, *g.Platform, w.platform)
		}
		if !equalMaps(g.Annotations, w.annotations) {
			t.Errorf("entry %d annotations %v, want %v", i, g.Annotations, w.annotations)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// selectFor picks the entry of idx that containerd picks for a host of
// platform host: the entries its platforms.Only matcher matches, the best
// by the matcher's Less ordering (stable, so index order breaks ties) —
// what `docker run` / `ctr run` on that host pulls.
func selectFor(idx ocispec.Index, host ocispec.Platform) (ocispec.Descriptor, bool) {
	m := platforms.Only(host)
	var cands []ocispec.Descriptor
	for _, d := range idx.Manifests {
		if d.Platform != nil && m.Match(*d.Platform) {
			cands = append(cands, d)
		}
	}
	if len(cands) == 0 {
		return ocispec.Descriptor{}, false
	}
	sort.SliceStable(cands, func(i, j int) bool { return m.Less(*cands[i].Platform, *cands[j].Platform) })
	return cands[0], true
}

// wantSelected checks that containerd's matching over idx picks, for each
// host platform, the child digest given.
func wantSelected(t *testing.T, idx ocispec.Index, want map[string]selection) {
	t.Helper()
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w := want[n]
		got, ok := selectFor(idx, w.host)
		if w.digest == "" {
			if ok {
				t.Errorf("host %s: containerd picks %s (%s), want no match", n, got.Digest, platforms.FormatAll(*got.Platform))
			}
			continue
		}
		if !ok {
			t.Errorf("host %s: containerd matches no entry of the index", n)
			continue
		}
		if got.Digest != w.digest {
			t.Errorf("host %s: containerd picks %s (%s), want %s", n, got.Digest, platforms.FormatAll(*got.Platform), w.digest)
		}
	}
}

// selection is a host platform and the child it must get (empty: none).
type selection struct {
	host   ocispec.Platform
	digest digest.Digest
}

// jsonResult is one line of --output json.
type jsonResult struct {
	Target    string        `json:"target"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	MediaType string        `json:"mediaType"`
	Changed   bool          `json:"changed"`
	DryRun    bool          `json:"dryRun"`
	Tags      []jsonTag     `json:"tags"`
	Manifests []jsonEntry   `json:"manifests"`
	Changes   []jsonChange  `json:"changes"`
	Warnings  []string      `json:"warnings"`
	Rounds    int           `json:"rounds"`
	ByDigest  bool          `json:"byDigest"`
	Staging   *jsonStaging  `json:"staging"`
	// Index is the index document, with --dry-run only.
	Index json.RawMessage `json:"index"`
	Spec  string          `json:"spec"`
	Error string          `json:"error"`
}

// jsonStaging is what the completeness gate did.
type jsonStaging struct {
	Tag      string   `json:"tag"`
	Complete bool     `json:"complete"`
	Missing  []string `json:"missing"`
}

type jsonChange struct {
	Platform string        `json:"platform"`
	Change   string        `json:"change"`
	From     digest.Digest `json:"from"`
	To       digest.Digest `json:"to"`
}

type jsonTag struct {
	Tag      string        `json:"tag"`
	Status   string        `json:"status"`
	Previous digest.Digest `json:"previous"`
}

type jsonEntry struct {
	Source    string         `json:"source"`
	Digest    digest.Digest  `json:"digest"`
	MediaType string         `json:"mediaType"`
	Size      int64          `json:"size"`
	Platform  string         `json:"platform"`
	Copied    bool           `json:"copied"`
	Referrers []jsonReferrer `json:"referrers"`
}

type jsonReferrer struct {
	Digest       digest.Digest `json:"digest"`
	MediaType    string        `json:"mediaType"`
	ArtifactType string        `json:"artifactType"`
	Subject      digest.Digest `json:"subject"`
	Tag          string        `json:"tag"`
	Copied       bool          `json:"copied"`
}

// jsonLines parses stdout as JSON lines, strictly: every line one object
// with only the known fields, and every field present.
func jsonLines(t *testing.T, r clitest.Result) []jsonResult {
	t.Helper()
	var out []jsonResult
	for _, line := range stdoutLines(r) {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("stdout line is not a JSON object: %v\n%q\n%s", err, line, r)
		}
		for _, k := range []string{"target", "digest", "size", "mediaType", "changed", "dryRun", "tags", "manifests", "changes", "warnings", "spec"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("JSON line has no %q\n%s", k, line)
			}
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var jr jsonResult
		if err := dec.Decode(&jr); err != nil {
			t.Fatalf("JSON line: %v\n%s", err, line)
		}
		out = append(out, jr)
	}
	return out
}

// linuxImages pushes Docker images for linux amd64, arm64 and arm/v7 into
// repo, tagged by platform (amd64, arm64, armv7).
func (e *env) linuxImages(repo string) (amd64, arm64, armv7 ocispec.Descriptor) {
	e.t.Helper()
	return e.image(repo, "amd64", "linux/amd64"), e.image(repo, "arm64", "linux/arm64"), e.image(repo, "armv7", "linux/arm/v7")
}
