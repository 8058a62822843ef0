package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/manifest-push/manifest-push/content"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/reference"
	"github.com/google/go-cmp/cmp"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeRegistry is an in-memory Registry: manifests and blobs per
// repository, tags, a log of every write, and failures to inject. It
// stands for the registry in tests of Push's decisions; the integration
// module tests the same calls against the real registry.
type fakeRegistry struct {
	mu        sync.Mutex
	manifests map[string]registry.Document // "repo@digest"
	blobs     map[string][]byte            // "repo@digest"
	tags      map[string]digest.Digest     // "repo:tag"
	writes    []string
	failPut   map[string]error // by "repo:ref"
	failScan  map[string]error // by "repo"
	api       bool
	gets      int // manifest GETs (ReadManifest), heads HEADs
	heads     int
	referrers map[string][]ocispec.Descriptor // "repo@subject", with api
	// afterPut, when set, is called after each manifest write (outside
	// the lock): another writer acting meanwhile.
	afterPut func(r registry.Repo, ref string)
	// tagParam makes PutTagged a registry with the tag parameter: the
	// tags are written with the document, and confirmed.
	tagParam bool
}

func newFake() *fakeRegistry {
	return &fakeRegistry{
		manifests: map[string]registry.Document{},
		blobs:     map[string][]byte{},
		tags:      map[string]digest.Digest{},
		failPut:   map[string]error{},
		failScan:  map[string]error{},
		referrers: map[string][]ocispec.Descriptor{},
	}
}

var notFound = &registry.Error{Method: "GET", StatusCode: 404}

func (f *fakeRegistry) ReadManifest(_ context.Context, r registry.Repo, ref string) (registry.Document, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	d, err := digest.Parse(ref)
	if err != nil {
		var ok bool
		if d, ok = f.tags[r.String()+":"+ref]; !ok {
			return registry.Document{}, notFound
		}
	}
	doc, ok := f.manifests[r.String()+"@"+d.String()]
	if !ok {
		return registry.Document{}, notFound
	}
	return doc, nil
}

func (f *fakeRegistry) Head(ctx context.Context, r registry.Repo, ref string) (ocispec.Descriptor, error) {
	doc, err := f.ReadManifest(ctx, r, ref)
	f.mu.Lock()
	f.heads++
	f.gets-- // a HEAD reads no document
	f.mu.Unlock()
	return doc.Desc, err
}

func (f *fakeRegistry) readBlob(r registry.Repo, d ocispec.Descriptor) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.blobs[r.String()+"@"+d.Digest.String()]
	if !ok {
		return nil, notFound
	}
	return b, nil
}

// Repository is a repository of the fake as a content.Fetcher.
func (f *fakeRegistry) Repository(r registry.Repo) content.Fetcher { return fakeRepo{f: f, r: r} }

type fakeRepo struct {
	f *fakeRegistry
	r registry.Repo
}

func (p fakeRepo) ReadManifest(ctx context.Context, d digest.Digest) (registry.Document, error) {
	return p.f.ReadManifest(ctx, p.r, d.String())
}

func (p fakeRepo) ReadBlob(_ context.Context, d ocispec.Descriptor, _ int64) ([]byte, error) {
	return p.f.readBlob(p.r, d)
}

func (p fakeRepo) OpenBlob(_ context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	b, err := p.f.readBlob(p.r, d)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// CopyBlob copies within the fake, or streams from another fetcher (a
// layout).
func (f *fakeRegistry) CopyBlob(ctx context.Context, from content.Fetcher, to registry.Repo, d ocispec.Descriptor, _ func() registry.Meter) (int64, error) {
	rc, err := from.OpenBlob(ctx, d)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blobs[to.String()+"@"+d.Digest.String()] = b
	f.writes = append(f.writes, "blob "+to.String()+"@"+short(d.Digest))
	return 0, nil
}

func (f *fakeRegistry) PutManifest(ctx context.Context, r registry.Repo, ref string, doc registry.Document) error {
	if err := f.put(r, ref, doc); err != nil {
		return err
	}
	if f.afterPut != nil {
		f.afterPut(r, ref)
	}
	return nil
}

// PutTagged is a registry without the tag parameter (the document is
// written by digest and no tag is confirmed), or with tagParam, one that
// writes the tags too and confirms them all.
func (f *fakeRegistry) PutTagged(ctx context.Context, r registry.Repo, doc registry.Document, tags []string) ([]string, error) {
	if err := f.PutManifest(ctx, r, doc.Desc.Digest.String(), doc); err != nil || !f.tagParam {
		return nil, err
	}
	for _, t := range tags {
		if err := f.PutManifest(ctx, r, t, doc); err != nil {
			return nil, err
		}
	}
	return tags, nil
}

func (f *fakeRegistry) put(r registry.Repo, ref string, doc registry.Document) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failPut[r.String()+":"+ref]; err != nil {
		return err
	}
	f.manifests[r.String()+"@"+doc.Desc.Digest.String()] = doc
	name := ref
	if _, err := digest.Parse(ref); err == nil {
		name = short(digest.Digest(ref))
	} else {
		f.tags[r.String()+":"+ref] = doc.Desc.Digest
	}
	f.writes = append(f.writes, "manifest "+r.String()+":"+name)
	return nil
}

func short(d digest.Digest) string { return d.Encoded()[:8] }

// image stores an image of platform p in repo (tagged tag) and returns its
// manifest digest.
func (f *fakeRegistry) HasBlob(_ context.Context, r registry.Repo, d digest.Digest) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.blobs[r.String()+"@"+d.String()]
	return ok, nil
}

// The fake keeps referrers the two ways a registry does: with api set, an
// index of what refers to each subject that writes of a manifest with a
// subject add to (the referrers API); without, the tag-schema index
// (tagged sha256-<hex>) that AddReferrers merges into. Cosign artifacts are
// tags either way.
func (f *fakeRegistry) scan(r registry.Repo) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failScan[r.String()]; err != nil {
		return nil, &registry.ScanError{Repo: r, Err: err}
	}
	tags := map[string]bool{}
	for key := range f.tags {
		if tag, ok := strings.CutPrefix(key, r.String()+":"); ok {
			tags[tag] = true
		}
	}
	return tags, nil
}

func (f *fakeRegistry) Referrers(ctx context.Context, r registry.Repo, subject digest.Digest) ([]registry.Referrer, error) {
	tags, err := f.scan(r)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	var out []registry.Referrer
	if f.api {
		for _, d := range f.referrers[r.String()+"@"+subject.String()] {
			out = append(out, registry.Referrer{Desc: d})
		}
	} else if d, ok := f.tags[r.String()+":"+schemaTag(subject)]; ok {
		var idx ocispec.Index
		if err := json.Unmarshal(f.manifests[r.String()+"@"+d.String()].Data, &idx); err != nil {
			f.mu.Unlock()
			return nil, err
		}
		for _, d := range idx.Manifests {
			out = append(out, registry.Referrer{Desc: d})
		}
	}
	f.mu.Unlock()
	for _, suffix := range []string{".sig", ".att", ".sbom"} {
		tag := schemaTag(subject) + suffix
		if !tags[tag] {
			continue
		}
		doc, err := f.ReadManifest(ctx, r, tag)
		if err != nil {
			return nil, err
		}
		out = append(out, registry.Referrer{Desc: doc.Desc, Tag: tag, Doc: &doc})
	}
	return out, nil
}

func (f *fakeRegistry) AddReferrers(ctx context.Context, r registry.Repo, subject digest.Digest, add []registry.Attachment) error {
	var schema []ocispec.Descriptor
	for _, a := range add {
		ref := a.Doc.Desc.Digest.String()
		if a.Referrer.Tag != "" {
			ref = a.Referrer.Tag
		}
		if err := f.PutManifest(ctx, r, ref, a.Doc); err != nil {
			return err
		}
		if a.Referrer.Tag != "" {
			continue
		}
		if f.api {
			f.mu.Lock()
			key := r.String() + "@" + subject.String()
			f.referrers[key] = append(f.referrers[key], a.Doc.Desc)
			f.mu.Unlock()
			continue
		}
		schema = append(schema, a.Doc.Desc)
	}
	if len(schema) == 0 {
		return nil
	}
	have, err := f.Referrers(ctx, r, subject)
	if err != nil {
		return err
	}
	var descs []ocispec.Descriptor
	for _, h := range have {
		if h.Tag == "" {
			descs = append(descs, h.Desc)
		}
	}
	idx, err := content.EncodeIndex(ocispec.MediaTypeImageIndex, nil, append(descs, schema...))
	if err != nil {
		return err
	}
	return f.PutManifest(ctx, r, schemaTag(subject), registry.Document{Desc: idx.Descriptor, Data: idx.Bytes})
}

func schemaTag(d digest.Digest) string { return "sha256-" + d.Encoded() }

func (f *fakeRegistry) image(repo, tag string, p ocispec.Platform) digest.Digest {
	cfg, _ := json.Marshal(p)
	layer := []byte("layer of " + repo + ":" + tag)
	m := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))},
		Layers:    []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(layer), Size: int64(len(layer))}},
	}
	m.SchemaVersion = 2
	data, _ := json.Marshal(m)
	doc := registry.Document{Desc: ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}, Data: data}
	f.manifests[repo+"@"+doc.Desc.Digest.String()] = doc
	f.blobs[repo+"@"+m.Config.Digest.String()] = cfg
	f.blobs[repo+"@"+m.Layers[0].Digest.String()] = layer
	f.tags[repo+":"+tag] = doc.Desc.Digest
	return doc.Desc.Digest
}

func testSpec(t *testing.T, target string, tags []string, sources ...string) *spec.Spec {
	t.Helper()
	named := func(s string) reference.Named {
		n, err := reference.ParseNormalizedNamed(s)
		if err != nil {
			t.Fatal(err)
		}
		return reference.TagNameOnly(n)
	}
	s := &spec.Spec{Name: "test", Target: named(target).(reference.NamedTagged), Tags: tags}
	for _, src := range sources {
		s.Manifests = append(s.Manifests, spec.Entry{Image: named(src)})
	}
	return s
}

// TestPushDecisions covers Push's decision logic with no registry: what is
// copied, what is skipped, which tags move, in which order.
func TestPushDecisions(t *testing.T) {
	ctx := context.Background()
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	setup := func() *fakeRegistry {
		f := newFake()
		f.image("reg.test/build/hello", "amd64", amd)
		f.image("reg.test/build/hello", "arm64", arm)
		return f
	}
	s := testSpec(t, "reg.test/hello:1", []string{"latest"}, "reg.test/build/hello:amd64", "reg.test/build/hello:arm64")

	t.Run("first push copies children, then the index by digest, then the target tag, then the extra tags", func(t *testing.T) {
		f := setup()
		res, err := Push(ctx, f, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		idx := short(res.Digest)
		// Blobs and child manifests of two children come concurrently; the
		// index, the target tag and the extra tag come last, in this order.
		if len(f.writes) != 9 {
			t.Fatalf("writes %q", f.writes)
		}
		wantTail := []string{"manifest reg.test/hello:" + idx, "manifest reg.test/hello:1", "manifest reg.test/hello:latest"}
		if diff := cmp.Diff(wantTail, f.writes[6:]); diff != "" {
			t.Errorf("last writes (-want +got):\n%s", diff)
		}
		for _, m := range res.Manifests {
			if !m.Copied {
				t.Errorf("%s not reported copied", m.Source)
			}
		}
		if got := []TagStatus{res.Tags[0].Status, res.Tags[1].Status}; !slices.Equal(got, []TagStatus{TagUpdated, TagUpdated}) {
			t.Errorf("tag statuses %v", got)
		}
	})

	t.Run("rerun writes nothing", func(t *testing.T) {
		f := setup()
		first, err := Push(ctx, f, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		f.writes = nil
		res, err := Push(ctx, f, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(f.writes) != 0 || res.Changed || res.Digest != first.Digest || res.Tags[1].Status != TagUnchanged {
			t.Errorf("writes %q, changed %v, tags %+v", f.writes, res.Changed, res.Tags)
		}
	})

	t.Run("a new extra tag moves only that tag", func(t *testing.T) {
		f := setup()
		if _, err := Push(ctx, f, s, Options{}); err != nil {
			t.Fatal(err)
		}
		f.writes = nil
		s2 := *s
		s2.Tags = []string{"latest", "stable"}
		res, err := Push(ctx, f, &s2, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"manifest reg.test/hello:stable"}, f.writes); diff != "" {
			t.Errorf("writes (-want +got):\n%s", diff)
		}
		if res.Tags[2].Status != TagUpdated || res.Tags[2].Previous != "" {
			t.Errorf("tag %+v", res.Tags[2])
		}
	})

	t.Run("an update copies only the missing child", func(t *testing.T) {
		f := setup()
		if _, err := Push(ctx, f, s, Options{}); err != nil {
			t.Fatal(err)
		}
		f.image("reg.test/build/hello", "amd64", ocispec.Platform{OS: "linux", Architecture: "amd64", OSFeatures: []string{"new"}})
		f.writes = nil
		res, err := Push(ctx, f, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// New config and child manifest (the layer is the same bytes, copied
		// again by the fake), then the index and both tags.
		if len(f.writes) != 6 || !res.Manifests[0].Copied || res.Manifests[1].Copied {
			t.Errorf("writes %q, manifests %+v", f.writes, res.Manifests)
		}
		if res.Tags[0].Previous == "" || res.Tags[0].Previous == res.Digest {
			t.Errorf("previous %q", res.Tags[0].Previous)
		}
	})

	t.Run("dry run writes nothing and gives the digest a push gives", func(t *testing.T) {
		f := setup()
		dry, err := Push(ctx, f, s, Options{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(f.writes) != 0 || !dry.Changed || dry.Tags[0].Status != TagWouldUpdate {
			t.Fatalf("writes %q, result %+v", f.writes, dry)
		}
		real, err := Push(ctx, f, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if real.Digest != dry.Digest || string(real.Index) != string(dry.Index) {
			t.Error("the dry run's index differs from the push's")
		}
	})

	t.Run("a failed extra tag is reported with where each tag was", func(t *testing.T) {
		f := setup()
		f.failPut["reg.test/hello:latest"] = &registry.Error{Method: "PUT", URL: "https://reg.test/v2/hello/manifests/latest", StatusCode: 503}
		res, err := Push(ctx, f, s, Options{})
		te, ok := errors.AsType[*TagsError](err)
		if !ok {
			t.Fatalf("err = %v, want a *TagsError", err)
		}
		if len(te.Updated) != 1 || te.Updated[0].Tag != "1" || len(te.NotUpdated) != 1 || te.NotUpdated[0].Tag != "latest" {
			t.Errorf("updated %+v, not updated %+v", te.Updated, te.NotUpdated)
		}
		if res == nil || res.Tags[1].Status != TagNotUpdated || !strings.Contains(err.Error(), "latest (did not exist)") {
			t.Errorf("result %+v, error %v", res, err)
		}
		delete(f.failPut, "reg.test/hello:latest")
		f.writes = nil
		if _, err := Push(ctx, f, s, Options{}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"manifest reg.test/hello:latest"}, f.writes); diff != "" {
			t.Errorf("rerun writes (-want +got):\n%s", diff)
		}
	})

	t.Run("a missing source fails before any write", func(t *testing.T) {
		f := setup()
		bad := testSpec(t, "reg.test/hello:1", nil, "reg.test/build/hello:amd64", "reg.test/build/hello:s390x")
		_, err := Push(ctx, f, bad, Options{})
		if !errors.Is(err, registry.ErrNotFound) || len(f.writes) != 0 {
			t.Errorf("err %v, writes %q", err, f.writes)
		}
	})

	t.Run("same platform twice is an error before any write", func(t *testing.T) {
		f := setup()
		f.image("reg.test/build/hello", "amd64-b", ocispec.Platform{OS: "linux", Architecture: "x86_64", Variant: "v1"})
		bad := testSpec(t, "reg.test/hello:1", nil, "reg.test/build/hello:amd64", "reg.test/build/hello:amd64-b")
		_, err := Push(ctx, f, bad, Options{})
		if !errors.Is(err, spec.ErrDuplicatePlatform) || len(f.writes) != 0 {
			t.Errorf("err %v, writes %q", err, f.writes)
		}
	})
}

// TestPushValidatesHandBuiltSpecs: a spec made by a Go program is validated
// first, with the errors of spec.Validate, and nothing is asked of the
// registry.
func TestPushValidatesHandBuiltSpecs(t *testing.T) {
	for _, s := range []*spec.Spec{nil, {}, {Manifests: []spec.Entry{{}}}} {
		_, err := Push(context.Background(), panicRegistry{}, s, Options{})
		if !errors.Is(err, spec.ErrInvalidSpec) {
			t.Errorf("%+v: err = %v", s, err)
		}
	}
}

// panicRegistry fails the test by panicking on any call.
type panicRegistry struct{ Registry }
