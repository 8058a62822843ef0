package publish

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/manifest-push/manifest-push/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// listingRegistry is a fakeRegistry that lists tags (as registry.Client
// does), counting the lists, or failing them with failList.
type listingRegistry struct {
	*fakeRegistry
	lists    atomic.Int32
	failList error
}

func (l *listingRegistry) ListTags(_ context.Context, r registry.Repo) ([]string, error) {
	l.lists.Add(1)
	if l.failList != nil {
		return nil, l.failList
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var tags []string
	for k := range l.tags {
		if repo, tag, ok := strings.Cut(k, ":"); ok && repo == r.String() {
			tags = append(tags, tag)
		}
	}
	return tags, nil
}

// A source the registry does not have comes back as a Missing
// SourceError; by tag, with the nearest tags of its repository, listed
// during the push.
func TestMissingSourceNearTags(t *testing.T) {
	t.Parallel()
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	setup := func() *listingRegistry {
		f := newFake()
		f.image("reg.test/src", "linux-amd64", amd)
		f.image("reg.test/src", "linux-arm-v7", amd)
		f.image("reg.test/src", "linux-arm64", amd)
		f.image("reg.test/src", "windows", amd)
		return &listingRegistry{fakeRegistry: f}
	}
	for _, tc := range []struct {
		name     string
		source   string
		failList error
		plain    bool // a Registry without ListTags
		want     *SourceError
		lists    int32
	}{
		{
			name:   "near tags, nearest first",
			source: "reg.test/src:linux-armv7",
			want: &SourceError{Source: "reg.test/src:linux-armv7", Missing: true,
				Near: &NearTags{Repository: "reg.test/src", Tag: "linux-armv7", Count: 4, Tags: []string{"linux-arm-v7", "linux-arm64"}}},
			lists: 1,
		},
		{
			name:   "no tag near",
			source: "reg.test/src:1.0-amd64",
			want: &SourceError{Source: "reg.test/src:1.0-amd64", Missing: true,
				Near: &NearTags{Repository: "reg.test/src", Tag: "1.0-amd64", Count: 4}},
			lists: 1,
		},
		{
			name:   "no such repository",
			source: "reg.test/nothing:1",
			want: &SourceError{Source: "reg.test/nothing:1", Missing: true,
				Near: &NearTags{Repository: "reg.test/nothing", Tag: "1", Count: 0}},
			lists: 1,
		},
		{
			name:   "by digest: no list",
			source: "reg.test/src@sha256:" + strings.Repeat("0", 64),
			want:   &SourceError{Source: "reg.test/src@sha256:" + strings.Repeat("0", 64), Missing: true},
		},
		{
			name:     "a list that fails gives no near tags",
			source:   "reg.test/src:linux-armv7",
			failList: &registry.Error{Method: "GET", StatusCode: 403},
			want:     &SourceError{Source: "reg.test/src:linux-armv7", Missing: true},
			lists:    1,
		},
		{
			name:   "a registry that cannot list gives no near tags",
			source: "reg.test/src:linux-armv7",
			plain:  true,
			want:   &SourceError{Source: "reg.test/src:linux-armv7", Missing: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := setup()
			l.failList = tc.failList
			var reg Registry = l
			if tc.plain {
				reg = l.fakeRegistry
			}
			s := testSpec(t, "reg.test/app:1", nil, "reg.test/src:linux-amd64", tc.source)
			_, err := Push(context.Background(), reg, s, Options{})
			if !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			se, ok := errors.AsType[*SourceError](err)
			if !ok {
				t.Fatalf("err = %v, want a *SourceError", err)
			}
			if diff := cmp.Diff(tc.want, se, cmpopts.IgnoreFields(SourceError{}, "Err")); diff != "" {
				t.Errorf("SourceError (-want +got):\n%s", diff)
			}
			if n := l.lists.Load(); n != tc.lists {
				t.Errorf("%d tag lists, want %d", n, tc.lists)
			}
		})
	}
}

// A source whose manifest is there but whose config is not is a failure of
// the source, not a missing source: no tag list.
func TestDamagedSourceNotMissing(t *testing.T) {
	t.Parallel()
	f := newFake()
	d := f.image("reg.test/src", "a", ocispec.Platform{OS: "linux", Architecture: "amd64"})
	for k := range f.blobs {
		delete(f.blobs, k)
	}
	l := &listingRegistry{fakeRegistry: f}
	_, err := Push(context.Background(), l, testSpec(t, "reg.test/app:1", nil, "reg.test/src:a"), Options{})
	se, ok := errors.AsType[*SourceError](err)
	if !ok || !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("err = %v, want a *SourceError wrapping ErrNotFound (manifest %s)", err, d)
	}
	if se.Missing || se.Near != nil || l.lists.Load() != 0 {
		t.Errorf("Missing %v, Near %+v, %d lists; want a source that is there, no list", se.Missing, se.Near, l.lists.Load())
	}
}

func TestNearTags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tag  string
		tags []string
		want []string
	}{
		{"linux-armv7", []string{"linux-arm64", "linux-arm-v7", "windows"}, []string{"linux-arm-v7", "linux-arm64"}},
		{"LINUX_AMD64", []string{"linux-amd64"}, []string{"linux-amd64"}},
		{"v1", []string{"v1", "v2", "v3", "v4", "v5"}, []string{"v2", "v3", "v4"}},
		{"1.0-amd64", []string{"linux-amd64", "windows"}, nil},
		{"x", nil, nil},
	} {
		if diff := cmp.Diff(tc.want, nearTags(tc.tag, tc.tags)); diff != "" {
			t.Errorf("nearTags(%q, %q) (-want +got):\n%s", tc.tag, tc.tags, diff)
		}
	}
}
