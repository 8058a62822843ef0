package publish

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// recordingSigner is a Signer of the test's own: it notes each artifact,
// what the fake registry had written when it ran, and fails for those in
// fail; a success writes a cosign signature tag, as cosign does.
type recordingSigner struct {
	f      *fakeRegistry
	mu     sync.Mutex
	signed []string
	writes [][]string
	fail   map[string]bool
}

func (s *recordingSigner) Argv(a string) []string { return []string{"sign", a} }

func (s *recordingSigner) Sign(ctx context.Context, a string) error {
	s.mu.Lock()
	s.signed = append(s.signed, a)
	s.f.mu.Lock()
	s.writes = append(s.writes, slices.Clone(s.f.writes))
	s.f.mu.Unlock()
	s.mu.Unlock()
	if s.fail[a] {
		return errors.New("no key")
	}
	repo, d, _ := strings.Cut(a, "@")
	subject := digest.Digest(d)
	sig := s.f.artifact(repo, cosignSignatureType, subject)
	return s.f.PutManifest(ctx, repoOf(repo), schemaTag(subject)+".sig", sig)
}

// The signer runs for the index and each child after they are written by
// digest and before any tag moves; a rerun runs it for none; a signer
// that fails moves no tag and names the artifact.
func TestSignBeforeTags(t *testing.T) {
	// On a registry with the tag parameter too: the tags must not ride on
	// the index's own write when signing.
	for _, tagParam := range []bool{false, true} {
		t.Run(map[bool]string{false: "per-tag writes", true: "tag parameter"}[tagParam], func(t *testing.T) { testSignBeforeTags(t, tagParam) })
	}
}

func testSignBeforeTags(t *testing.T, tagParam bool) {
	ctx := context.Background()
	f := newFake()
	f.tagParam = tagParam
	f.image("reg.test/build/a", "amd64", ocispec.Platform{OS: "linux", Architecture: "amd64"})
	f.image("reg.test/build/b", "arm64", ocispec.Platform{OS: "linux", Architecture: "arm64"})
	s := testSpec(t, "reg.test/app:1", []string{"latest"}, "reg.test/build/a:amd64", "reg.test/build/b:arm64")

	bad := &recordingSigner{f: f, fail: map[string]bool{}}
	res, err := Push(ctx, f, s, Options{Signing: &Signing{Signer: bad}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad.signed) != 3 {
		t.Fatalf("signed %q, want the index and 2 children", bad.signed)
	}
	for i, w := range bad.writes {
		for _, x := range w {
			if x == "manifest reg.test/app:1" || x == "manifest reg.test/app:latest" {
				t.Errorf("signing %s ran after a tag moved: %q", bad.signed[i], w)
			}
		}
	}
	if !slices.Contains(bad.signed, "reg.test/app@"+res.Digest.String()) {
		t.Errorf("the index %s was not signed: %q", res.Digest, bad.signed)
	}

	again := &recordingSigner{f: f}
	if _, err := Push(ctx, f, s, Options{Signing: &Signing{Signer: again}}); err != nil {
		t.Fatal(err)
	}
	if len(again.signed) != 0 {
		t.Errorf("the rerun signed %q", again.signed)
	}

	// A new index whose signing fails: no tag moves.
	f.image("reg.test/build/c", "s390x", ocispec.Platform{OS: "linux", Architecture: "s390x"})
	s3 := testSpec(t, "reg.test/app:1", []string{"latest"}, "reg.test/build/a:amd64", "reg.test/build/b:arm64", "reg.test/build/c:s390x")
	failing := &recordingSigner{f: f, fail: map[string]bool{}}
	p, err := Push(ctx, f, s3, Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	failing.fail["reg.test/app@"+p.Digest.String()] = true
	f.writes = nil
	res, err = Push(ctx, f, s3, Options{Signing: &Signing{Signer: failing}})
	se, ok := errors.AsType[*SignError](err)
	if !ok || !slices.Equal(se.Unsigned, []string{"reg.test/app@" + p.Digest.String()}) {
		t.Fatalf("error %v, want a SignError naming the index", err)
	}
	for _, w := range f.writes {
		if w == "manifest reg.test/app:1" || w == "manifest reg.test/app:latest" {
			t.Errorf("a tag moved although signing failed: %q", f.writes)
		}
	}
	if res.Tags[0].Status != TagNotUpdated {
		t.Errorf("tag %+v, want not updated", res.Tags[0])
	}
}
