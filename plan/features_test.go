package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestBuildFeatures: a spec's features reach a Docker manifest list's
// platform (manifest-tool writes them there), and an OCI index, which has no
// such field, leaves them out with a warning naming the source.
func TestBuildFeatures(t *testing.T) {
	t.Parallel()
	src := func(t *testing.T, mt string) []Source {
		a := image(t, "reg.example/hello:amd64", mt, pf("linux", "amd64", ""), pf("linux", "amd64", ""), 4)
		a.Features = []string{"sse4", "avx2"}
		b := image(t, "reg.example/hello:arm64", mt, pf("linux", "arm64", ""), pf("linux", "arm64", ""), 7)
		return []Source{a, b}
	}
	type wire struct {
		Manifests []struct {
			Platform map[string]any `json:"platform"`
		} `json:"manifests"`
	}
	p, err := Build(input(src(t, content.MediaTypeDockerManifest), spec.TypeAuto), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Descriptor.MediaType != content.MediaTypeDockerManifestList {
		t.Fatalf("media type %s", p.Descriptor.MediaType)
	}
	var w wire
	if err := json.Unmarshal(p.Bytes, &w); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"sse4", "avx2"}, w.Manifests[0].Platform["features"]); diff != "" {
		t.Errorf("Docker list features (-want +got):\n%s\n%s", diff, p.Bytes)
	}
	if _, ok := w.Manifests[1].Platform["features"]; ok {
		t.Errorf("an entry without features got some: %s", p.Bytes)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings: %v", p.Warnings)
	}

	p, err = Build(input(src(t, ocispec.MediaTypeImageManifest), spec.TypeAuto), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Descriptor.MediaType != ocispec.MediaTypeImageIndex || strings.Contains(string(p.Bytes), "features") {
		t.Errorf("OCI index with features: %s", p.Bytes)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "s.yaml:4:5: ") || !strings.Contains(p.Warnings[0], "features sse4,avx2 left out") {
		t.Errorf("warnings: %q, want one naming s.yaml:4:5 and the features", p.Warnings)
	}
}
