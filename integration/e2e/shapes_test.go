package e2e

// Every content shape of the OCI distribution-spec conformance suite's data
// cases (opencontainers/distribution-spec, conformance/: image, index,
// nested index, sparse, artifact, subject, artifact index, subject index,
// descriptors with data, non-distributable layers, custom fields, no
// layers, an empty blob, sha512) as a manifest-push source. Each case
// builds its content here, from the suite's descriptions, pushes it into a
// source repository of a real embedded registry, runs the binary with it as
// the source and checks what a user gets: the children in the target byte
// for byte with their blobs and referrers, or a refusal that says why and
// leaves the target untouched.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/ggcrtest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// Media types of the suite's artifacts.
const (
	mtExample      = "application/vnd.example.oci.conformance.v1"
	mtExample2     = "application/vnd.example.oci.conformance.v2"
	mtEmptyJSON    = "application/vnd.oci.empty.v1+json"
	mtLayerNonDist = "application/vnd.oci.image.layer.nondistributable.v1.tar"
	mtLayerNonDGz  = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
)

// shapeReg is a registry as these tests use it: its direct URL and client
// (to set up and to check, independently of the product), the proxy the
// binary is pointed at, whether it has the referrers API and whether it
// lists its repositories (GET /v2/_catalog).
type shapeReg struct {
	base    string
	client  *http.Client
	proxy   *proxy.Proxy
	api     bool
	catalog bool
	// sharedBlobs: a blob pushed into one repository is found in every
	// other (go-containerregistry keeps one blob store).
	sharedBlobs bool
}

// distributionShapes starts the distribution registry with opts.
func distributionShapes(opts registrytest.Options) func(t *testing.T) shapeReg {
	return func(t *testing.T) shapeReg {
		e := clitest.NewEnv(t, opts)
		return shapeReg{base: e.Registry.URL(), client: e.Client, proxy: e.Proxy, catalog: true}
	}
}

// ggcrShapes starts go-containerregistry's registry: it has the referrers
// API, stores sha512-addressed manifests and blobs, and does not check an
// image manifest's blobs when it is pushed (so it holds a sparse image).
func ggcrShapes(t *testing.T) shapeReg {
	reg := ggcrtest.Start()
	t.Cleanup(reg.Close)
	px, err := proxy.Start(reg.URL(), proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	return shapeReg{base: reg.URL(), client: reg.Client(), proxy: px, api: true, sharedBlobs: true}
}

// shapeContent is the content of one case, built in memory: the blobs and
// the manifests to push into the source repository, in order (children
// before parents), and the referrers each subject has.
type shapeContent struct {
	algo      digest.Algorithm
	blobs     []shapeBlob
	docs      []shapeDoc
	referrers map[digest.Digest][]ocispec.Descriptor
	seq       int
}

type shapeBlob struct {
	desc ocispec.Descriptor
	data []byte
}

type shapeDoc struct {
	desc ocispec.Descriptor
	data []byte
	tag  string
}

func newShapeContent(algo digest.Algorithm) *shapeContent {
	return &shapeContent{algo: algo, referrers: map[digest.Digest][]ocispec.Descriptor{}}
}

// blob adds a blob and returns its descriptor (with the data field when
// withData).
func (c *shapeContent) blob(mediaType string, data []byte, withData bool) ocispec.Descriptor {
	d := ocispec.Descriptor{MediaType: mediaType, Digest: c.algo.FromBytes(data), Size: int64(len(data))}
	c.blobs = append(c.blobs, shapeBlob{desc: d, data: data})
	if withData {
		d.Data = data
	}
	return d
}

// layer makes a gzipped (or plain) tar layer of one small file, unique to
// this content, and returns the layer and its uncompressed digest.
func (c *shapeContent) layer(t *testing.T, gz bool) ([]byte, digest.Digest) {
	t.Helper()
	c.seq++
	var tarred bytes.Buffer
	tw := tar.NewWriter(&tarred)
	body := fmt.Sprintf("layer %d of a conformance shape, %s\n", c.seq, rand.Text())
	if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("shape-%d.txt", c.seq), Mode: 0o644, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tw, body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	diffID := c.algo.FromBytes(tarred.Bytes())
	if !gz {
		return tarred.Bytes(), diffID
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	if _, err := zw.Write(tarred.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return zipped.Bytes(), diffID
}

// encode marshals v; custom adds a field no schema knows, as the suite's
// "custom fields" case does.
func encode(t *testing.T, v any, custom bool) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !custom {
		return b
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["org.example.custom-"+strings.ToLower(rand.Text()[:8])] = rand.Text()
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return b
}

// doc adds a manifest or index and returns its descriptor.
func (c *shapeContent) doc(t *testing.T, mediaType string, v any, custom bool, tag string, withData bool) ocispec.Descriptor {
	t.Helper()
	data := encode(t, v, custom)
	d := ocispec.Descriptor{MediaType: mediaType, Digest: c.algo.FromBytes(data), Size: int64(len(data))}
	c.docs = append(c.docs, shapeDoc{desc: d, data: data, tag: tag})
	if withData {
		d.Data = data
	}
	return d
}

// imageOpts describes an image manifest of a case.
type imageOpts struct {
	platform ocispec.Platform
	layers   int  // gzipped tar layers
	plain    bool // tar layers, not gzipped
	// emptyLayer adds a layer of no bytes.
	emptyLayer bool
	// artifact makes an artifact: artifactType, the empty JSON config and
	// one layer of artifactLayer (mtExample when empty).
	artifact      string
	artifactLayer string
	custom        bool
	data          bool
	subject       *ocispec.Descriptor
	annotations   map[string]string
	tag           string
}

// image adds an image manifest with its config and layers.
func (c *shapeContent) image(t *testing.T, o imageOpts) ocispec.Descriptor {
	t.Helper()
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Subject: o.subject, Annotations: o.annotations}
	if o.artifact != "" {
		m.ArtifactType = o.artifact
		m.Config = c.blob(mtEmptyJSON, []byte("{}"), o.data)
		lt := o.artifactLayer
		if lt == "" {
			lt = mtExample
		}
		m.Layers = []ocispec.Descriptor{c.blob(lt, []byte("an artifact's payload "+rand.Text()), o.data)}
	} else {
		var diffIDs []digest.Digest
		for range o.layers {
			data, diffID := c.layer(t, !o.plain)
			mt := ocispec.MediaTypeImageLayerGzip
			if o.plain {
				mt = ocispec.MediaTypeImageLayer
			}
			m.Layers = append(m.Layers, c.blob(mt, data, o.data))
			diffIDs = append(diffIDs, diffID)
		}
		if o.emptyLayer {
			m.Layers = append(m.Layers, c.blob(ocispec.MediaTypeImageLayer, []byte{}, o.data))
			diffIDs = append(diffIDs, c.algo.FromBytes(nil))
		}
		cfg := ocispec.Image{Author: "manifest-push shapes test", Platform: o.platform, RootFS: ocispec.RootFS{Type: "layers", DiffIDs: diffIDs}}
		m.Config = c.blob(ocispec.MediaTypeImageConfig, encode(t, cfg, o.custom), o.data)
	}
	d := c.doc(t, ocispec.MediaTypeImageManifest, m, o.custom, o.tag, o.data)
	if o.subject != nil {
		at := m.ArtifactType
		if at == "" {
			at = m.Config.MediaType
		}
		c.referrers[o.subject.Digest] = append(c.referrers[o.subject.Digest], ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, ArtifactType: at, Annotations: m.Annotations})
	}
	return d
}

// indexOpts describes an index of a case.
type indexOpts struct {
	artifact    string
	custom      bool
	data        bool
	subject     *ocispec.Descriptor
	annotations map[string]string
	tag         string
}

// index adds an index of entries (each with its platform, or none).
func (c *shapeContent) index(t *testing.T, entries []ocispec.Descriptor, o indexOpts) ocispec.Descriptor {
	t.Helper()
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, ArtifactType: o.artifact, Manifests: entries, Subject: o.subject, Annotations: o.annotations}
	d := c.doc(t, ocispec.MediaTypeImageIndex, idx, o.custom, o.tag, o.data)
	if o.subject != nil {
		c.referrers[o.subject.Digest] = append(c.referrers[o.subject.Digest], ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, ArtifactType: o.artifact, Annotations: o.annotations})
	}
	return d
}

// withPlatform is d as an index entry of platform os/arch.
func withPlatform(d ocispec.Descriptor, os, arch string) ocispec.Descriptor {
	d.Platform = &ocispec.Platform{OS: os, Architecture: arch}
	return d
}

// twoPlatforms adds an image (or, with o.artifact, an artifact) for
// linux/amd64 and one for linux/arm64, and returns them as index entries.
func (c *shapeContent) twoPlatforms(t *testing.T, o imageOpts) []ocispec.Descriptor {
	t.Helper()
	var out []ocispec.Descriptor
	for _, arch := range []string{"amd64", "arm64"} {
		o.platform = ocispec.Platform{OS: "linux", Architecture: arch}
		out = append(out, withPlatform(c.image(t, o), "linux", arch))
	}
	return out
}

// push puts the content into repo, with plain HTTP requests: the blobs,
// then the manifests by digest (and tag), then, on a registry without the
// referrers API, each subject's referrers tag-schema index, as oras and
// cosign write it there.
func (r shapeReg) push(t *testing.T, repo string, c *shapeContent) {
	t.Helper()
	for _, b := range c.blobs {
		r.putBlob(t, repo, b.desc.Digest, b.data)
	}
	for _, d := range c.docs {
		r.putManifest(t, repo, d.desc.Digest.String(), d.desc.MediaType, d.data)
		if d.tag != "" {
			r.putManifest(t, repo, d.tag, d.desc.MediaType, d.data)
		}
	}
	if r.api {
		return
	}
	for subject, refs := range c.referrers {
		body := encode(t, ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: refs}, false)
		r.putManifest(t, repo, subject.Algorithm().String()+"-"+subject.Encoded(), ocispec.MediaTypeImageIndex, body)
	}
}

// send makes one request straight to the registry and returns the status
// and body.
func (r shapeReg) send(t *testing.T, method, u, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method == http.MethodGet || method == http.MethodHead {
		req.Header.Set("Accept", imagetest.ManifestAccept)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, data
}

// putBlob uploads a blob under its digest (of any algorithm): POST, then
// PUT with the digest.
func (r shapeReg) putBlob(t *testing.T, repo string, d digest.Digest, data []byte) {
	t.Helper()
	status, h, body := r.send(t, http.MethodPost, r.base+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if status != http.StatusAccepted {
		t.Fatalf("starting the upload of %s: %d %s", d, status, body)
	}
	loc, err := url.Parse(r.base + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	if loc, err = loc.Parse(h.Get("Location")); err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	q.Set("digest", d.String())
	loc.RawQuery = q.Encode()
	if status, _, body = r.send(t, http.MethodPut, loc.String(), "application/octet-stream", data); status != http.StatusCreated {
		t.Fatalf("uploading blob %s into %s: %d %s", d, repo, status, body)
	}
}

func (r shapeReg) putManifest(t *testing.T, repo, ref, mediaType string, data []byte) {
	t.Helper()
	if status, _, body := r.send(t, http.MethodPut, r.base+"/v2/"+repo+"/manifests/"+ref, mediaType, data); status != http.StatusCreated {
		t.Fatalf("pushing manifest %s into %s: %d %s", ref, repo, status, body)
	}
}

// manifest reads repo's manifest ref: its bytes, nil when it is not there.
func (r shapeReg) manifest(t *testing.T, repo, ref string) []byte {
	t.Helper()
	status, _, body := r.send(t, http.MethodGet, r.base+"/v2/"+repo+"/manifests/"+ref, "", nil)
	switch status {
	case http.StatusOK:
		return body
	case http.StatusNotFound:
		return nil
	}
	t.Fatalf("reading manifest %s of %s: %d %s", ref, repo, status, body)
	return nil
}

// blobData reads repo's blob d: its bytes, nil when it is not there.
func (r shapeReg) blobData(t *testing.T, repo string, d digest.Digest) []byte {
	t.Helper()
	status, _, body := r.send(t, http.MethodGet, r.base+"/v2/"+repo+"/blobs/"+d.String(), "", nil)
	switch status {
	case http.StatusOK:
		if body == nil {
			body = []byte{}
		}
		return body
	case http.StatusNotFound:
		return nil
	}
	t.Fatalf("reading blob %s of %s: %d %s", d, repo, status, body)
	return nil
}

// tagList is repo's tags, nil when it has none or does not exist.
// go-containerregistry lists a manifest put by a digest other than sha256
// among the tags: such digests are left out.
func (r shapeReg) tagList(t *testing.T, repo string) []string {
	t.Helper()
	tags, err := imagetest.Tags(context.Background(), r.client, r.base, repo)
	if err != nil {
		return nil
	}
	return slices.DeleteFunc(tags, func(tag string) bool { return digest.Digest(tag).Validate() == nil })
}

// referrersOf lists what refers to d in repo, as a client discovers it:
// the referrers API, or the tag-schema index.
func (r shapeReg) referrersOf(t *testing.T, repo string, d digest.Digest) []digest.Digest {
	t.Helper()
	var body []byte
	if r.api {
		var status int
		status, _, body = r.send(t, http.MethodGet, r.base+"/v2/"+repo+"/referrers/"+d.String(), "", nil)
		if status == http.StatusNotFound {
			return nil
		}
	} else if body = r.manifest(t, repo, d.Algorithm().String()+"-"+d.Encoded()); body == nil {
		return nil
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatalf("referrers of %s in %s: %v\n%s", d, repo, err, body)
	}
	out := make([]digest.Digest, 0, len(idx.Manifests))
	for _, m := range idx.Manifests {
		out = append(out, m.Digest)
	}
	slices.Sort(out)
	return out
}

// sameGraph checks that the manifest d is in the target repository with
// the bytes it has in the source, and so is everything it names: an
// index's manifests, a manifest's config and layers (a non-distributable
// layer is named, never held, by either).
func (r shapeReg) sameGraph(t *testing.T, src, dst string, d digest.Digest) {
	t.Helper()
	want := r.manifest(t, src, d.String())
	if want == nil {
		t.Fatalf("test setup: %s is not in %s", d, src)
	}
	got := r.manifest(t, dst, d.String())
	if !bytes.Equal(got, want) {
		t.Errorf("manifest %s in %s is not the source's bytes:\n got %q\nwant %q", d, dst, got, want)
		return
	}
	var doc struct {
		Manifests []ocispec.Descriptor `json:"manifests"`
		Config    *ocispec.Descriptor  `json:"config"`
		Layers    []ocispec.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(want, &doc); err != nil {
		t.Fatal(err)
	}
	for _, m := range doc.Manifests {
		r.sameGraph(t, src, dst, m.Digest)
	}
	blobs := doc.Layers
	if doc.Config != nil {
		blobs = append([]ocispec.Descriptor{*doc.Config}, blobs...)
	}
	for _, b := range blobs {
		got := r.blobData(t, dst, b.Digest)
		if strings.Contains(b.MediaType, "nondistributable") {
			if got != nil {
				t.Errorf("non-distributable layer %s is in %s", b.Digest, dst)
			}
			continue
		}
		if want := r.blobData(t, src, b.Digest); got == nil || !bytes.Equal(got, want) {
			t.Errorf("blob %s (%s, %d bytes) of %s is not in %s with the source's bytes (%d bytes there)", b.Digest, b.MediaType, b.Size, d, dst, len(got))
		}
	}
}

// untouched checks that nothing at all reached the target repository: no
// write went through the proxy, the repository has no tags, holds none of
// the case's manifests and blobs, and (where the registry lists them) is
// not a repository.
func (r shapeReg) untouched(t *testing.T, dst string, c *shapeContent, res clitest.Result) {
	t.Helper()
	for _, req := range r.proxy.Requests() {
		if req.IsWrite() {
			t.Errorf("a write: %s\n%s", req, res)
		}
	}
	if tags := r.tagList(t, dst); len(tags) > 0 {
		t.Errorf("%s has tags %v", dst, tags)
	}
	for _, d := range c.docs {
		if r.manifest(t, dst, d.desc.Digest.String()) != nil {
			t.Errorf("manifest %s is in %s", d.desc.Digest, dst)
		}
	}
	for _, b := range c.blobs {
		if r.sharedBlobs {
			break // found there whatever happened; the writes say
		}
		if r.blobData(t, dst, b.desc.Digest) != nil {
			t.Errorf("blob %s is in %s", b.desc.Digest, dst)
		}
	}
	if r.catalog {
		status, _, body := r.send(t, http.MethodGet, r.base+"/v2/_catalog", "", nil)
		if status != http.StatusOK {
			t.Fatalf("catalog: %d %s", status, body)
		}
		var cat struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.Unmarshal(body, &cat); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(cat.Repositories, dst) {
			t.Errorf("the catalog lists %s: %v", dst, cat.Repositories)
		}
	}
}

// shapeWant is what a case must give.
type shapeWant struct {
	// source is the source reference after the host: repo:tag or
	// repo@digest.
	source string
	// platform, when set, is the spec entry's platform.
	platform string
	// entries are the digests the pushed index must list, in order, with
	// their platforms (os/arch).
	entries []digest.Digest
	plats   []string
	// referrers are, for each subject, what must refer to it in the
	// target, as in the source.
	referrers map[digest.Digest][]digest.Digest
	// code, when not 0, is the exit code of a refusal, and stderr (and
	// stdout) what it must say; the target must then be untouched.
	code   int
	stderr []string
	stdout []string
	// partial, with code, allows what was copied before the failure (the
	// other blobs): no tag and no index may be written still.
	partial bool
}

type shapeCase struct {
	name  string
	reg   func(t *testing.T) shapeReg
	build func(t *testing.T, c *shapeContent, host string) shapeWant
	algo  digest.Algorithm
}

// entriesOf is the digests of ds, and their platforms as os/arch.
func entriesOf(ds ...ocispec.Descriptor) ([]digest.Digest, []string) {
	var out []digest.Digest
	var plats []string
	for _, d := range ds {
		out = append(out, d.Digest)
		plats = append(plats, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	return out, plats
}

var shapeCases = []shapeCase{
	{name: "image", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		img := c.image(t, imageOpts{platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, layers: 2, tag: "image"})
		e, p := entriesOf(withPlatform(img, "linux", "amd64"))
		return shapeWant{source: "src/image:image", entries: e, plats: p}
	}},
	{name: "image-uncompressed", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		img := c.image(t, imageOpts{platform: ocispec.Platform{OS: "linux", Architecture: "arm64"}, layers: 2, plain: true, tag: "image-uncompressed"})
		e, p := entriesOf(withPlatform(img, "linux", "arm64"))
		return shapeWant{source: "src/image:image-uncompressed", entries: e, plats: p}
	}},
	{name: "index", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		entries := c.twoPlatforms(t, imageOpts{layers: 2})
		c.index(t, entries, indexOpts{tag: "index"})
		e, p := entriesOf(entries...)
		return shapeWant{source: "src/index:index", entries: e, plats: p}
	}},
	{name: "nested-index", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, host string) shapeWant {
		inner1 := c.index(t, c.twoPlatforms(t, imageOpts{layers: 1}), indexOpts{})
		inner2 := c.index(t, c.twoPlatforms(t, imageOpts{layers: 1}), indexOpts{})
		c.index(t, []ocispec.Descriptor{inner1, inner2}, indexOpts{tag: "index-of-index"})
		return shapeWant{source: "src/nested:index-of-index", code: 2, stderr: []string{
			"source " + host + "/src/nested:index-of-index is an index of indexes",
			"its inner indexes " + inner1.Digest.String() + " and " + inner2.Digest.String() + " both give linux/amd64",
			"name one of its inner indexes as the source (" + host + "/src/nested@" + inner1.Digest.String() + ")",
		}}
	}},
	{name: "nested-index-inner-as-source", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		entries := c.twoPlatforms(t, imageOpts{layers: 1})
		inner1 := c.index(t, entries, indexOpts{})
		inner2 := c.index(t, c.twoPlatforms(t, imageOpts{layers: 1}), indexOpts{})
		c.index(t, []ocispec.Descriptor{inner1, inner2}, indexOpts{tag: "index-of-index"})
		e, p := entriesOf(entries...)
		return shapeWant{source: "src/nested@" + inner1.Digest.String(), entries: e, plats: p}
	}},
	{name: "sparse-index", reg: distributionShapes(registrytest.Options{Configure: sparseIndexes}), build: func(t *testing.T, c *shapeContent, host string) shapeWant {
		img := c.image(t, imageOpts{platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, layers: 2})
		absent := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("a manifest the registry never got " + rand.Text()), Size: 1024}
		c.index(t, []ocispec.Descriptor{withPlatform(img, "linux", "amd64"), withPlatform(absent, "linux", "arm64")}, indexOpts{tag: "sparse-index"})
		return shapeWant{source: "src/sparse:sparse-index", code: 4, stderr: []string{
			"source " + host + "/src/sparse:sparse-index: incomplete: its entry " + absent.Digest.String() + " (linux/arm64) is not in " + host + "/src/sparse; nothing written",
		}}
	}},
	{name: "sparse-image", reg: ggcrShapes, build: func(t *testing.T, c *shapeContent, host string) shapeWant {
		img := c.image(t, imageOpts{platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, layers: 2, tag: "sparse-image"})
		// The registry never gets the first layer.
		var m ocispec.Manifest
		if err := json.Unmarshal(c.docs[len(c.docs)-1].data, &m); err != nil {
			t.Fatal(err)
		}
		missing := m.Layers[0]
		c.blobs = slices.DeleteFunc(c.blobs, func(b shapeBlob) bool { return b.desc.Digest == missing.Digest })
		return shapeWant{source: "src/sparse:sparse-image", code: 4, stderr: []string{
			"source " + host + "/src/sparse:sparse-image: incomplete: blob " + missing.Digest.String() + " (" + missing.MediaType + ", " + fmt.Sprint(missing.Size) +
				" bytes) of its manifest " + img.Digest.String() + " is not found in " + host + "/src/sparse: push the image again, completely",
		}, stdout: []string{host + "/dst/shape:1 not updated (new)"}, partial: true}
	}},
	{name: "artifact", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		c.image(t, imageOpts{artifact: mtExample, tag: "artifact"})
		return shapeWant{source: "src/artifact:artifact", code: 2, stderr: []string{"no os and architecture"}}
	}},
	{name: "artifact-with-platform", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		a := c.image(t, imageOpts{artifact: mtExample, tag: "artifact"})
		e, p := entriesOf(withPlatform(a, "linux", "amd64"))
		return shapeWant{source: "src/artifact:artifact", platform: "linux/amd64", entries: e, plats: p}
	}},
	{name: "artifact-without-layers", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		// The suite's "artifact without layers": its one layer is the
		// empty JSON blob, the same as its config.
		a := c.image(t, imageOpts{artifact: mtExample, artifactLayer: mtEmptyJSON, tag: "artifact-without-layers"})
		e, p := entriesOf(withPlatform(a, "linux", "amd64"))
		return shapeWant{source: "src/artifact:artifact-without-layers", platform: "linux/amd64", entries: e, plats: p}
	}},
	{name: "artifact-index", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		entries := c.twoPlatforms(t, imageOpts{artifact: mtExample})
		c.index(t, entries, indexOpts{artifact: mtExample, tag: "artifact-index"})
		e, p := entriesOf(entries...)
		return shapeWant{source: "src/artifact:artifact-index", entries: e, plats: p}
	}},
	{name: "subject/distribution", reg: distributionShapes(registrytest.Options{}), build: subjectCase},
	{name: "subject/go-containerregistry", reg: ggcrShapes, build: subjectCase},
	{name: "subject-manifest-as-source", reg: ggcrShapes, build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		subject := c.image(t, imageOpts{platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, layers: 1, tag: "image"})
		ref := c.image(t, imageOpts{platform: ocispec.Platform{OS: "linux", Architecture: "arm64"}, layers: 1, subject: &subject, tag: "with-subject"})
		e, p := entriesOf(withPlatform(ref, "linux", "arm64"))
		return shapeWant{source: "src/subject:with-subject", entries: e, plats: p}
	}},
	{name: "subject-index", reg: ggcrShapes, build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		subject := c.index(t, c.twoPlatforms(t, imageOpts{layers: 1}), indexOpts{tag: "index"})
		entries := c.twoPlatforms(t, imageOpts{artifact: mtExample, annotations: map[string]string{"org.opencontainers.conformance": "hello conformance test"}})
		c.index(t, entries, indexOpts{artifact: mtExample, subject: &subject, annotations: map[string]string{"org.opencontainers.conformance": "hello conformance test"}, tag: "tagged-artifact"})
		e, p := entriesOf(entries...)
		return shapeWant{source: "src/subject:tagged-artifact", entries: e, plats: p}
	}},
	{name: "data-field", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		entries := c.twoPlatforms(t, imageOpts{layers: 1, data: true})
		for i := range entries {
			entries[i].Data = c.docs[len(c.docs)-2+i].data
		}
		c.index(t, entries, indexOpts{tag: "data-field"})
		e, p := entriesOf(entries...)
		return shapeWant{source: "src/data:data-field", entries: e, plats: p}
	}},
	{name: "non-distributable-layers", reg: distributionShapes(registrytest.Options{ManifestURLsAllow: []string{`^https://store\.example\.com/`}}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		foreign := func(mt string, size int64) (ocispec.Descriptor, digest.Digest) {
			d := digest.FromString("foreign " + rand.Text())
			return ocispec.Descriptor{MediaType: mt, Digest: d, Size: size, URLs: []string{"https://store.example.com/blobs/sha256/" + d.Encoded()}}, digest.FromString("diff " + rand.Text())
		}
		l0, d0 := foreign(mtLayerNonDGz, 123456)
		l1, d1 := foreign(mtLayerNonDist, 12345)
		data, d2 := c.layer(t, true)
		l2 := c.blob(ocispec.MediaTypeImageLayerGzip, data, false)
		cfg := c.blob(ocispec.MediaTypeImageConfig, encode(t, ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{d0, d1, d2}}}, false), false)
		img := c.doc(t, ocispec.MediaTypeImageManifest, ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{l0, l1, l2}}, false, "non-distributable-image", false)
		e, p := entriesOf(withPlatform(img, "linux", "amd64"))
		return shapeWant{source: "src/foreign:non-distributable-image", entries: e, plats: p}
	}},
	{name: "custom-fields", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		entries := c.twoPlatforms(t, imageOpts{layers: 2, custom: true})
		c.index(t, entries, indexOpts{custom: true, tag: "custom-fields"})
		e, p := entriesOf(entries...)
		return shapeWant{source: "src/custom:custom-fields", entries: e, plats: p}
	}},
	{name: "no-layers", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		img := c.image(t, imageOpts{platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, tag: "no-layers"})
		e, p := entriesOf(withPlatform(img, "linux", "amd64"))
		return shapeWant{source: "src/nolayers:no-layers", entries: e, plats: p}
	}},
	{name: "empty-blob", reg: distributionShapes(registrytest.Options{}), build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		img := c.image(t, imageOpts{platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, layers: 1, emptyLayer: true, tag: "empty-blob"})
		e, p := entriesOf(withPlatform(img, "linux", "amd64"))
		return shapeWant{source: "src/empty:empty-blob", entries: e, plats: p}
	}},
	{name: "sha512", reg: ggcrShapes, algo: digest.SHA512, build: func(t *testing.T, c *shapeContent, _ string) shapeWant {
		entries := c.twoPlatforms(t, imageOpts{layers: 2})
		idx := c.index(t, entries, indexOpts{})
		if idx.Digest.Algorithm() != digest.SHA512 || entries[0].Digest.Algorithm() != digest.SHA512 {
			t.Fatalf("test setup: %s, %s are not sha512", idx.Digest, entries[0].Digest)
		}
		e, p := entriesOf(entries...)
		return shapeWant{source: "src/sha512@" + idx.Digest.String(), entries: e, plats: p}
	}},
}

// sparseIndexes lets distribution take an index whose children it lacks
// (validation.manifests.indexes.platforms: none), as the suite's sparse
// case needs.
func sparseIndexes(cfg *configuration.Configuration) {
	cfg.Validation.Manifests.Indexes.Platforms = "none"
}

// subjectCase is the suite's "artifacts with subject": an image, and three
// manifests whose subject it is (an image and two artifacts, tagged or
// not). The image is the source; what refers to it comes along.
func subjectCase(t *testing.T, c *shapeContent, _ string) shapeWant {
	subject := c.image(t, imageOpts{platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, layers: 2, tag: "image"})
	subj := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	note := map[string]string{"org.opencontainers.conformance": "hello conformance test"}
	r1 := c.image(t, imageOpts{platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, layers: 1, subject: &subj})
	r2 := c.image(t, imageOpts{artifact: mtExample, subject: &subj, annotations: note, tag: "tagged-artifact1"})
	r3 := c.image(t, imageOpts{artifact: mtExample2, artifactLayer: "application/octet-stream", subject: &subj, annotations: note, tag: "tagged-artifact2"})
	refs := []digest.Digest{r1.Digest, r2.Digest, r3.Digest}
	slices.Sort(refs)
	e, p := entriesOf(withPlatform(subject, "linux", "amd64"))
	return shapeWant{source: "src/subject:image", entries: e, plats: p, referrers: map[digest.Digest][]digest.Digest{subject.Digest: refs}}
}

// TestShapes pushes each content shape of the conformance suite's data
// cases as the source of an index and checks what a user gets.
func TestShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range shapeCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := tc.reg(t)
			algo := tc.algo
			if algo == "" {
				algo = digest.Canonical
			}
			c := newShapeContent(algo)
			host := reg.proxy.Host()
			want := tc.build(t, c, host)
			src, _, _ := strings.Cut(strings.Split(want.source, "@")[0], ":")
			reg.push(t, src, c)
			const dst = "dst/shape"

			spec := "image: " + host + "/" + dst + ":1\nmanifests:\n  - image: " + host + "/" + want.source + "\n"
			if want.platform != "" {
				os, arch, _ := strings.Cut(want.platform, "/")
				spec += "    platform: {os: " + os + ", architecture: " + arch + "}\n"
			}
			dir := t.TempDir()
			path := dir + "/shape.yaml"
			clitest.WriteFile(t, path, spec)
			reg.proxy.Reset()
			r := clitest.Run(t, bin, clitest.RunOptions{Home: dir}, "--plain-http", "from-spec", path)
			t.Logf("%s", r)

			if want.code != 0 {
				clitest.WantCode(t, r, want.code)
				clitest.WantStderr(t, r, want.stderr...)
				for _, l := range want.stdout {
					if !slices.Contains(stdoutLines(r), l) {
						t.Errorf("stdout has no line %q\n%s", l, r)
					}
				}
				if want.partial {
					if tags := reg.tagList(t, dst); len(tags) > 0 {
						t.Errorf("%s has tags %v after a refused push", dst, tags)
					}
					return
				}
				reg.untouched(t, dst, c, r)
				return
			}
			clitest.WantCode(t, r, 0)
			wantTags := []string{"1"}
			if !reg.api {
				// The referrers tag schema: the index of a subject's referrers.
				for subject := range want.referrers {
					wantTags = append(wantTags, subject.Algorithm().String()+"-"+subject.Encoded())
				}
				slices.Sort(wantTags)
			}
			if tags := reg.tagList(t, dst); !slices.Equal(tags, wantTags) {
				t.Errorf("%s has tags %v, want %v", dst, tags, wantTags)
			}
			body := reg.manifest(t, dst, "1")
			var idx ocispec.Index
			if err := json.Unmarshal(body, &idx); err != nil {
				t.Fatalf("%s:1: %v\n%s", dst, err, body)
			}
			var got []digest.Digest
			var plats []string
			for _, m := range idx.Manifests {
				got = append(got, m.Digest)
				if m.Platform == nil {
					plats = append(plats, "none")
				} else {
					plats = append(plats, m.Platform.OS+"/"+m.Platform.Architecture)
				}
			}
			if !slices.Equal(got, want.entries) || !slices.Equal(plats, want.plats) {
				t.Errorf("the index lists %v %v, want %v %v\n%s", got, plats, want.entries, want.plats, body)
			}
			for _, d := range want.entries {
				reg.sameGraph(t, src, dst, d)
			}
			for subject, refs := range want.referrers {
				if got := reg.referrersOf(t, dst, subject); !slices.Equal(got, refs) {
					t.Errorf("in %s, %v refer to %s; want %v (as in the source)", dst, got, subject, refs)
				}
				for _, d := range refs {
					reg.sameGraph(t, src, dst, d)
				}
			}
			for _, req := range reg.proxy.Requests() {
				if req.IsWrite() && !strings.HasPrefix(req.Path, "/v2/"+dst+"/") {
					t.Errorf("a write outside the target repository: %s", req)
				}
			}
		})
	}
}
