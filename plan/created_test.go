package plan

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestBuildCreated: Input.Created gives an OCI index the annotation
// org.opencontainers.image.created (RFC 3339, UTC) unless the spec's
// annotations give it; nil changes nothing; it never turns an automatic
// type into an OCI index, and a Docker manifest list is left as it is
// with one warning naming the option as the caller calls it.
func TestBuildCreated(t *testing.T) {
	t.Parallel()
	at := time.Unix(1700000000, 0).In(time.FixedZone("elsewhere", 5*3600))
	oci := func(t *testing.T) []Source {
		return []Source{
			image(t, "reg.test/a:amd64", ocispec.MediaTypeImageManifest, pf("linux", "amd64", ""), pf("linux", "amd64", ""), 3),
			image(t, "reg.test/a:arm64", ocispec.MediaTypeImageManifest, pf("linux", "arm64", ""), pf("linux", "arm64", ""), 5),
		}
	}
	docker := func(t *testing.T) []Source {
		return []Source{
			image(t, "reg.test/a:amd64", content.MediaTypeDockerManifest, pf("linux", "amd64", ""), pf("linux", "amd64", ""), 3),
			image(t, "reg.test/a:arm64", content.MediaTypeDockerManifest, pf("linux", "arm64", ""), pf("linux", "arm64", ""), 5),
		}
	}
	names := spec.Names{spec.OptionCreated: "SOURCE_DATE_EPOCH", spec.OptionType: "--type"}
	for _, tc := range []struct {
		name        string
		sources     func(t *testing.T) []Source
		typ         spec.IndexType
		annotations map[string]string
		current     map[string]string // annotations of the index updated
		created     *time.Time
		want        map[string]string
		mediaType   string
		warning     string
	}{
		{name: "OCI sources", sources: oci, created: &at, mediaType: ocispec.MediaTypeImageIndex,
			want: map[string]string{ocispec.AnnotationCreated: "2023-11-14T22:13:20Z"}},
		{name: "with other annotations", sources: oci, created: &at, annotations: map[string]string{"a": "b"}, mediaType: ocispec.MediaTypeImageIndex,
			want: map[string]string{"a": "b", ocispec.AnnotationCreated: "2023-11-14T22:13:20Z"}},
		{name: "the spec's created wins", sources: oci, created: &at, annotations: map[string]string{ocispec.AnnotationCreated: "2020-01-01T00:00:00Z"},
			mediaType: ocispec.MediaTypeImageIndex, want: map[string]string{ocispec.AnnotationCreated: "2020-01-01T00:00:00Z"}},
		{name: "over the created of the index updated", sources: oci, created: &at, current: map[string]string{ocispec.AnnotationCreated: "2020-01-01T00:00:00Z", "k": "v"},
			mediaType: ocispec.MediaTypeImageIndex, want: map[string]string{ocispec.AnnotationCreated: "2023-11-14T22:13:20Z", "k": "v"}},
		{name: "Docker sources, type oci", sources: docker, typ: spec.TypeOCI, created: &at, mediaType: ocispec.MediaTypeImageIndex,
			want: map[string]string{ocispec.AnnotationCreated: "2023-11-14T22:13:20Z"}},
		{name: "Docker sources, type auto: a Docker list, warned", sources: docker, created: &at, mediaType: content.MediaTypeDockerManifestList,
			warning: "SOURCE_DATE_EPOCH is not recorded: a Docker manifest list carries no annotations, so it has no org.opencontainers.image.created (use --type oci to record it)"},
		{name: "Docker sources, type docker: warned", sources: docker, typ: spec.TypeDocker, created: &at, mediaType: content.MediaTypeDockerManifestList,
			warning: "SOURCE_DATE_EPOCH is not recorded"},
		{name: "nil: nothing", sources: oci, mediaType: ocispec.MediaTypeImageIndex},
		{name: "nil, Docker: no warning", sources: docker, mediaType: content.MediaTypeDockerManifestList},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := input(tc.sources(t), tc.typ)
			in.Annotations = maps.Clone(tc.annotations)
			in.Created = tc.created
			if tc.current != nil {
				in.Current = &Source{Ref: named(t, "reg.test/a:1"), Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: dgst("current"), Size: 10},
					IndexAnnotations: tc.current}
			}
			p, err := Build(in, Options{Names: names})
			if err != nil {
				t.Fatal(err)
			}
			if p.Descriptor.MediaType != tc.mediaType {
				t.Errorf("media type %s, want %s", p.Descriptor.MediaType, tc.mediaType)
			}
			var idx ocispec.Index
			if err := json.Unmarshal(p.Bytes, &idx); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, idx.Annotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			n := 0
			for _, w := range p.Warnings {
				if strings.Contains(w, "is not recorded") {
					n++
					if !strings.Contains(w, tc.warning) || tc.warning == "" {
						t.Errorf("warning %q, want %q", w, tc.warning)
					}
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.warning != ""]; n != want {
				t.Errorf("%d warnings about the created time, want %d: %q", n, want, p.Warnings)
			}
			if !maps.Equal(in.Annotations, tc.annotations) {
				t.Errorf("the input's annotations changed: %v", in.Annotations)
			}
			if tc.created == nil {
				// Nil: the very bytes of a build without the field.
				in.Created = nil
				again, err := Build(Input{Type: tc.typ, Sources: tc.sources(t), Annotations: maps.Clone(tc.annotations)}, Options{Names: names})
				if err != nil || again.Descriptor.Digest != p.Descriptor.Digest {
					t.Errorf("without the field: %v, %v; want %s", again, err, p.Descriptor.Digest)
				}
			}
		})
	}
}
