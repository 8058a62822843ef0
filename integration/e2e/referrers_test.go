package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/ggcrtest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// side is a registry as the referrers tests see it: its direct URL and
// client (to set up and check, independently of the product), the proxy
// the binary is pointed at, and whether it has the referrers API.
type side struct {
	name   string
	base   string
	client *http.Client
	proxy  *proxy.Proxy
	api    bool
}

// sides are the two registries: name, and how to start one.
var sides = []struct {
	name  string
	start func(t *testing.T) side
}{
	{"distribution", func(t *testing.T) side {
		e := clitest.NewEnv(t, registrytest.Options{})
		return side{name: "distribution (referrers tag schema)", base: e.Registry.URL(), client: e.Client, proxy: e.Proxy}
	}},
	{"go-containerregistry", func(t *testing.T) side {
		reg := ggcrtest.Start()
		t.Cleanup(reg.Close)
		px, err := proxy.Start(reg.URL(), proxy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(px.Close)
		return side{name: "go-containerregistry (referrers API)", base: reg.URL(), client: reg.Client(), proxy: px, api: true}
	}},
}

// artifact pushes an OCI artifact manifest into repo: an empty config, one
// layer holding payload, artifactType, and subject when not nil; tagged tag
// when not empty. Without the referrers API, a referrer is also listed in
// the subject's referrers tag-schema index, as oras and cosign do there.
func (s side) artifact(t *testing.T, repo string, subject *ocispec.Descriptor, artifactType, payload, tag string) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	config, err := imagetest.PushBlob(ctx, s.client, s.base, repo, "application/vnd.oci.empty.v1+json", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := imagetest.PushBlob(ctx, s.client, s.base, repo, "application/octet-stream", []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       config,
		Layers:       []ocispec.Descriptor{layer},
		Subject:      subject,
		Annotations:  map[string]string{"org.example.payload": payload},
	}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := imagetest.PushManifest(ctx, s.client, s.base, repo, tag, ocispec.MediaTypeImageManifest, body)
	if err != nil {
		t.Fatal(err)
	}
	d.ArtifactType = artifactType
	if subject != nil && !s.api {
		list := s.referrers(t, repo, subject.Digest)
		list = append(list, ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, ArtifactType: artifactType})
		if _, err := imagetest.PushIndex(ctx, s.client, s.base, repo, tagOf(subject.Digest), list, imagetest.IndexOptions{Format: imagetest.OCI}); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// tagOf is the referrers tag-schema tag of d.
func tagOf(d digest.Digest) string { return d.Algorithm().String() + "-" + d.Encoded() }

// referrers lists what refers to d in repo, the way a client discovers it
// there: the referrers API, or the tag-schema index.
func (s side) referrers(t *testing.T, repo string, d digest.Digest) []ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	var body []byte
	if s.api {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/v2/"+repo+"/referrers/"+d.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil
		}
		if body, err = io.ReadAll(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("referrers of %s in %s: %d %v", d, repo, resp.StatusCode, err)
		}
	} else {
		_, b, _, err := imagetest.GetManifest(ctx, s.client, s.base, repo, tagOf(d))
		if err != nil {
			return nil
		}
		body = b
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatalf("referrers of %s in %s: %v\n%s", d, repo, err, body)
	}
	return idx.Manifests
}

func (s side) tagDigest(t *testing.T, repo, tag string) digest.Digest {
	t.Helper()
	_, _, d, err := imagetest.GetManifest(context.Background(), s.client, s.base, repo, tag)
	if err != nil {
		return ""
	}
	return d
}

func digests(ds []ocispec.Descriptor) []digest.Digest {
	out := make([]digest.Digest, len(ds))
	for i, d := range ds {
		out[i] = d.Digest
	}
	return out
}

// A source image carrying a cosign signature tag, an OCI 1.1 SBOM referrer
// and a signature of that SBOM: after the push all three are found for the
// image's digest in the target repository by the discovery a client uses,
// on a registry with the referrers API and on one with the tag schema; the
// source repository is untouched; a rerun writes nothing;
// --referrers=false brings none.
func TestReferrersTravel(t *testing.T) {
	t.Parallel()
	for _, sd := range sides {
		t.Run(sd.name, func(t *testing.T) {
			t.Parallel()
			s := sd.start(t)
			t.Log(s.name)
			ctx := context.Background()
			img, err := imagetest.PushImage(ctx, s.client, s.base, "src/app", "amd64", imagetest.Image{Platform: plat(t, "linux/amd64"), Format: imagetest.OCI})
			if err != nil {
				t.Fatal(err)
			}
			subject := ocispec.Descriptor{MediaType: img.MediaType, Digest: img.Digest, Size: img.Size}
			sig := s.artifact(t, "src/app", nil, "application/vnd.dev.cosign.simplesigning.v1+json", "cosign signature", tagOf(img.Digest)+".sig")
			sbom := s.artifact(t, "src/app", &subject, "application/spdx+json", "an SBOM", "")
			sbomSig := s.artifact(t, "src/app", &ocispec.Descriptor{MediaType: sbom.MediaType, Digest: sbom.Digest, Size: sbom.Size}, "application/vnd.dev.cosign.artifact.sig.v1+json", "a signature of the SBOM", "")
			host := s.proxy.Host()
			run := func(args ...string) clitest.Result {
				return clitest.Run(t, bin, clitest.RunOptions{}, append([]string{"--plain-http", "-o", "json", "from-args"}, args...)...)
			}

			s.proxy.Reset()
			r := run("--target", host+"/dst/app:1", host+"/src/app:amd64")
			clitest.WantCode(t, r, 0)
			text := clitest.Run(t, bin, clitest.RunOptions{}, "--plain-http", "from-args", "--dry-run", "--target", host+"/dst/other:1", host+"/src/app:amd64")
			t.Logf("%s", text)
			streamed := 0
			for _, req := range s.proxy.Requests() {
				if req.IsWrite() && !strings.HasPrefix(req.Path, "/v2/dst/app/") {
					t.Errorf("a write outside the target repository: %s", req)
				}
				if req.Method == http.MethodPut && strings.HasPrefix(req.Path, "/v2/dst/app/blobs/uploads/") {
					streamed++
				}
			}
			// go-containerregistry's registry does not mount across
			// repositories: there every blob is streamed instead.
			if s.api && streamed == 0 {
				t.Errorf("no blob was streamed into a registry that does not mount\n%s", clitest.Requests(s.proxy))
			}
			if got := digests(s.referrers(t, "dst/app", img.Digest)); !slices.Equal(got, []digest.Digest{sbom.Digest}) {
				t.Errorf("referrers of the image in the target: %v, want the SBOM %s", got, sbom.Digest)
			}
			if got := digests(s.referrers(t, "dst/app", sbom.Digest)); !slices.Equal(got, []digest.Digest{sbomSig.Digest}) {
				t.Errorf("referrers of the SBOM in the target: %v, want its signature %s", got, sbomSig.Digest)
			}
			if got := s.tagDigest(t, "dst/app", tagOf(img.Digest)+".sig"); got != sig.Digest {
				t.Errorf("the cosign tag in the target is %q, want %s", got, sig.Digest)
			}
			for _, d := range []ocispec.Descriptor{sig, sbom, sbomSig} {
				_, body, got, err := imagetest.GetManifest(ctx, s.client, s.base, "dst/app", d.Digest.String())
				if err != nil || got != d.Digest {
					t.Fatalf("%s in the target: %v", d.Digest, err)
				}
				var m ocispec.Manifest
				if err := json.Unmarshal(body, &m); err != nil {
					t.Fatal(err)
				}
				for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
					if ok, err := imagetest.BlobExists(ctx, s.client, s.base, "dst/app", b.Digest); err != nil || !ok {
						t.Errorf("blob %s of %s is not in the target (%v)", b.Digest, d.Digest, err)
					}
				}
			}
			// An independent client (skopeo, containers/image) reads the
			// same: the signature under its cosign tag, and the SBOM in the
			// referrers tag-schema index where there is no API.
			sk := func(ref string) []byte {
				t.Helper()
				cmd := exec.Command(skopeo(t), "--tmpdir", t.TempDir(), "inspect", "--tls-verify=false", "--raw", "docker://"+host+"/dst/app:"+ref)
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("skopeo inspect %s: %v", ref, err)
				}
				return out
			}
			if got := digest.FromBytes(sk(tagOf(img.Digest) + ".sig")); got != sig.Digest {
				t.Errorf("skopeo reads the signature as %s, want %s", got, sig.Digest)
			}
			if !s.api {
				var idx ocispec.Index
				if err := json.Unmarshal(sk(tagOf(img.Digest)), &idx); err != nil || !slices.Equal(digests(idx.Manifests), []digest.Digest{sbom.Digest}) {
					t.Errorf("skopeo reads the referrers index as %v (%v)", digests(idx.Manifests), err)
				}
			}
			lines := jsonLines(t, r)
			refs := lines[0].Manifests[0].Referrers
			if len(refs) != 3 || !refs[0].Copied || !refs[1].Copied || !refs[2].Copied {
				t.Errorf("JSON referrers %+v, want 3 copied", refs)
			}
			// The source still lists exactly what it had.
			if got := digests(s.referrers(t, "src/app", img.Digest)); !slices.Equal(got, []digest.Digest{sbom.Digest}) {
				t.Errorf("the source's referrers changed: %v", got)
			}

			// inspect lists each entry's referrers, shows one entry with
			// --platform, and formats with a template.
			ir := clitest.Run(t, bin, clitest.RunOptions{}, "--plain-http", "inspect", host+"/dst/app:1", "--platform", "linux/amd64")
			clitest.WantCode(t, ir, 0)
			t.Logf("%s", ir)
			for _, d := range []digest.Digest{sbom.Digest, sbomSig.Digest, sig.Digest} {
				if !regexp.MustCompile(`(?m)^  referrer +` + d.String()).MatchString(ir.Stdout) {
					t.Errorf("inspect does not list the referrer %s:\n%s", d, ir.Stdout)
				}
			}
			for _, want := range []string{"tag " + tagOf(img.Digest) + ".sig", "Entry:            " + img.Digest.String(), "Config platform:  linux/amd64", "Layer:"} {
				if !strings.Contains(ir.Stdout, want) {
					t.Errorf("inspect does not show %q:\n%s", want, ir.Stdout)
				}
			}
			ir = clitest.Run(t, bin, clitest.RunOptions{}, "--plain-http", "inspect", host+"/dst/app:1", "--format", "{{.digest}} {{range .manifests}}{{.platform}} {{len .referrers}}{{end}}")
			clitest.WantCode(t, ir, 0)
			idxDigest := s.tagDigest(t, "dst/app", "1")
			if want := idxDigest.String() + " linux/amd64 3\n"; ir.Stdout != want {
				t.Errorf("inspect --format: %q, want %q", ir.Stdout, want)
			}

			// A rerun writes nothing.
			s.proxy.Reset()
			r = run("--target", host+"/dst/app:1", host+"/src/app:amd64")
			clitest.WantCode(t, r, 0)
			if n := s.proxy.Writes(); n != 0 {
				t.Errorf("the rerun wrote %d times\n%s", n, clitest.Requests(s.proxy))
			}
			t.Logf("rerun: %d requests, %d writes", s.proxy.Count(), s.proxy.Writes())
			if refs := jsonLines(t, r)[0].Manifests[0].Referrers; len(refs) != 3 || refs[0].Copied || refs[1].Copied || refs[2].Copied {
				t.Errorf("rerun JSON referrers %+v, want 3 present", refs)
			}

			// --referrers=false leaves them behind.
			r = run("--referrers=false", "--target", host+"/dst/bare:1", host+"/src/app:amd64")
			clitest.WantCode(t, r, 0)
			if got := s.referrers(t, "dst/bare", img.Digest); len(got) != 0 {
				t.Errorf("--referrers=false: the target lists %v", digests(got))
			}
			if got := s.tagDigest(t, "dst/bare", tagOf(img.Digest)+".sig"); got != "" {
				t.Errorf("--referrers=false: the cosign tag was copied (%s)", got)
			}
		})
	}
}

// --attestations drop leaves an index source's attestation manifests out of
// an OCI index; keep (the default) carries them.
func TestAttestationsDrop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	amd64 := e.Push("src", "amd64", imagetest.Image{Platform: plat(t, "linux/amd64"), Format: imagetest.OCI})
	att, err := imagetest.PushAttestation(ctx, e.Client, e.Registry.URL(), "src", amd64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imagetest.PushIndex(ctx, e.Client, e.Registry.URL(), "src", "buildx", []ocispec.Descriptor{amd64, att}, imagetest.IndexOptions{Format: imagetest.OCI}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flag string
		want []digest.Digest
	}{
		{"--attestations=keep", []digest.Digest{amd64.Digest, att.Digest}},
		{"--attestations=drop", []digest.Digest{amd64.Digest}},
	} {
		tag := strings.TrimPrefix(tc.flag, "--attestations=")
		r := e.run("--plain-http", "from-args", tc.flag, "--target", e.ref("app:"+tag), e.ref("src:buildx"))
		clitest.WantCode(t, r, 0)
		if got := digests(e.index("app", tag).index.Manifests); !slices.Equal(got, tc.want) {
			t.Errorf("%s: entries %v, want %v", tc.flag, got, tc.want)
		}
	}
	e.Proxy.Reset()
	r := e.run("--plain-http", "from-args", "--attestations", "lose", "--target", e.ref("app:x"), e.ref("src:buildx"))
	clitest.WantCode(t, r, 2)
	clitest.WantStderr(t, r, `--attestations "lose": use keep or drop`)
	e.wantNoRequests(r)
}
