// Package signing runs manifest-push --sign with the real cosign (make
// test-deps builds it once) against the embedded distribution registry,
// and checks what a user sees: cosign verify passing for the tag and every
// child, tags that move only once everything is signed, the signer's runs
// counted, exit codes and messages.
package signing

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/cosigntest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

var bin string

func TestMain(m *testing.M) {
	os.Exit(clitest.Main(m, &bin, binary.Options{}))
}

// env is one test's registry (with the counting proxy), cosign, a key
// pair and a signer that counts its runs.
type env struct {
	*clitest.Env
	t      *testing.T
	cosign string
	keys   cosigntest.Keys
	// signer is a script that notes each run in runs, then runs cosign.
	signer, runs string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cosign := cosigntest.Need(t)
	e := &env{Env: clitest.NewEnv(t, registrytest.Options{}), t: t, cosign: cosign, keys: cosigntest.NewKeys(t, cosign)}
	e.runs = filepath.Join(e.Dir, "signer-runs")
	e.signer = e.WriteFile("bin/counting-cosign", fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> '%s'\nexec '%s' \"$@\"\n", e.runs, cosign))
	if err := os.Chmod(e.signer, 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

// signerRuns are the argument lines of the signer's runs so far.
func (e *env) signerRuns() []string {
	b, err := os.ReadFile(e.runs)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// run runs manifest-push with COSIGN_PASSWORD set to password.
func (e *env) run(password string, args ...string) clitest.Result {
	e.t.Helper()
	return e.Run(bin, clitest.RunOptions{Env: []string{"COSIGN_PASSWORD=" + password}, Timeout: 5 * time.Minute}, append([]string{"--plain-http"}, args...)...)
}

// sources pushes a buildx index (linux/amd64, linux/arm64, each with its
// attestation manifest) and a linux/s390x image, and returns the spec
// that publishes them as app:1.0 and app:latest, signed with the key pair
// by the counting signer.
func (e *env) sources(repo string) string {
	e.t.Helper()
	ctx := context.Background()
	if _, err := imagetest.PushBuildx(ctx, e.Client, e.Registry.URL(), "src/bx", "1", []imagetest.Image{
		{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}},
		{Platform: ocispec.Platform{OS: "linux", Architecture: "arm64"}},
	}); err != nil {
		e.t.Fatal(err)
	}
	e.LinuxImage("src/s390x", "1", "s390x")
	return e.spec(repo, true)
}

// spec is the spec of the sources pushed by sources; with sign, it has a
// sign key naming the counting signer and the key.
func (e *env) spec(repo string, sign bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "image: %s/%s:1.0\ntags: [latest]\ntype: oci\n", e.Host(), repo)
	if sign {
		fmt.Fprintf(&b, "sign:\n  cmd: %s\n  args: [%s]\n", e.signer, quoteList(e.keys.SignArgs()))
	}
	fmt.Fprintf(&b, "manifests:\n  - image: %s/src/bx:1\n  - image: %s/src/s390x:1\n", e.Host(), e.Host())
	name := repo + "-unsigned.yaml"
	if sign {
		name = repo + ".yaml"
	}
	return e.WriteFile(name, b.String())
}

func quoteList(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, ", ")
}

// artifacts are the index repo:ref and every manifest it lists.
func (e *env) artifacts(repo, ref string) (digest.Digest, []digest.Digest) {
	e.t.Helper()
	_, body, d, err := imagetest.GetManifest(context.Background(), e.Client, e.Registry.URL(), repo, ref)
	if err != nil {
		e.t.Fatalf("reading %s:%s: %v", repo, ref, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		e.t.Fatal(err)
	}
	var children []digest.Digest
	for _, m := range idx.Manifests {
		children = append(children, m.Digest)
	}
	return d, children
}

// verify runs cosign verify for repo:ref and every child by digest.
func (e *env) verify(host, repo, ref string) {
	e.t.Helper()
	d, children := e.artifacts(repo, ref)
	if out, err := e.keys.Verify(e.cosign, host+"/"+repo+":"+ref); err != nil {
		e.t.Errorf("cosign verify %s/%s:%s (%s): %v\n%s", host, repo, ref, d, err, out)
	}
	for _, c := range children {
		if out, err := e.keys.Verify(e.cosign, host+"/"+repo+"@"+c.String()); err != nil {
			e.t.Errorf("cosign verify %s/%s@%s: %v\n%s", host, repo, c, err, out)
		}
	}
}

// unsigned lists the artifacts of the index d in repo (d and its
// children) that have no cosign signature tag.
func unsigned(ctx context.Context, e *env, repo string, d digest.Digest, children []digest.Digest) ([]digest.Digest, error) {
	tags, err := imagetest.Tags(ctx, e.Client, e.Registry.URL(), repo)
	if err != nil {
		return nil, err
	}
	var out []digest.Digest
	for _, a := range append([]digest.Digest{d}, children...) {
		if !slices.Contains(tags, "sha256-"+a.Encoded()+".sig") {
			out = append(out, a)
		}
	}
	return out, nil
}

// poll reads repo:tag every 50 ms until stop, and for each index it sees
// there checks at once that it and every child are signed; it returns
// what it saw unsigned, and the digests seen.
func (e *env) poll(repo, tag string, stop <-chan struct{}) func() ([]string, []digest.Digest) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var problems []string
	var seen []digest.Digest
	wg.Go(func() {
		ctx := context.Background()
		checked := map[digest.Digest]bool{}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for last := false; !last; {
			select {
			case <-stop:
				last = true // one more look, after the push
			case <-tick.C:
			}
			desc, err := imagetest.HeadManifest(ctx, e.Client, e.Registry.URL(), repo, tag)
			if err != nil || checked[desc.Digest] {
				continue
			}
			_, body, d, err := imagetest.GetManifest(ctx, e.Client, e.Registry.URL(), repo, d0(desc.Digest))
			if err != nil {
				continue
			}
			var idx ocispec.Index
			if json.Unmarshal(body, &idx) != nil {
				continue
			}
			var children []digest.Digest
			for _, m := range idx.Manifests {
				children = append(children, m.Digest)
			}
			bad, err := unsigned(ctx, e, repo, d, children)
			mu.Lock()
			checked[d] = true
			seen = append(seen, d)
			if err != nil {
				problems = append(problems, err.Error())
			} else if len(bad) > 0 {
				problems = append(problems, fmt.Sprintf("%s:%s named %s while %v had no signature", repo, tag, d, bad))
			}
			mu.Unlock()
		}
	})
	return func() ([]string, []digest.Digest) {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return problems, seen
	}
}

func d0(d digest.Digest) string { return d.String() }

// TestSignFromSpec: from-spec with a sign key signs the index and every
// child (attestation manifests too) before the tags move; cosign verify
// passes for the tag and every child by digest; a poller reading the tag
// every 50 ms never sees an index with an unsigned artifact; a rerun runs
// the signer zero times.
func TestSignFromSpec(t *testing.T) {
	e := newEnv(t)
	specFile := e.sources("app")
	stop := make(chan struct{})
	wait := e.poll("app", "1.0", stop)
	r := e.run(cosigntest.Password, "from-spec", specFile)
	close(stop)
	clitest.WantCode(t, r, 0)
	problems, seen := wait()
	for _, p := range problems {
		t.Error(p)
	}
	d, children := e.artifacts("app", "1.0")
	if !slices.Contains(seen, d) {
		t.Errorf("the poller never saw app:1.0 at %s (saw %v)", d, seen)
	}
	if len(children) != 5 {
		t.Fatalf("app:1.0 lists %d manifests, want 5 (two images, two attestations, s390x)", len(children))
	}
	runs := e.signerRuns()
	if len(runs) != 6 {
		t.Errorf("the signer ran %d times, want 6 (the index and 5 children):\n%s", len(runs), strings.Join(runs, "\n"))
	}
	for _, a := range append([]digest.Digest{d}, children...) {
		want := e.Host() + "/app@" + a.String()
		if !slices.ContainsFunc(runs, func(l string) bool { return strings.HasSuffix(l, " "+want) }) {
			t.Errorf("no signer run for %s", want)
		}
	}
	if !strings.Contains(r.Stdout, "Signatures: 6 signed, 0 already signed") {
		t.Errorf("stdout does not say what was signed:\n%s", r)
	}
	e.verify(e.Host(), "app", "1.0")
	if got := e.TagDigest("app", "latest"); got != d {
		t.Errorf("app:latest is %s, want %s", got, d)
	}

	// A rerun: every tag right, everything signed: no signer runs.
	r = e.run(cosigntest.Password, "from-spec", specFile)
	clitest.WantCode(t, r, 0)
	if n := len(e.signerRuns()); n != 6 {
		t.Errorf("the rerun ran the signer %d times, want 0", n-6)
	}
	if !strings.Contains(r.Stdout, "Signatures: 0 signed, 6 already signed") {
		t.Errorf("the rerun's stdout does not say everything was signed already:\n%s", r)
	}
}

// TestSignAddedLater: --sign on a push whose tags are right already signs
// what is unsigned and moves no tag.
func TestSignAddedLater(t *testing.T) {
	e := newEnv(t)
	e.sources("app")
	plain := e.spec("app", false)
	r := e.run("", "from-spec", plain)
	clitest.WantCode(t, r, 0)
	d, _ := e.artifacts("app", "1.0")
	before := e.Proxy.Count()

	args := append([]string{"from-spec", "--sign", "--signer", e.signer}, signArgFlags(e.keys.SignArgs())...)
	r = e.run(cosigntest.Password, append(args, plain)...)
	clitest.WantCode(t, r, 0)
	if n := len(e.signerRuns()); n != 6 {
		t.Errorf("the signer ran %d times, want 6", n)
	}
	if got := e.TagDigest("app", "1.0"); got != d {
		t.Errorf("app:1.0 moved to %s from %s", got, d)
	}
	for _, req := range e.Proxy.Requests()[before:] {
		if req.IsWrite() && (strings.HasSuffix(req.Path, "/manifests/1.0") || strings.HasSuffix(req.Path, "/manifests/latest")) {
			t.Errorf("a tag was written: %s", req)
		}
	}
	if !strings.Contains(r.Stdout, "app:1.0 unchanged") {
		t.Errorf("stdout does not say app:1.0 is unchanged:\n%s", r)
	}
	e.verify(e.Host(), "app", "1.0")
}

func signArgFlags(args []string) []string {
	var out []string
	for _, a := range args {
		out = append(out, "--sign-arg="+a)
	}
	return out
}

// TestSignFails: a signer that fails (the key's password wrong) moves no
// tag: exit 1, the index there by digest, each unsigned digest named with
// the signer's message; the rerun with the right password signs and
// moves the tags.
func TestSignFails(t *testing.T) {
	e := newEnv(t)
	specFile := e.sources("app")
	r := e.run("wrong-password", "from-spec", specFile)
	clitest.WantCode(t, r, 1)
	if tags := e.tagsOf("app"); slices.Contains(tags, "1.0") || slices.Contains(tags, "latest") {
		t.Errorf("a tag moved although signing failed: app has tags %v", tags)
	}
	runs := e.signerRuns()
	if len(runs) != 6 {
		t.Fatalf("the signer ran %d times, want 6", len(runs))
	}
	// The index and its children are there by digest, each named in the
	// error with the signer's own words.
	var named []string
	for _, l := range runs {
		f := strings.Fields(l)
		named = append(named, f[len(f)-1])
	}
	for _, a := range named {
		_, d, _ := strings.Cut(a, "@")
		if _, err := imagetest.HeadManifest(context.Background(), e.Client, e.Registry.URL(), "app", d); err != nil {
			t.Errorf("%s is not in the registry by digest: %v", a, err)
		}
		if !strings.Contains(r.Stderr, a+": ") {
			t.Errorf("stderr does not name %s:\n%s", a, r.Stderr)
		}
	}
	clitest.WantStderr(t, r, "signing failed for 6 artifacts, so no tag moved", "decrypt")

	r = e.run(cosigntest.Password, "from-spec", specFile)
	clitest.WantCode(t, r, 0)
	if n := len(e.signerRuns()) - 6; n != 6 {
		t.Errorf("the rerun ran the signer %d times, want 6", n)
	}
	e.verify(e.Host(), "app", "1.0")
}

func (e *env) tagsOf(repo string) []string {
	e.t.Helper()
	tags, err := imagetest.Tags(context.Background(), e.Client, e.Registry.URL(), repo)
	if errors.Is(err, imagetest.ErrNotFound) {
		return nil // distribution: a repository without tags is not known
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return tags
}

// TestSignerMissing: the signer not on PATH is exit 2 before any
// request, saying how to install it.
func TestSignerMissing(t *testing.T) {
	e := newEnv(t)
	specFile := e.spec("app", false)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"default cosign", []string{"--sign"}, "install cosign"},
		{"named signer", []string{"--signer", "no-such-signer"}, `"no-such-signer" is not on PATH`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.Proxy.Reset()
			args := append(append([]string{"from-spec"}, tc.args...), specFile)
			r := e.Run(bin, clitest.RunOptions{Env: []string{"PATH=/usr/bin:/bin"}}, append([]string{"--plain-http"}, args...)...)
			clitest.WantCode(t, r, 2)
			clitest.WantStderr(t, r, tc.want)
			if n := e.Proxy.Count(); n != 0 {
				t.Errorf("%d requests reached the registry, want none:\n%s", n, clitest.Requests(e.Proxy))
			}
		})
	}
}

// TestSignDryRun: --dry-run prints the signer's command for each
// artifact, runs none and writes nothing.
func TestSignDryRun(t *testing.T) {
	e := newEnv(t)
	specFile := e.sources("app")
	r := e.run(cosigntest.Password, "from-spec", "--dry-run", specFile)
	clitest.WantCode(t, r, 0)
	if runs := e.signerRuns(); len(runs) != 0 {
		t.Errorf("the dry run ran the signer %d times", len(runs))
	}
	if n := e.Proxy.Writes(); n != 0 {
		t.Errorf("the dry run wrote %d times:\n%s", n, clitest.Requests(e.Proxy))
	}
	var would []string
	for _, l := range strings.Split(r.Stdout, "\n") {
		if strings.HasPrefix(l, "would run: "+e.signer+" sign --yes --key "+e.keys.Key+" --tlog-upload=false "+e.Host()+"/app@sha256:") {
			would = append(would, l)
		}
	}
	if len(would) != 6 {
		t.Errorf("the dry run printed %d signer commands, want 6:\n%s", len(would), r)
	}
}

// TestSignMirrors: each mirror ends with signatures cosign verify accepts
// there.
func TestSignMirrors(t *testing.T) {
	e := newEnv(t)
	m := clitest.NewEnv(t, registrytest.Options{})
	specFile := e.sources("app")
	r := e.run(cosigntest.Password, "from-spec", "--mirror", m.Host()+"/copy/app:1.0", specFile)
	clitest.WantCode(t, r, 0)
	e.verify(e.Host(), "app", "1.0")
	mirror := &env{Env: m, t: t, cosign: e.cosign, keys: e.keys}
	mirror.verify(m.Host(), "copy/app", "1.0")
	if n := len(e.signerRuns()); n != 12 {
		t.Errorf("the signer ran %d times, want 12 (6 artifacts in each of 2 targets)", n)
	}
}

// TestSignGate: six concurrent jobs of one pipeline run merge into a
// staging tag (--append, --require, --staging-tag), three of them copying
// from another registry behind a slow proxy; staging merges are not
// signed; exactly one job (the one that completed the index) runs its
// signer, for the index and its six children, before the public tags
// move; the public tag's index and children all verify.
func TestSignGate(t *testing.T) {
	e := newEnv(t)
	far := clitest.NewEnv(t, registrytest.Options{})
	far.Proxy.SetDelay(40 * time.Millisecond)
	archs := []string{"amd64", "arm64", "s390x", "ppc64le", "386", "riscv64"}
	var require []string
	for i, a := range archs {
		if i%2 == 0 {
			e.LinuxImage("src/"+a, "1", a)
		} else {
			far.LinuxImage("src/"+a, "1", a)
		}
		require = append(require, "linux/"+a)
	}
	runs := make([]string, len(archs))
	results := make([]clitest.Result, len(archs))
	var wg sync.WaitGroup
	for i, a := range archs {
		runs[i] = filepath.Join(e.Dir, fmt.Sprintf("signer-runs-%d", i))
		signer := e.WriteFile(fmt.Sprintf("bin/signer-%d", i), fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> '%s'\nexec '%s' \"$@\"\n", runs[i], e.cosign))
		if err := os.Chmod(signer, 0o755); err != nil {
			t.Fatal(err)
		}
		host := e.Host()
		if i%2 == 1 {
			host = far.Host()
		}
		args := []string{"from-args", "--platforms", "linux/" + a, "--template", host + "/src/ARCH:1",
			"--target", e.Host() + "/app:1.0", "--tags", "latest", "--append",
			"--require", strings.Join(require, ","), "--staging-tag", "1.0-run-1", "--signer", signer}
		args = append(args, signArgFlags(e.keys.SignArgs())...)
		wg.Go(func() { results[i] = e.run(cosigntest.Password, args...) })
	}
	wg.Wait()
	var signers []int
	for i, r := range results {
		clitest.WantCode(t, r, 0)
		if b, err := os.ReadFile(runs[i]); err == nil && len(b) > 0 {
			signers = append(signers, i)
			if n := strings.Count(string(b), "\n"); n != 7 {
				t.Errorf("job %d ran its signer %d times, want 7 (the index and 6 children):\n%s", i, n, b)
			}
		}
	}
	if len(signers) != 1 {
		t.Errorf("jobs %v ran their signers, want exactly one", signers)
	}
	d, children := e.artifacts("app", "1.0")
	if len(children) != len(archs) {
		t.Errorf("app:1.0 lists %d manifests, want %d", len(children), len(archs))
	}
	if got := e.TagDigest("app", "latest"); got != d {
		t.Errorf("app:latest is %s, app:1.0 %s", got, d)
	}
	e.verify(e.Host(), "app", "1.0")
}

// TestVerifySigned: verify --signed is exit 5 naming each unsigned child
// (only the index was signed), and 0 once all are; inspect says which
// entries are signed.
func TestVerifySigned(t *testing.T) {
	e := newEnv(t)
	e.sources("app")
	plain := e.spec("app", false)
	args := append([]string{"from-spec", "--signer", e.signer, "--sign-artifacts", "index"}, signArgFlags(e.keys.SignArgs())...)
	r := e.run(cosigntest.Password, append(args, plain)...)
	clitest.WantCode(t, r, 0)
	if n := len(e.signerRuns()); n != 1 {
		t.Errorf("--sign-artifacts index ran the signer %d times, want 1", n)
	}
	d, children := e.artifacts("app", "1.0")

	r = e.run("", "verify", "--signed", e.Host()+"/app:1.0")
	clitest.WantCode(t, r, 5)
	for _, c := range children {
		if !strings.Contains(r.Stdout, "unsigned: "+e.Host()+"/app@"+c.String()+"\n") {
			t.Errorf("verify --signed does not name the unsigned child %s:\n%s", c, r)
		}
	}
	if strings.Contains(r.Stdout, "unsigned: "+e.Host()+"/app@"+d.String()) {
		t.Errorf("verify --signed names the signed index %s as unsigned:\n%s", d, r)
	}
	r = e.run("", "inspect", e.Host()+"/app:1.0")
	clitest.WantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "Signed:     yes") || len(regexp.MustCompile(`(?m)  no( |$)`).FindAllString(r.Stdout, -1)) != len(children) {
		t.Errorf("inspect does not say the index is signed and its %d entries are not:\n%s", len(children), r)
	}

	args = append([]string{"from-spec", "--signer", e.signer}, signArgFlags(e.keys.SignArgs())...)
	r = e.run(cosigntest.Password, append(args, plain)...)
	clitest.WantCode(t, r, 0)
	r = e.run("", "verify", "--signed", e.Host()+"/app:1.0")
	clitest.WantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "whole") || !strings.Contains(r.Stdout, "6 signed") {
		t.Errorf("verify --signed does not say all 6 are signed:\n%s", r)
	}
	r = e.run("", "inspect", "-o", "json", e.Host()+"/app:1.0")
	clitest.WantCode(t, r, 0)
	var in struct {
		Signed    *bool `json:"signed"`
		Manifests []struct {
			Signed *bool `json:"signed"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &in); err != nil {
		t.Fatalf("inspect -o json: %v\n%s", err, r)
	}
	if in.Signed == nil || !*in.Signed {
		t.Errorf("inspect -o json: the index is not said signed:\n%s", r.Stdout)
	}
	for i, m := range in.Manifests {
		if m.Signed == nil || !*m.Signed {
			t.Errorf("inspect -o json: entry %d is not said signed", i)
		}
	}
}

// TestSignWithFlagCredentials: a registry that wants a password given with
// --username and --password-stdin: the signer gets it through a private
// DOCKER_CONFIG (cosign signs there), never on its command line, and the
// private config is gone after the run.
func TestSignWithFlagCredentials(t *testing.T) {
	const user, password = "ci", "s3cret-Pa55"
	cosign := cosigntest.Need(t)
	e := &env{Env: clitest.NewEnv(t, registrytest.Options{Username: user, Password: password}), t: t, cosign: cosign, keys: cosigntest.NewKeys(t, cosign)}
	e.runs = filepath.Join(e.Dir, "signer-runs")
	// The signer notes its arguments and the DOCKER_CONFIG it was given,
	// and whether that directory's config.json holds the credentials.
	e.signer = e.WriteFile("bin/counting-cosign", fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> '%s'\nprintf 'DOCKER_CONFIG=%%s\\n' \"$DOCKER_CONFIG\" >> '%s.env'\nexec '%s' \"$@\"\n", e.runs, e.runs, cosign))
	if err := os.Chmod(e.signer, 0o755); err != nil {
		t.Fatal(err)
	}
	e.LinuxImage("src/amd64", "1", "amd64")
	e.LinuxImage("src/arm64", "1", "arm64")
	// The user's Docker config names a credential store (one this machine
	// lacks): the flag's credentials must win over it for the target.
	clitest.WriteFile(t, filepath.Join(e.Dir, "docker-config", "config.json"), `{"credsStore":"no-such-store"}`)
	args := append([]string{"--plain-http", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", e.Host() + "/src/ARCH:1",
		"--target", e.Host() + "/app:1.0", "--username", user, "--password-stdin", "--signer", e.signer}, signArgFlags(e.keys.SignArgs())...)
	r := e.Run(bin, clitest.RunOptions{Stdin: password + "\n", Env: []string{"COSIGN_PASSWORD=" + cosigntest.Password}}, args...)
	clitest.WantCode(t, r, 0)
	runs := e.signerRuns()
	if len(runs) != 3 {
		t.Fatalf("the signer ran %d times, want 3", len(runs))
	}
	for _, l := range runs {
		if strings.Contains(l, password) {
			t.Errorf("the password is on the signer's command line: %s", l)
		}
	}
	if strings.Contains(r.Stdout+r.Stderr, password) {
		t.Errorf("the password is in the output:\n%s", r)
	}
	envs, err := os.ReadFile(e.runs + ".env")
	if err != nil {
		t.Fatal(err)
	}
	dir := strings.TrimPrefix(strings.SplitN(string(envs), "\n", 2)[0], "DOCKER_CONFIG=")
	if dir == "" || dir == filepath.Join(e.Dir, "docker-config") {
		t.Errorf("the signer got DOCKER_CONFIG=%q, want a private copy with the credentials", dir)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the private Docker config %s is still there after the run (%v)", dir, err)
	}
	// cosign verify, with the credentials in a Docker config of the test's.
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	cfg := filepath.Join(e.keys.Dir, "config.json")
	if err := os.WriteFile(cfg, []byte(`{"auths":{"`+e.Host()+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Client = imagetest.WithBasicAuth(e.Client, user, password)
	e.verify(e.Host(), "app", "1.0")
}
