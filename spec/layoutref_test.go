package spec

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
)

func TestParseLayoutRef(t *testing.T) {
	t.Parallel()
	d := digest.FromString("x")
	for _, tc := range []struct {
		src, base string
		want      *LayoutRef
		err       string
	}{
		{src: "oci-layout:./build/oci", want: &LayoutRef{Path: "./build/oci"}},
		{src: "oci-layout:/abs/img.tar:1.0", want: &LayoutRef{Path: "/abs/img.tar", Tag: "1.0"}},
		{src: "oci-layout:out@" + d.String(), want: &LayoutRef{Path: "out", Digest: d}},
		{src: "oci-layout:dir@home/x", want: &LayoutRef{Path: "dir@home/x"}},
		{src: "oci-layout:dir@home:v1", want: &LayoutRef{Path: "dir@home", Tag: "v1"}},
		{src: "oci-layout:build/oci:latest", base: "/specs", want: &LayoutRef{Path: "/specs/build/oci", Tag: "latest"}},
		{src: "oci-layout:/abs", base: "/specs", want: &LayoutRef{Path: "/abs"}},
		{src: "oci-layout:", err: "no path"},
		{src: "oci-layout::v1", err: "no path"},
		{src: "oci-layout:a:b:c", err: `a PATH cannot hold ":"`},
		{src: "oci-layout:a:v1@" + d.String(), err: "not both"},
		{src: "oci-layout:a@sha256:123", err: "invalid digest"},
		{src: "docker.io/x", err: "not an OCI layout source"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			got, err := ParseLayoutRef(tc.src, tc.base)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseLayoutRef(%q) = %v, %v; want an error saying %q", tc.src, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tc.base == "" && got.String() != tc.src {
				t.Errorf("String() = %q, want %q", got.String(), tc.src)
			}
		})
	}
}

func TestLoadLayoutSources(t *testing.T) {
	t.Parallel()
	doc := `image: reg.example/hello:1.0
manifests:
  - image: oci-layout:build/amd64
    platform: {os: linux, architecture: amd64}
  - image: oci-layout:/srv/arm64.tar:v1
  - image: reg.example/hello:1.0-s390x
`
	file := filepath.Join("ci", "specs", "hello.yaml")
	s, err := Load(file, strings.NewReader(doc), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Manifests[0].Layout, (&LayoutRef{Path: filepath.Join("ci", "specs", "build", "amd64")}); !cmp.Equal(got, want) || s.Manifests[0].Image != nil {
		t.Errorf("entry 1: layout %v image %v; want the layout %v relative to the spec's directory", got, s.Manifests[0].Image, want)
	}
	if got, want := s.Manifests[1].Layout, (&LayoutRef{Path: "/srv/arm64.tar", Tag: "v1"}); !cmp.Equal(got, want) {
		t.Errorf("entry 2: %v, want %v", got, want)
	}
	if s.Manifests[2].Layout != nil || s.Manifests[2].Image == nil {
		t.Errorf("entry 3: a registry source read as %+v", s.Manifests[2])
	}
	if err := Validate(s); err != nil {
		t.Errorf("Validate: %v", err)
	}

	bad := "image: reg.example/hello:1.0\nmanifests:\n  - image: reg.example/hello:1.0-amd64\n  - image: \"oci-layout:a:b:c\"\n"
	_, err = Load("bad.yaml", strings.NewReader(bad), testOpts)
	if !errors.Is(err, ErrInvalidSpec) || !strings.HasPrefix(err.Error(), "bad.yaml:4:") || !strings.Contains(err.Error(), `cannot hold ":"`) {
		t.Errorf("bad layout source: %v; want bad.yaml:4: naming the problem", err)
	}
}

func TestFromArgsLayoutSources(t *testing.T) {
	t.Parallel()
	s, _, err := FromArgs(Args{Target: "reg.example/hello:1.0", Sources: []string{"oci-layout:out.tar", "reg.example/hello:arm"}})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(s.Manifests[0].Layout, &LayoutRef{Path: "out.tar"}) || s.Manifests[1].Image == nil {
		t.Errorf("sources: %+v", s.Manifests)
	}
	s, _, err = FromArgs(Args{Target: "reg.example/hello:1.0", Platforms: []string{"linux/amd64,linux/arm64"}, Template: "oci-layout:build/OS-ARCH.tar"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"build/linux-amd64.tar", "build/linux-arm64.tar"} {
		if e := s.Manifests[i]; e.Layout == nil || e.Layout.Path != want || e.Platform == nil {
			t.Errorf("template entry %d: %+v, want the layout %s with its platform", i, e, want)
		}
	}
	_, _, err = FromArgs(Args{Target: "reg.example/hello:1.0", Platforms: []string{"linux/amd64,linux/arm64"}, Template: "oci-layout:build.tar:OS"})
	if err == nil || !strings.Contains(err.Error(), "both give oci-layout:build.tar:linux") {
		t.Errorf("two platforms giving the same layout tag: %v", err)
	}
	_, _, err = FromArgs(Args{Target: "reg.example/hello:1.0", Platforms: []string{"linux/amd64,linux/arm64"}, Template: "oci-layout:build.tar"})
	if err == nil || !strings.Contains(err.Error(), "no placeholder") {
		t.Errorf("a layout template with no placeholder: %v", err)
	}
	_, _, err = FromArgs(Args{Target: "reg.example/hello:1.0", Sources: []string{"oci-layout:"}})
	if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), `source "oci-layout:"`) {
		t.Errorf("an empty layout path: %v", err)
	}
}
