package publish

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// An --append whose target tag already holds the merge but whose extra
// tag must move: the target tag is "unchanged"; another writer then
// replaces it once. Converge must move the target tag back to its merge,
// not only the tags it wrote first (found by review: 12 writes, then
// ErrNotConverged, the tag lacking linux/amd64).
func TestConvergeMovesAnUnchangedTargetTag(t *testing.T) {
	ctx := context.Background()
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	f := newFake()
	f.image("reg.test/build/hello", "amd64", amd)
	armD := f.image("reg.test/hello", "armonly", arm)
	s0 := testSpec(t, "reg.test/hello:1", nil, "reg.test/build/hello:amd64")
	if _, err := Push(ctx, f, s0, Options{Request: spec.Request{Append: true}, Settle: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	idx, _ := content.EncodeIndex(content.MediaTypeDockerManifestList, nil, []ocispec.Descriptor{
		{MediaType: ocispec.MediaTypeImageManifest, Digest: armD, Size: f.manifests["reg.test/hello@"+armD.String()].Desc.Size, Platform: &arm},
	})
	theirs := registry.Document{Desc: idx.Descriptor, Data: idx.Bytes}
	var once atomic.Bool
	f.afterPut = func(r registry.Repo, ref string) {
		if ref == "latest" && once.CompareAndSwap(false, true) {
			_ = f.put(r, "1", theirs)
		}
	}
	s := testSpec(t, "reg.test/hello:1", []string{"latest"}, "reg.test/build/hello:amd64")
	res, err := Push(ctx, f, s, Options{Request: spec.Request{Append: true}, Settle: time.Millisecond})
	t.Logf("err=%v rounds=%d tags=%+v", err, res.Rounds, res.Tags)
	t1, _ := f.ReadManifest(ctx, repoOf("reg.test/hello"), "1")
	tl, _ := f.ReadManifest(ctx, repoOf("reg.test/hello"), "latest")
	t.Logf("tag 1 = %s (theirs %s), latest = %s", t1.Desc.Digest, theirs.Desc.Digest, tl.Desc.Digest)
	if err != nil || t1.Desc.Digest != tl.Desc.Digest || t1.Desc.Digest == theirs.Desc.Digest {
		t.Errorf("did not converge: %v; tag 1 %s, latest %s", err, t1.Desc.Digest, tl.Desc.Digest)
	}
}

type swapReg struct {
	*fakeRegistry
	onRead func(r registry.Repo, ref string)
}

func (s *swapReg) ReadManifest(ctx context.Context, r registry.Repo, ref string) (registry.Document, error) {
	if s.onRead != nil {
		s.onRead(r, ref)
	}
	return s.fakeRegistry.ReadManifest(ctx, r, ref)
}

// A gated job completes with S1; before it promotes, another job lands S2
// (complete, one more platform) in the staging tag: the public tag moves
// to S2, and the mirror must get S2 too (found by review: it got S1).
func TestGateMirrorGetsThePublishedIndex(t *testing.T) {
	ctx := context.Background()
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	s390 := ocispec.Platform{OS: "linux", Architecture: "s390x"}
	f := newFake()
	f.image("reg.test/build/hello", "amd64", amd)
	s390D := f.image("reg.test/hello", "s390x", s390)
	sw := &swapReg{fakeRegistry: f}
	var swapped atomic.Bool
	sw.onRead = func(r registry.Repo, ref string) {
		if ref != "run1" || !stackHas("completeIndex") || !swapped.CompareAndSwap(false, true) {
			return
		}
		cur, _ := f.ReadManifest(ctx, r, "run1")
		var idx ocispec.Index
		_ = json.Unmarshal(cur.Data, &idx)
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: s390D, Size: f.manifests["reg.test/hello@"+s390D.String()].Desc.Size, Platform: &s390})
		enc, _ := content.EncodeIndex(cur.Desc.MediaType, nil, idx.Manifests)
		_ = f.put(r, "run1", registry.Document{Desc: enc.Descriptor, Data: enc.Bytes})
	}
	s := testSpec(t, "reg.test/hello:1", nil, "reg.test/build/hello:amd64")
	m := testSpec(t, "reg.test/mirror:1", nil).Target
	res, err := Push(ctx, sw, s, Options{Request: spec.Request{Append: true, Require: []ocispec.Platform{amd}, StagingTag: "run1", Mirrors: []reference.NamedTagged{m}}, Settle: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := f.ReadManifest(ctx, repoOf("reg.test/hello"), "1")
	mir, _ := f.ReadManifest(ctx, repoOf("reg.test/mirror"), "1")
	t.Logf("swapped=%v res=%s public=%s mirror=%s mirrorErr=%v", swapped.Load(), res.Digest, pub.Desc.Digest, mir.Desc.Digest, res.Mirrors[0].Err)
	if pub.Desc.Digest != mir.Desc.Digest {
		t.Errorf("mirror holds %s, public %s", mir.Desc.Digest, pub.Desc.Digest)
	}
}

// stackHas reports whether a function of that name is calling: the test's
// registry acts when the writer reads the staging tag to promote it.
func stackHas(name string) bool {
	pc := make([]uintptr, 64)
	n := runtime.Callers(2, pc)
	fr := runtime.CallersFrames(pc[:n])
	for {
		f, more := fr.Next()
		if strings.Contains(f.Function, name) {
			return true
		}
		if !more {
			return false
		}
	}
}

// A by-digest dry run says what the by-digest push does: nothing, when the
// index is there (found by review: it said it would write).
func TestDryRunByDigestSaysWhatThePushDoes(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	f.image("reg.test/build/hello", "amd64", ocispec.Platform{OS: "linux", Architecture: "amd64"})
	s := testSpec(t, "reg.test/hello:1", nil, "reg.test/build/hello:amd64")
	if _, err := Push(ctx, f, s, Options{Request: spec.Request{ByDigest: true}}); err != nil {
		t.Fatal(err)
	}
	real, _ := Push(ctx, f, s, Options{Request: spec.Request{ByDigest: true}})
	dry, _ := Push(ctx, f, s, Options{Request: spec.Request{ByDigest: true}, DryRun: true})
	t.Logf("rerun changed=%v, dry-run changed=%v", real.Changed, dry.Changed)
	if real.Changed != dry.Changed {
		t.Errorf("dry run disagrees with the run")
	}
}
