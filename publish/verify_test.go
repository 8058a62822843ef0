package publish

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestVerifyEveryDescriptor: Verify checks every descriptor that lists a
// manifest, not every distinct digest: a manifest listed twice, the second
// time with a false size, media type or platform, is damage (or, for the
// platform, a note) naming the second entry; a missing manifest listed
// twice is two problems; the walk still reads each manifest once.
func TestVerifyEveryDescriptor(t *testing.T) {
	ctx := context.Background()
	amd := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	i386 := ocispec.Platform{OS: "linux", Architecture: "386"}
	for _, tc := range []struct {
		name string
		// second changes the second descriptor of the amd64 manifest.
		second func(d *ocispec.Descriptor)
		// first: second changes the first descriptor instead.
		first   bool
		missing bool
		// problems: what each problem says, one per problem, in order.
		problems []string
		notes    []string
	}{
		{name: "a true copy", second: func(*ocispec.Descriptor) {}},
		{name: "a false size as linux/386", second: func(d *ocispec.Descriptor) {
			d.Size += 100
			d.Platform = &i386
		}, problems: []string{"(linux/386), #2 in index "}, notes: []string{", #2 in index ", "is linux/386 in the index, linux/amd64 in its config"}},
		{name: "a false media type", second: func(d *ocispec.Descriptor) {
			d.MediaType = ocispec.MediaTypeImageIndex
		}, problems: []string{"bytes of " + ocispec.MediaTypeImageIndex + ", the registry holds"}},
		{name: "missing, listed twice", second: func(d *ocispec.Descriptor) {
			d.Platform = &i386
		}, missing: true, problems: []string{"(linux/amd64), #1 in index ", "(linux/386), #2 in index "}},
		{name: "a false size, the first descriptor", first: true, second: func(d *ocispec.Descriptor) {
			d.Size--
		}, problems: []string{"(linux/amd64), #1 in index "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			d := f.image("reg.test/app", "amd64", amd)
			doc := f.manifests["reg.test/app@"+d.String()]
			first := ocispec.Descriptor{MediaType: doc.Desc.MediaType, Digest: d, Size: doc.Desc.Size, Platform: &amd}
			second := first
			if tc.first {
				tc.second(&first)
			} else {
				tc.second(&second)
			}
			idx, err := content.EncodeIndex(ocispec.MediaTypeImageIndex, nil, []ocispec.Descriptor{first, second})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.put(repoOf("reg.test/app"), "1", registry.Document{Desc: idx.Descriptor, Data: idx.Bytes}); err != nil {
				t.Fatal(err)
			}
			if tc.missing {
				delete(f.manifests, "reg.test/app@"+d.String())
			}
			v, err := Verify(ctx, f, "reg.test/app:1", VerifyOptions{})
			if len(tc.problems) == 0 && err != nil {
				t.Fatalf("error %v, problems %q", err, v.Problems)
			}
			if len(tc.problems) > 0 && !errors.Is(err, ErrDamaged) {
				t.Fatalf("error %v, want ErrDamaged", err)
			}
			if len(v.Problems) != len(tc.problems) {
				t.Errorf("problems %q, want %d", v.Problems, len(tc.problems))
			}
			// In the index's order, each naming its entry.
			for i, p := range tc.problems {
				if i < len(v.Problems) && !strings.Contains(v.Problems[i], p) {
					t.Errorf("problem %d of %q does not say %q", i, v.Problems, p)
				}
			}
			if len(tc.notes) > 0 && len(v.Notes) != 1 {
				t.Errorf("notes %q, want one", v.Notes)
			}
			for _, n := range tc.notes {
				if len(v.Notes) == 0 || !strings.Contains(v.Notes[0], n) {
					t.Errorf("notes %q, want one saying %q", v.Notes, n)
				}
			}
			if v.Entries != 2 {
				t.Errorf("%d entries checked, want 2", v.Entries)
			}
			if f.gets != 2 {
				t.Errorf("%d manifest reads, want 2: the tag, and the manifest once", f.gets)
			}
		})
	}
}
