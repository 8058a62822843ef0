package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/ggcrtest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
)

// The artifact types of the tests: OpenTofu's provider packages, published
// as an artifact index of per-platform artifacts.
const (
	providerType = "application/vnd.opentofu.provider"
	targetType   = "application/vnd.opentofu.provider-target"
)

// pushArtifact pushes an artifact manifest (artifactType, the empty JSON
// config, one layer) for platform p into repo:tag of the registry at base.
func pushArtifact(t *testing.T, client *http.Client, base, repo, tag, p string) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	cfg, err := imagetest.PushBlob(ctx, client, base, repo, ocispec.MediaTypeEmptyJSON, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := imagetest.PushBlob(ctx, client, base, repo, "application/zip", []byte("provider package for "+p))
	if err != nil {
		t.Fatal(err)
	}
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: targetType, Config: cfg, Layers: []ocispec.Descriptor{layer}}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := imagetest.PushManifest(ctx, client, base, repo, tag, ocispec.MediaTypeImageManifest, body)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// artifactSpec is the spec of an artifact index of the two artifacts
// src/provider:linux-amd64 and :linux-arm64, referring to subject.
func artifactSpec(host, target, subject string) string {
	return "image: " + host + "/" + target + "\nartifactType: " + providerType + "\nsubject: " + subject + "\nmanifests:\n" +
		"  - image: " + host + "/src/provider:linux-amd64\n    platform: {os: linux, architecture: amd64}\n" +
		"  - image: " + host + "/src/provider:linux-arm64\n    platform: {os: linux, architecture: arm64}\n"
}

// wantArtifactIndex reads repo:tag at base and checks it is an artifact
// index of providerType whose subject is subject and whose entries carry
// targetType; it returns the index digest.
func wantArtifactIndex(t *testing.T, client *http.Client, base, repo, tag string, subject ocispec.Descriptor) digest.Digest {
	t.Helper()
	_, body, d, err := imagetest.GetManifest(context.Background(), client, base, repo, tag)
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatal(err)
	}
	if idx.MediaType != ocispec.MediaTypeImageIndex || idx.ArtifactType != providerType {
		t.Errorf("%s:%s is a %q of artifactType %q, want an OCI index of %q:\n%s", repo, tag, idx.MediaType, idx.ArtifactType, providerType, body)
	}
	if idx.Subject == nil || idx.Subject.Digest != subject.Digest || idx.Subject.Size != subject.Size || idx.Subject.MediaType != subject.MediaType {
		t.Errorf("%s:%s has subject %+v, want %s (%s, %d bytes)", repo, tag, idx.Subject, subject.Digest, subject.MediaType, subject.Size)
	}
	for _, m := range idx.Manifests {
		if m.ArtifactType != targetType {
			t.Errorf("entry %s has artifactType %q, want its manifest's %q", m.Digest, m.ArtifactType, targetType)
		}
	}
	return d
}

// TestArtifactIndexTagSchema: on distribution (no referrers API) an
// artifact index with a subject in another repository: the subject is
// copied into the target first, the index carries artifactType and
// subject, the subject's tag-schema index lists it with its
// artifactType, and oras discover finds it.
func TestArtifactIndexTagSchema(t *testing.T) {
	e := newEnv(t)
	subject := e.image("src/base", "1", "linux/amd64")
	pushArtifact(t, e.Client, e.Registry.URL(), "src/provider", "linux-amd64", "linux/amd64")
	pushArtifact(t, e.Client, e.Registry.URL(), "src/provider", "linux-arm64", "linux/arm64")
	spec := e.WriteFile("provider.yaml", artifactSpec(e.Host(), "dst/provider:1.0", e.Host()+"/src/base:1"))
	r := e.run("--plain-http", "from-spec", spec)
	clitest.WantCode(t, r, 0)
	d := wantArtifactIndex(t, e.Client, e.Registry.URL(), "dst/provider", "1.0", subject)
	e.hasImage("dst/provider", subject.Digest)
	// The subject is written into the target before the index.
	subjectAt, indexAt := -1, -1
	for i, req := range e.Proxy.Requests() {
		switch {
		case req.Method != http.MethodPut:
		case req.Path == "/v2/dst/provider/manifests/"+subject.Digest.String():
			subjectAt = i
		case req.Path == "/v2/dst/provider/manifests/"+d.String() && indexAt < 0:
			indexAt = i
		}
	}
	if subjectAt < 0 || indexAt < 0 || subjectAt > indexAt {
		t.Errorf("the subject's PUT is request %d, the index's %d: want the subject first\n%s", subjectAt, indexAt, clitest.Requests(e.Proxy))
	}

	// The subject's referrers, as the tag schema keeps them.
	_, body, _, err := imagetest.GetManifest(context.Background(), e.Client, e.Registry.URL(), "dst/provider", "sha256-"+subject.Digest.Encoded())
	if err != nil {
		t.Fatalf("the subject's tag-schema index: %v", err)
	}
	var refs ocispec.Index
	if err := json.Unmarshal(body, &refs); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(refs.Manifests, func(m ocispec.Descriptor) bool { return m.Digest == d && m.ArtifactType == providerType }) {
		t.Errorf("the subject's referrers do not list %s with artifactType %s:\n%s", d, providerType, body)
	}
	wantDiscovered(t, e.Host(), "dst/provider@"+subject.Digest.String(), d)

	r = e.run("--plain-http", "inspect", e.ref("dst/provider:1.0"))
	clitest.WantCode(t, r, 0)
	for _, want := range []string{"ArtifactType:  " + providerType, "Subject:       " + subject.Digest.String() + " " + subject.MediaType} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("inspect does not say %q:\n%s", want, r)
		}
	}

	// A rerun writes nothing.
	e.Proxy.Reset()
	r = e.run("--plain-http", "from-spec", spec)
	clitest.WantCode(t, r, 0)
	e.wantNoWrites(r)
}

// TestArtifactIndexReferrersAPI: on go-containerregistry's registry (the
// referrers API), from-args --artifact-type --subject: the referrers API
// of the subject lists the index with its artifactType.
func TestArtifactIndexReferrersAPI(t *testing.T) {
	reg := ggcrtest.Start()
	defer reg.Close()
	ctx := context.Background()
	subject, err := imagetest.PushImage(ctx, reg.Client(), reg.URL(), "dst/provider", "base", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	pushArtifact(t, reg.Client(), reg.URL(), "src/provider", "linux-amd64", "linux/amd64")
	pushArtifact(t, reg.Client(), reg.URL(), "src/provider", "linux-arm64", "linux/arm64")
	r := clitest.Run(t, bin, clitest.RunOptions{}, "--plain-http", "from-args",
		"--target", reg.Host()+"/dst/provider:1.0", "--artifact-type", providerType, "--subject", reg.Host()+"/dst/provider:base",
		"--desc-platform", "linux/amd64", "--desc-platform", "linux/arm64",
		reg.Host()+"/src/provider:linux-amd64", reg.Host()+"/src/provider:linux-arm64")
	clitest.WantCode(t, r, 0)
	d := wantArtifactIndex(t, reg.Client(), reg.URL(), "dst/provider", "1.0", subject)
	resp, err := reg.Client().Get(reg.URL() + "/v2/dst/provider/referrers/" + subject.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var refs ocispec.Index
	if err := json.NewDecoder(resp.Body).Decode(&refs); err != nil {
		t.Fatal(err)
	}
	// go-containerregistry's registry lists an index referrer without its
	// artifactType (it takes it from a manifest's fields only): the
	// listing names the digest, and oras reads the type from the index.
	if !slices.ContainsFunc(refs.Manifests, func(m ocispec.Descriptor) bool { return m.Digest == d }) {
		t.Errorf("the referrers API of the subject does not list %s: %+v", d, refs.Manifests)
	}
	oras := needOras(t)
	cmd := exec.Command(oras, "discover", "--plain-http", "--format", "json", reg.Host()+"/dst/provider@"+subject.Digest.String())
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), d.String()) {
		t.Errorf("oras discover does not list %s: %v\n%s", d, err, out)
	}
	cmd = exec.Command(oras, "manifest", "fetch", "--plain-http", reg.Host()+"/dst/provider:1.0")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"artifactType": "`+providerType+`"`) {
		t.Errorf("oras manifest fetch does not read the artifactType %s: %v\n%s", providerType, err, out)
	}
}

// TestArtifactIndexDockerRefused: artifactType or subject in a Docker
// manifest list is exit 2 naming the key, and nothing is written.
func TestArtifactIndexDockerRefused(t *testing.T) {
	e := newEnv(t)
	spec := e.WriteFile("docker.yaml", "type: docker\n"+artifactSpec(e.Host(), "dst/provider:1.0", e.Host()+"/src/base:1"))
	r := e.run("--plain-http", "from-spec", spec)
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, "docker.yaml:3:1: artifactType: an artifact index needs an OCI index, but type is docker: use type: oci (or auto), or remove it",
		"docker.yaml:4:1: subject: an artifact index needs an OCI index")
	e.wantNoRequests(r)

	r = e.run("--plain-http", "from-args", "--type", "docker", "--target", e.ref("dst/provider:1.0"), "--artifact-type", providerType, e.ref("src/provider:linux-amd64"))
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, "--artifact-type: an artifact index needs an OCI index, but --type is docker: use --type oci (or auto), or remove it")
	e.wantNoRequests(r)

	r = e.run("--plain-http", "from-args", "--target", e.ref("dst/provider:1.0"), "--artifact-type", "not a media type", e.ref("src/provider:linux-amd64"))
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, `--artifact-type: "not a media type" is not a media type`)
	e.wantNoRequests(r)
}

// wantDiscovered runs oras discover on ref (HOST/REPO@DIGEST) and checks
// that it lists d with providerType.
func wantDiscovered(t *testing.T, host, ref string, d digest.Digest) {
	t.Helper()
	oras := needOras(t)
	cmd := exec.Command(oras, "discover", "--plain-http", "--format", "json", host+"/"+ref)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("oras discover %s: %v\n%s", ref, err, out)
	}
	if !strings.Contains(string(out), d.String()) || !strings.Contains(string(out), providerType) {
		t.Errorf("oras discover %s does not list %s of %s:\n%s", ref, d, providerType, out)
	}
}

// orasVersion is the oras CLI the tests run, built once by make test-deps
// into the user's cache directory.
const orasVersion = "v1.3.6"

func needOras(t *testing.T) string {
	t.Helper()
	dir, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "manifest-push", "tools", "oras-"+orasVersion, "oras")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("oras %s is not built (%v): run make test-deps", orasVersion, err)
	}
	return p
}
