package publish

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func repoOf(s string) registry.Repo {
	domain, path, _ := strings.Cut(s, "/")
	return registry.Repo{Domain: domain, Path: path}
}

// artifact stores in repo an OCI artifact manifest of artifactType whose
// subject is subject, untagged, and returns its document.
func (f *fakeRegistry) artifact(repo, artifactType string, subject digest.Digest) registry.Document {
	cfg := []byte("{}")
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, ArtifactType: artifactType,
		Config:  ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: digest.FromBytes(cfg), Size: 2},
		Layers:  []ocispec.Descriptor{{MediaType: ocispec.MediaTypeEmptyJSON, Digest: digest.FromBytes(cfg), Size: 2}},
		Subject: &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: subject},
	}
	data, _ := json.Marshal(m)
	doc := registry.Document{Desc: ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}, Data: data}
	f.mu.Lock()
	f.manifests[repo+"@"+doc.Desc.Digest.String()] = doc
	f.blobs[repo+"@"+m.Config.Digest.String()] = cfg
	f.mu.Unlock()
	return doc
}

// TestReferrerDecisions: what refers to an entry is copied into the target
// when the target lacks it, merged into what the target lists, and skipped
// when the target has it; with the referrers API and with the tag schema.
func TestReferrerDecisions(t *testing.T) {
	ctx := context.Background()
	for _, api := range []bool{true, false} {
		name := "tag schema"
		if api {
			name = "referrers API"
		}
		t.Run(name, func(t *testing.T) {
			f := newFake()
			f.api = api
			amd := f.image("reg.test/build/hello", "amd64", ocispec.Platform{OS: "linux", Architecture: "amd64"})
			src := repoOf("reg.test/build/hello")
			sbom := f.artifact(src.String(), "application/spdx+json", amd)
			sig := f.artifact(src.String(), "application/vnd.dev.cosign.artifact.sig.v1+json", amd)
			if err := f.AddReferrers(ctx, src, amd, []registry.Attachment{{Doc: sbom}}); err != nil {
				t.Fatal(err)
			}
			if err := f.PutManifest(ctx, src, schemaTag(amd)+".sig", sig); err != nil {
				t.Fatal(err)
			}
			// The target lists another referrer of the image already.
			dst := repoOf("reg.test/hello")
			other := f.artifact(dst.String(), "application/vnd.example.other", amd)
			if err := f.AddReferrers(ctx, dst, amd, []registry.Attachment{{Doc: other}}); err != nil {
				t.Fatal(err)
			}
			s := testSpec(t, "reg.test/hello:1", nil, "reg.test/build/hello:amd64")

			f.writes = nil
			dry, err := Push(ctx, f, s, Options{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.writes) != 0 || len(dry.Manifests[0].Referrers) != 2 || !dry.Manifests[0].Referrers[0].Copied || !dry.Manifests[0].Referrers[1].Copied {
				t.Errorf("dry run: writes %q, referrers %+v", f.writes, dry.Manifests[0].Referrers)
			}

			res, err := Push(ctx, f, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := res.Manifests[0].Referrers
			want := []ReferrerResult{
				{Digest: sbom.Desc.Digest, MediaType: ocispec.MediaTypeImageManifest, Subject: amd, Copied: true},
				{Digest: sig.Desc.Digest, MediaType: ocispec.MediaTypeImageManifest, Subject: amd, Tag: schemaTag(amd) + ".sig", Copied: true},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("referrers (-want +got):\n%s", diff)
			}
			listed, err := f.Referrers(ctx, dst, amd)
			if err != nil {
				t.Fatal(err)
			}
			var digests []digest.Digest
			for _, r := range listed {
				digests = append(digests, r.Desc.Digest)
			}
			// What the target listed stays first; the copies follow.
			if diff := cmp.Diff([]digest.Digest{other.Desc.Digest, sbom.Desc.Digest, sig.Desc.Digest}, digests); diff != "" {
				t.Errorf("the target's referrers of the image (-want +got):\n%s", diff)
			}

			f.writes = nil
			again, err := Push(ctx, f, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.writes) != 0 || again.Changed || again.Manifests[0].Referrers[0].Copied {
				t.Errorf("rerun: writes %q, changed %v, referrers %+v", f.writes, again.Changed, again.Manifests[0].Referrers)
			}

			// A cosign tag the target holds with other content is left
			// alone, with a warning.
			other2 := f.artifact(dst.String(), "application/vnd.example.mine", amd)
			if err := f.PutManifest(ctx, dst, schemaTag(amd)+".sig", other2); err != nil {
				t.Fatal(err)
			}
			f.writes = nil
			kept, err := Push(ctx, f, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.writes) != 0 || len(kept.Warnings) != 1 || !strings.Contains(kept.Warnings[0], "left as it is") {
				t.Errorf("a different cosign tag in the target: writes %q, warnings %q", f.writes, kept.Warnings)
			}

			// --referrers=false looks at none.
			f.writes = nil
			bare, err := Push(ctx, f, testSpec(t, "reg.test/bare:1", nil, "reg.test/build/hello:amd64"), Options{SkipReferrers: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(bare.Manifests[0].Referrers) != 0 || slices.ContainsFunc(f.writes, func(w string) bool { return strings.Contains(w, "sha256-") }) {
				t.Errorf("skipped referrers: %+v, writes %q", bare.Manifests[0].Referrers, f.writes)
			}
		})
	}
}

// TestReferrerScanFailureIsAWarning: a source repository whose referrers
// cannot be looked at keeps them; the push goes on and says so.
func TestReferrerScanFailureIsAWarning(t *testing.T) {
	f := newFake()
	f.image("reg.test/build/hello", "amd64", ocispec.Platform{OS: "linux", Architecture: "amd64"})
	f.failScan["reg.test/build/hello"] = &registry.Error{Method: "GET", StatusCode: 403}
	res, err := Push(context.Background(), f, testSpec(t, "reg.test/hello:1", nil, "reg.test/build/hello:amd64"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "reg.test/build/hello: could not look for what refers to its images") {
		t.Errorf("warnings %q", res.Warnings)
	}
}

// TestConverge: an update whose tag another writer replaces meanwhile
// merges again into what the tag holds (a second round); one whose tag
// keeps being replaced gives up after maxRounds writes, with a *TagsError.
func TestConverge(t *testing.T) {
	ctx := context.Background()
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	s390 := ocispec.Platform{OS: "linux", Architecture: "s390x"}
	setup := func() (*fakeRegistry, registry.Document) {
		f := newFake()
		f.image("reg.test/build/hello", "amd64", amd)
		armD := f.image("reg.test/build/hello", "arm64", arm)
		s390D := f.image("reg.test/hello", "s390x", s390)
		// Another writer's index: arm64 and s390x, without amd64.
		f.mu.Lock()
		f.manifests["reg.test/hello@"+armD.String()] = f.manifests["reg.test/build/hello@"+armD.String()]
		f.mu.Unlock()
		idx, err := content.EncodeIndex(content.MediaTypeDockerManifestList, nil, []ocispec.Descriptor{
			{MediaType: ocispec.MediaTypeImageManifest, Digest: armD, Size: f.manifests["reg.test/hello@"+armD.String()].Desc.Size, Platform: &arm},
			{MediaType: ocispec.MediaTypeImageManifest, Digest: s390D, Size: f.manifests["reg.test/hello@"+s390D.String()].Desc.Size, Platform: &s390},
		})
		if err != nil {
			t.Fatal(err)
		}
		return f, registry.Document{Desc: idx.Descriptor, Data: idx.Bytes}
	}
	s := testSpec(t, "reg.test/hello:1", nil, "reg.test/build/hello:amd64")

	t.Run("another writer replaced the tag once", func(t *testing.T) {
		f, theirs := setup()
		var replaced atomic.Bool
		f.afterPut = func(r registry.Repo, ref string) {
			if ref == "1" && replaced.CompareAndSwap(false, true) {
				if err := f.put(r, "1", theirs); err != nil {
					t.Error(err)
				}
			}
		}
		res, err := Push(ctx, f, s, Options{Request: spec.Request{Append: true}, Settle: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Rounds != 2 {
			t.Errorf("rounds %d, want 2", res.Rounds)
		}
		doc, err := f.ReadManifest(ctx, repoOf("reg.test/hello"), "1")
		if err != nil {
			t.Fatal(err)
		}
		var idx ocispec.Index
		if err := json.Unmarshal(doc.Data, &idx); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range idx.Manifests {
			got = append(got, d.Platform.Architecture)
		}
		if diff := cmp.Diff([]string{"arm64", "s390x", "amd64"}, got); diff != "" {
			t.Errorf("the tag holds (-want +got):\n%s", diff)
		}
		if doc.Desc.Digest != res.Digest {
			t.Errorf("result digest %s, the tag %s", res.Digest, doc.Desc.Digest)
		}
	})

	t.Run("another writer keeps replacing it", func(t *testing.T) {
		f, theirs := setup()
		var puts atomic.Int32
		f.afterPut = func(r registry.Repo, ref string) {
			if ref == "1" {
				puts.Add(1)
				if err := f.put(r, "1", theirs); err != nil {
					t.Error(err)
				}
			}
		}
		res, err := Push(ctx, f, s, Options{Request: spec.Request{Append: true}, Settle: time.Millisecond})
		if !errors.Is(err, ErrNotConverged) {
			t.Fatalf("error %v, want ErrNotConverged", err)
		}
		var te *TagsError
		if !errors.As(err, &te) || len(te.Updated) != 1 || te.Updated[0].Tag != "1" {
			t.Errorf("error %#v: want a *TagsError saying tag 1 moved", err)
		}
		if res.Rounds != maxRounds || int(puts.Load()) != maxRounds {
			t.Errorf("rounds %d, tag writes %d; want %d", res.Rounds, puts.Load(), maxRounds)
		}
	})
}

// TestVerifyDamage: each kind of damage Verify reports, and a whole image.
func TestVerifyDamage(t *testing.T) {
	ctx := context.Background()
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	type fixture struct {
		f     *fakeRegistry
		amd   ocispec.Descriptor
		arm   ocispec.Descriptor
		index func(descs ...ocispec.Descriptor) // tags app:1 with an OCI index of descs
	}
	setup := func() fixture {
		f := newFake()
		desc := func(d digest.Digest, p ocispec.Platform) ocispec.Descriptor {
			doc := f.manifests["reg.test/app@"+d.String()]
			return ocispec.Descriptor{MediaType: doc.Desc.MediaType, Digest: d, Size: doc.Desc.Size, Platform: &p}
		}
		x := fixture{f: f, amd: desc(f.image("reg.test/app", "amd64", amd), amd), arm: desc(f.image("reg.test/app", "arm64", arm), arm)}
		x.index = func(descs ...ocispec.Descriptor) {
			idx, err := content.EncodeIndex(ocispec.MediaTypeImageIndex, nil, descs)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.put(repoOf("reg.test/app"), "1", registry.Document{Desc: idx.Descriptor, Data: idx.Bytes}); err != nil {
				t.Fatal(err)
			}
		}
		return x
	}
	manifestOf := func(f *fakeRegistry, d ocispec.Descriptor) ocispec.Manifest {
		var m ocispec.Manifest
		if err := json.Unmarshal(f.manifests["reg.test/app@"+d.Digest.String()].Data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		damage func(x fixture)
		blobs  bool
		want   string // the one problem, "" when whole
		note   string
	}{
		{name: "whole", damage: func(x fixture) { x.index(x.amd, x.arm) }, blobs: true},
		{name: "an entry missing", damage: func(x fixture) {
			x.index(x.amd, x.arm)
			delete(x.f.manifests, "reg.test/app@"+x.arm.Digest.String())
		}, want: "entry " + "%arm (linux/arm64) is missing from reg.test/app"},
		{name: "an entry whose size is wrong", damage: func(x fixture) {
			bad := x.arm
			bad.Size++
			x.index(x.amd, bad)
		}, want: "the index says"},
		{name: "an attestation of an entry not listed", damage: func(x fixture) {
			att := x.arm
			att.Platform = &ocispec.Platform{OS: "unknown", Architecture: "unknown"}
			att.Annotations = map[string]string{content.AnnotationReferenceType: "attestation-manifest", content.AnnotationReferenceDigest: digest.FromString("gone").String()}
			x.index(x.amd, att)
		}, want: "refers to " + digest.FromString("gone").String() + ", which the index does not list"},
		{name: "a config missing", damage: func(x fixture) {
			x.index(x.amd, x.arm)
			delete(x.f.blobs, "reg.test/app@"+manifestOf(x.f, x.arm).Config.Digest.String())
		}, want: "the config"},
		{name: "a layer missing (with blobs)", blobs: true, damage: func(x fixture) {
			x.index(x.amd, x.arm)
			delete(x.f.blobs, "reg.test/app@"+manifestOf(x.f, x.arm).Layers[0].Digest.String())
		}, want: "is missing from reg.test/app"},
		{name: "a platform that says other than the config is a note", damage: func(x fixture) {
			odd := x.arm
			odd.Platform = &ocispec.Platform{OS: "linux", Architecture: "ppc64le"}
			x.index(x.amd, odd)
		}, note: "linux/ppc64le in the index, linux/arm64 in its config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := setup()
			tc.damage(x)
			v, err := Verify(ctx, x.f, "reg.test/app:1", VerifyOptions{Blobs: tc.blobs})
			want := strings.ReplaceAll(tc.want, "%arm", x.arm.Digest.String())
			switch {
			case want == "" && err != nil:
				t.Fatalf("error %v, problems %q", err, v.Problems)
			case want != "" && !errors.Is(err, ErrDamaged):
				t.Fatalf("error %v, want ErrDamaged", err)
			case want != "" && (len(v.Problems) != 1 || !strings.Contains(v.Problems[0], want)):
				t.Errorf("problems %q, want one saying %q", v.Problems, want)
			}
			if tc.note != "" && (len(v.Notes) != 1 || !strings.Contains(v.Notes[0], tc.note)) {
				t.Errorf("notes %q, want one saying %q", v.Notes, tc.note)
			}
			if v.Entries != 2 {
				t.Errorf("%d entries checked, want 2", v.Entries)
			}
			if tc.blobs && want == "" && v.Blobs != 4 {
				t.Errorf("%d blobs checked, want 4", v.Blobs)
			}
		})
	}
}

// TestInspect: an index's entries and their referrers; one entry by
// platform; a platform the index lacks.
func TestInspect(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm := ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	s := testSpec(t, "reg.test/app:1", nil, "reg.test/app:amd64", "reg.test/app:arm")
	amdD := f.image("reg.test/app", "amd64", amd)
	f.image("reg.test/app", "arm", arm)
	sig := f.artifact("reg.test/app", "application/vnd.example.sig", amdD)
	if err := f.PutManifest(ctx, repoOf("reg.test/app"), schemaTag(amdD)+".sig", sig); err != nil {
		t.Fatal(err)
	}
	res, err := Push(ctx, f, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := Inspect(ctx, f, "reg.test/app:1", InspectOptions{Referrers: true, Platform: &ocispec.Platform{OS: "linux", Architecture: "arm"}})
	if err != nil {
		t.Fatal(err)
	}
	if in.Digest != res.Digest || len(in.Manifests) != 2 || in.Manifests[0].Platform != "linux/amd64" || in.Manifests[1].Platform != "linux/arm/v7" {
		t.Errorf("inspection %+v", in)
	}
	if r := in.Manifests[0].Referrers; len(r) != 1 || r[0].Digest != sig.Desc.Digest || r[0].Tag != schemaTag(amdD)+".sig" {
		t.Errorf("referrers of the amd64 entry: %+v", r)
	}
	if in.Child == nil || in.Child.Platform != "linux/arm/v7" || in.Child.ConfigPlatform != "linux/arm/v7" || len(in.Child.Layers) != 1 {
		t.Errorf("the arm entry: %+v", in.Child)
	}
	if _, err := Inspect(ctx, f, "reg.test/app:1", InspectOptions{Platform: &ocispec.Platform{OS: "windows", Architecture: "amd64"}}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("a platform the index lacks: %v", err)
	}
}

// TestChanges: the platforms a push adds, updates and removes against what
// the tag held, in the index's order, then the removed ones in their old
// order.
func TestChanges(t *testing.T) {
	p := func(arch string) *ocispec.Platform { return &ocispec.Platform{OS: "linux", Architecture: arch} }
	d := func(s string) digest.Digest { return digest.FromString(s) }
	cur := &plan.Source{
		Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex},
		Children: []ocispec.Descriptor{
			{MediaType: ocispec.MediaTypeImageManifest, Digest: d("amd"), Platform: p("amd64")},
			{MediaType: ocispec.MediaTypeImageManifest, Digest: d("386"), Platform: p("386")},
			{MediaType: ocispec.MediaTypeImageManifest, Digest: d("arm"), Platform: p("arm64")},
		},
	}
	after := []plan.Entry{
		{Descriptor: ocispec.Descriptor{Digest: d("arm2"), Platform: p("arm64")}},
		{Descriptor: ocispec.Descriptor{Digest: d("amd"), Platform: p("amd64")}},
		{Descriptor: ocispec.Descriptor{Digest: d("s390"), Platform: p("s390x")}},
		{Descriptor: ocispec.Descriptor{Digest: d("att")}, Attestation: true},
	}
	want := []Change{
		{Platform: "linux/arm64", Change: ChangeUpdated, From: d("arm"), To: d("arm2")},
		{Platform: "linux/s390x", Change: ChangeAdded, To: d("s390")},
		{Platform: "linux/386", Change: ChangeRemoved, From: d("386")},
	}
	if diff := cmp.Diff(want, plan.Changes(cur, after)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if got := plan.Changes(nil, after[:1]); len(got) != 1 || got[0].Change != ChangeAdded {
		t.Errorf("into no tag: %+v", got)
	}
}

// TestRerunReadsOneManifest: a rerun that changes nothing reads one
// manifest, the target's index; each source is looked at with HEAD only.
// A source whose tag moved is read, and so is one whose platform the spec
// now gives otherwise.
func TestRerunReadsOneManifest(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	f.image("reg.test/build/hello", "amd64", amd)
	f.image("reg.test/build/hello", "arm64", arm)
	s := testSpec(t, "reg.test/hello:1", []string{"latest"}, "reg.test/build/hello:amd64", "reg.test/build/hello:arm64")
	configs := MemoryCache()
	first, err := Push(ctx, f, s, Options{Configs: configs})
	if err != nil {
		t.Fatal(err)
	}
	f.gets, f.heads, f.writes = 0, 0, nil
	again, err := Push(ctx, f, s, Options{Configs: configs})
	if err != nil {
		t.Fatal(err)
	}
	// HEADs: the two sources, and (as with the registry client, whose
	// tag and manifest looks are HEADs too) the extra tag and the two
	// children looked for by the heal.
	if f.gets != 1 || f.heads != 5 || len(f.writes) != 0 || again.Digest != first.Digest {
		t.Errorf("rerun: %d manifest GETs, %d HEADs, writes %q, digest %s (was %s); want 1, 5, none, the same", f.gets, f.heads, f.writes, again.Digest, first.Digest)
	}

	// The arm64 tag moves to another image: that source is read.
	f.image("reg.test/build/hello", "arm64", ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	f.mu.Lock()
	f.blobs["reg.test/build/hello@"+digest.FromString("x").String()] = nil
	f.mu.Unlock()
	f.gets, f.heads = 0, 0
	moved, err := Push(ctx, f, s, Options{DryRun: true, Configs: configs})
	if err != nil {
		t.Fatal(err)
	}
	if f.gets != 2 || moved.Digest == first.Digest {
		t.Errorf("a moved source: %d manifest GETs, digest %s; want 2 (the target, the moved source), a new digest", f.gets, moved.Digest)
	}

	// The spec now gives the amd64 source another platform: it is read,
	// and its config says otherwise (rule P2 warns).
	s2 := testSpec(t, "reg.test/hello:1", []string{"latest"}, "reg.test/build/hello:amd64", "reg.test/build/hello:arm64")
	s2.Manifests[0].Platform = &ocispec.Platform{OS: "linux", Architecture: "386"}
	f.gets = 0
	res, err := Push(ctx, f, s2, Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.gets < 2 || len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "image config says linux/amd64") {
		t.Errorf("a source given another platform: %d manifest GETs, warnings %q", f.gets, res.Warnings)
	}
}
