package publish

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Defect: on a rerun the heal and the referrers run at once and both add
// warnings to the result. Here both warn (a kept child deleted from the
// target; a cosign tag the target holds with other content): under the
// race detector the two must not write the result at once, and both
// warnings reach it.
func TestHealAndReferrerWarningsDoNotRace(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	amd := f.image("reg.test/build/a", "amd64", ocispec.Platform{OS: "linux", Architecture: "amd64"})
	arm := f.image("reg.test/build/b", "arm64", ocispec.Platform{OS: "linux", Architecture: "arm64"})
	sig := f.artifact("reg.test/build/a", "application/vnd.dev.cosign.artifact.sig.v1+json", amd)
	if err := f.PutManifest(ctx, repoOf("reg.test/build/a"), schemaTag(amd)+".sig", sig); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx, f, testSpec(t, "reg.test/app:1", nil, "reg.test/build/b:arm64"), Options{}); err != nil {
		t.Fatal(err)
	}
	s := testSpec(t, "reg.test/app:1", nil, "reg.test/build/a:amd64")
	if _, err := Push(ctx, f, s, Options{Request: spec.Request{Append: true}, Settle: 1}); err != nil {
		t.Fatal(err)
	}
	// A clean-up job deletes the kept child; another signer replaced the
	// target's signature tag.
	f.mu.Lock()
	delete(f.manifests, "reg.test/app@"+arm.String())
	f.mu.Unlock()
	other := f.artifact("reg.test/app", "application/vnd.example.another-signer", amd)
	if err := f.PutManifest(ctx, repoOf("reg.test/app"), schemaTag(amd)+".sig", other); err != nil {
		t.Fatal(err)
	}
	res, err := Push(ctx, f, s, Options{Request: spec.Request{Append: true}, Settle: 1})
	if err != nil {
		t.Fatal(err)
	}
	kept := slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "kept from what the tag held") })
	left := slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "left as it is") })
	if !kept || !left {
		t.Errorf("warnings %q: want the kept child's and the signature tag's", res.Warnings)
	}
}

// Suspected: a manifest that is a referrer (written by the registry
// client, so the copier leaves its PUT out) and also a child of what is
// copied: the copier's record of manifests written must not count the
// referrer's copy as a write, or the child is never written.
func TestReferrerAlsoAChildIsWritten(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	d := f.image("reg.test/build/a", "amd64", ocispec.Platform{OS: "linux", Architecture: "amd64"})
	rd := &reader{reg: f}
	w := newWriter(rd, repoOf("reg.test/app"), Options{}, nil)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: f.manifests["reg.test/build/a@"+d.String()].Desc.Size}
	ch := []child{{desc: desc, from: rd.at(repoOf("reg.test/build/a")), source: "reg.test/build/a:amd64"}}
	if _, err := w.cp.copy(ctx, ch, copyMode{skipPut: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cp.copy(ctx, ch, copyMode{}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := hasManifest(ctx, f, repoOf("reg.test/app"), d); !ok {
		t.Errorf("%s is not in the target: writes %q", d, f.writes)
	}
}
