package plan

import (
	"encoding/json"
	"errors"
	"github.com/manifest-push/manifest-push/content"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"github.com/google/go-cmp/cmp"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func named(t *testing.T, s string) reference.Named {
	t.Helper()
	n, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		t.Fatal(err)
	}
	return reference.TagNameOnly(n)
}

func dgst(s string) digest.Digest { return digest.FromString(s) }

func pf(os, arch, variant string) *ocispec.Platform {
	return &ocispec.Platform{OS: os, Architecture: arch, Variant: variant}
}

// image returns a resolved image manifest source.
func image(t *testing.T, ref string, mt string, want, config *ocispec.Platform, line int) Source {
	t.Helper()
	return Source{
		Ref:        named(t, ref),
		Platform:   want,
		Pos:        spec.Pos{File: "s.yaml", Line: line, Col: 5},
		Descriptor: ocispec.Descriptor{MediaType: mt, Digest: dgst(ref), Size: 500},
		Config:     config,
	}
}

// input is an Input of srcs and of the index type typ (empty: auto).
func input(srcs []Source, typ spec.IndexType) Input {
	return Input{Type: typ, Sources: srcs}
}

func platformsOf(p *Plan) []string {
	var out []string
	for _, e := range p.Entries {
		pl := e.Descriptor.Platform
		s := pl.OS + "/" + pl.Architecture
		if pl.Variant != "" {
			s += "/" + pl.Variant
		}
		if pl.OSVersion != "" {
			s += ":" + pl.OSVersion
		}
		out = append(out, s)
	}
	return out
}

func TestBuildPlatformRules(t *testing.T) {
	t.Parallel()
	amd := pf("linux", "amd64", "")
	for _, tc := range []struct {
		name      string
		sources   func(t *testing.T) []Source
		opts      Options
		typ       spec.IndexType
		want      []string
		mediaType string
		warnings  int
		err       error
		errText   string
	}{
		{
			name: "spec wins over a wrong config, with a warning (P2)",
			sources: func(t *testing.T) []Source {
				return []Source{
					image(t, "reg.test/hello:amd64", content.MediaTypeDockerManifest, amd, amd, 3),
					image(t, "reg.test/hello:arm", content.MediaTypeDockerManifest, pf("linux", "arm", "v7"), amd, 5),
				}
			},
			want:      []string{"linux/amd64", "linux/arm/v7"},
			mediaType: content.MediaTypeDockerManifestList,
			warnings:  1,
		},
		{
			name: "strict platform turns the mismatch into an error",
			sources: func(t *testing.T) []Source {
				return []Source{image(t, "reg.test/hello:arm", content.MediaTypeDockerManifest, pf("linux", "arm", "v7"), amd, 5)}
			},
			opts:    Options{StrictPlatform: true},
			err:     ErrPlatformMismatch,
			errText: "s.yaml:5:5: reg.test/hello:arm: image config says linux/amd64, spec says linux/arm/v7",
		},
		{
			name: "os and architecture come from the config when the spec has none (P1)",
			sources: func(t *testing.T) []Source {
				return []Source{image(t, "reg.test/hello:s390x", content.MediaTypeDockerManifest, nil, pf("linux", "s390x", ""), 3)}
			},
			want:      []string{"linux/s390x"},
			mediaType: content.MediaTypeDockerManifestList,
		},
		{
			name: "os.version and variant filled from the config (P3)",
			sources: func(t *testing.T) []Source {
				win := &ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}
				return []Source{
					image(t, "reg.test/hello:win", content.MediaTypeDockerManifest, pf("windows", "amd64", ""), win, 3),
					image(t, "reg.test/hello:arm", content.MediaTypeDockerManifest, pf("linux", "arm", ""), pf("linux", "arm", "v6"), 5),
				}
			},
			want:      []string{"windows/amd64:10.0.17763.6189", "linux/arm/v6"},
			mediaType: content.MediaTypeDockerManifestList,
		},
		{
			name: "two windows versions told apart by their configs (P3 before P5)",
			sources: func(t *testing.T) []Source {
				win := func(v string) *ocispec.Platform {
					return &ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: v}
				}
				return []Source{
					image(t, "reg.test/hello:ltsc2019", content.MediaTypeDockerManifest, pf("windows", "amd64", ""), win("10.0.17763.6189"), 3),
					image(t, "reg.test/hello:ltsc2022", content.MediaTypeDockerManifest, pf("windows", "amd64", ""), win("10.0.20348.2700"), 5),
				}
			},
			want:      []string{"windows/amd64:10.0.17763.6189", "windows/amd64:10.0.20348.2700"},
			mediaType: content.MediaTypeDockerManifestList,
		},
		{
			name: "no platform anywhere (P1)",
			sources: func(t *testing.T) []Source {
				return []Source{image(t, "reg.test/hello:x", content.MediaTypeDockerManifest, nil, &ocispec.Platform{}, 3)}
			},
			err: ErrMissingPlatform,
		},
		{
			name: "duplicate platform is an error (P5)",
			sources: func(t *testing.T) []Source {
				return []Source{
					image(t, "reg.test/hello:a", content.MediaTypeDockerManifest, amd, amd, 3),
					image(t, "reg.test/hello:b", content.MediaTypeDockerManifest, nil, amd, 5),
				}
			},
			err:     spec.ErrDuplicatePlatform,
			errText: "s.yaml:5:5: platform linux/amd64 is given by 2 different manifests: reg.test/hello:a (" + dgst("reg.test/hello:a").String() + ", s.yaml:3:5), reg.test/hello:b (",
		},
		{
			name: "same platform and same digest is one entry, silently (P5)",
			sources: func(t *testing.T) []Source {
				a := image(t, "reg.test/hello:a", content.MediaTypeDockerManifest, nil, amd, 3)
				b := image(t, "reg.test/hello:a", content.MediaTypeDockerManifest, amd, amd, 5)
				c := image(t, "reg.test/hello:c", content.MediaTypeDockerManifest, nil, pf("linux", "arm64", ""), 7)
				return []Source{a, b, c}
			},
			want:      []string{"linux/amd64", "linux/arm64"},
			mediaType: content.MediaTypeDockerManifestList,
		},
		{
			name: "same digest for two platforms is a warning (P5)",
			sources: func(t *testing.T) []Source {
				a := image(t, "reg.test/hello:a", content.MediaTypeDockerManifest, amd, amd, 3)
				b := image(t, "reg.test/hello:a", content.MediaTypeDockerManifest, pf("linux", "arm64", ""), amd, 5)
				return []Source{a, b}
			},
			want:      []string{"linux/amd64", "linux/arm64"},
			mediaType: content.MediaTypeDockerManifestList,
			warnings:  2,
		},
		{
			name: "an OCI child makes an OCI index",
			sources: func(t *testing.T) []Source {
				return []Source{image(t, "reg.test/hello:a", ocispec.MediaTypeImageManifest, amd, amd, 3)}
			},
			want:      []string{"linux/amd64"},
			mediaType: ocispec.MediaTypeImageIndex,
		},
		{
			name: "docker type cannot hold an OCI child",
			sources: func(t *testing.T) []Source {
				return []Source{image(t, "reg.test/hello:a", ocispec.MediaTypeImageManifest, amd, amd, 3)}
			},
			typ:     spec.TypeDocker,
			err:     ErrMediaType,
			errText: "cannot hold: use Type oci",
		},
		{
			name: "the fix names the type as the caller calls it",
			sources: func(t *testing.T) []Source {
				return []Source{image(t, "reg.test/hello:a", ocispec.MediaTypeImageManifest, amd, amd, 3)}
			},
			opts:    Options{Names: spec.Names{spec.OptionType: "--type"}},
			typ:     spec.TypeDocker,
			err:     ErrMediaType,
			errText: "cannot hold: use --type oci",
		},
		{
			name: "missing sources are left out",
			sources: func(t *testing.T) []Source {
				a := image(t, "reg.test/hello:a", content.MediaTypeDockerManifest, amd, amd, 3)
				b := image(t, "reg.test/hello:b", content.MediaTypeDockerManifest, pf("linux", "arm64", ""), nil, 5)
				b.Missing = true
				return []Source{a, b}
			},
			want:      []string{"linux/amd64"},
			mediaType: content.MediaTypeDockerManifestList,
			warnings:  1,
		},
		{
			name: "every source missing",
			sources: func(t *testing.T) []Source {
				a := image(t, "reg.test/hello:a", content.MediaTypeDockerManifest, amd, amd, 3)
				a.Missing = true
				return []Source{a}
			},
			err: ErrEmpty,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srcs := tc.sources(t)
			p, err := Build(input(srcs, tc.typ), tc.opts)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !errors.Is(err, spec.ErrInvalidSpec) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %q, want it to contain %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, platformsOf(p)); diff != "" {
				t.Errorf("platforms (-want +got):\n%s", diff)
			}
			if p.Descriptor.MediaType != tc.mediaType {
				t.Errorf("media type = %s, want %s", p.Descriptor.MediaType, tc.mediaType)
			}
			if len(p.Warnings) != tc.warnings {
				t.Errorf("warnings = %q, want %d", p.Warnings, tc.warnings)
			}
		})
	}
}

// Many entries of one platform, or of one digest, are one message each, not
// one per pair.
func TestBuildDuplicatesOneLinePerPlatform(t *testing.T) {
	t.Parallel()
	var children []ocispec.Descriptor
	for i := range 5000 {
		children = append(children, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: dgst(strings.Repeat("x", i)), Size: 10, Platform: pf("linux", "amd64", "")})
	}
	src := Source{
		Ref: named(t, "reg.test/many:1"), Pos: spec.Pos{File: "s.yaml", Line: 3},
		Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: dgst("many"), Size: 1 << 20},
		Children:   children,
	}
	_, err := Build(input([]Source{src}, ""), Options{})
	if !errors.Is(err, spec.ErrDuplicatePlatform) {
		t.Fatalf("err = %v", err)
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != 1 || !strings.Contains(err.Error(), "given by 5000 different manifests") || !strings.Contains(err.Error(), "and 4996 more") {
		t.Errorf("%d lines: %.300s", lines, err)
	}

	for i := range children {
		children[i].Digest = dgst("same")
		children[i].Platform = pf("linux", []string{"amd64", "arm64", "s390x"}[i%3], "")
	}
	_, err = Build(input([]Source{src}, ""), Options{StrictPlatform: true})
	if !errors.Is(err, ErrDuplicateDigest) || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), "(linux/s390x) are the same manifest") {
		t.Fatalf("err = %v", err)
	}
}

func TestBuildIndexSource(t *testing.T) {
	t.Parallel()
	amdImg := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: dgst("amd"), Size: 10, Platform: pf("linux", "amd64", "")}
	armImg := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: dgst("arm"), Size: 11, Platform: pf("linux", "arm", "v7")}
	att := func(of digest.Digest) ocispec.Descriptor {
		return ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageManifest, Digest: dgst("att" + of.String()), Size: 12,
			Platform:    pf("unknown", "unknown", ""),
			Annotations: map[string]string{content.AnnotationReferenceType: "attestation-manifest", content.AnnotationReferenceDigest: of.String()},
		}
	}
	indexSource := func(t *testing.T, want *ocispec.Platform) Source {
		return Source{
			Ref:        named(t, "reg.test/buildx:out"),
			Platform:   want,
			Pos:        spec.Pos{File: "s.yaml", Line: 7},
			Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: dgst("idx"), Size: 900},
			Children:   []ocispec.Descriptor{amdImg, armImg, att(amdImg.Digest), att(armImg.Digest)},
		}
	}

	t.Run("without a platform every image entry comes, attestations last", func(t *testing.T) {
		srcs := []Source{indexSource(t, nil)}
		p, err := Build(input(srcs, ""), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []digest.Digest
		for _, e := range p.Entries {
			got = append(got, e.Descriptor.Digest)
		}
		want := []digest.Digest{amdImg.Digest, armImg.Digest, att(amdImg.Digest).Digest, att(armImg.Digest).Digest}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
		if !p.Entries[2].Attestation || p.Entries[0].Attestation {
			t.Errorf("attestation flags wrong: %+v", p.Entries)
		}
	})
	t.Run("the index again with an image it holds is the same index (P5)", func(t *testing.T) {
		amdSrc := Source{
			Ref: named(t, "reg.test/buildx@"+amdImg.Digest.String()), Pos: spec.Pos{File: "s.yaml", Line: 9},
			Descriptor: ocispec.Descriptor{MediaType: amdImg.MediaType, Digest: amdImg.Digest, Size: amdImg.Size},
			Config:     pf("linux", "amd64", ""),
		}
		once, err := Build(input([]Source{indexSource(t, nil)}, ""), Options{})
		if err != nil {
			t.Fatal(err)
		}
		twice, err := Build(input([]Source{indexSource(t, nil), indexSource(t, nil), amdSrc}, ""), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if once.Descriptor.Digest != twice.Descriptor.Digest || len(twice.Warnings) != 0 {
			t.Errorf("digest %s, want %s; warnings %q", twice.Descriptor.Digest, once.Descriptor.Digest, twice.Warnings)
		}
	})
	t.Run("select keeps the platforms asked for, with their attestations", func(t *testing.T) {
		in := input([]Source{indexSource(t, nil)}, "")
		in.Select = []ocispec.Platform{*pf("linux", "arm", "")}
		p, err := Build(in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []digest.Digest
		for _, e := range p.Entries {
			got = append(got, e.Descriptor.Digest)
		}
		if diff := cmp.Diff([]digest.Digest{armImg.Digest, att(armImg.Digest).Digest}, got); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
	})
	t.Run("select of a platform no source gives", func(t *testing.T) {
		in := input([]Source{indexSource(t, nil)}, "")
		in.Select = []ocispec.Platform{*pf("linux", "s390x", "")}
		_, err := Build(in, Options{})
		if !errors.Is(err, ErrNoPlatformMatch) || !strings.Contains(err.Error(), "no source gives linux/s390x; they give: linux/amd64, linux/arm/v7") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("with a platform one entry and its attestation", func(t *testing.T) {
		srcs := []Source{indexSource(t, pf("linux", "arm", ""))}
		p, err := Build(input(srcs, ""), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) != 2 || p.Entries[0].Descriptor.Digest != armImg.Digest || p.Entries[1].Descriptor.Digest != att(armImg.Digest).Digest {
			t.Fatalf("entries = %+v", p.Entries)
		}
		if got := platformsOf(p)[0]; got != "linux/arm/v7" {
			t.Errorf("platform = %s, want linux/arm/v7", got)
		}
	})
	t.Run("docker type drops attestations with a warning", func(t *testing.T) {
		srcs := []Source{indexSource(t, nil)}
		srcs[0].Children[0].MediaType = content.MediaTypeDockerManifest
		srcs[0].Children[1].MediaType = content.MediaTypeDockerManifest
		p, err := Build(input(srcs, spec.TypeDocker), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) != 2 || len(p.Warnings) != 1 {
			t.Fatalf("entries = %d, warnings = %q", len(p.Entries), p.Warnings)
		}
	})
	t.Run("no matching platform lists what the index has", func(t *testing.T) {
		srcs := []Source{indexSource(t, pf("linux", "s390x", ""))}
		_, err := Build(input(srcs, ""), Options{})
		if !errors.Is(err, ErrNoPlatformMatch) {
			t.Fatalf("err = %v", err)
		}
		if want := "s.yaml:7: reg.test/buildx:out is an index with no entry for linux/s390x; it has: linux/amd64, linux/arm/v7"; err.Error() != want {
			t.Errorf("err = %q\nwant  %q", err, want)
		}
	})
}

func TestBuildBytesAreDeterministic(t *testing.T) {
	t.Parallel()
	mk := func() *Plan {
		srcs := []Source{
			image(t, "reg.test/hello:amd64", ocispec.MediaTypeImageManifest, pf("linux", "amd64", ""), pf("linux", "amd64", ""), 3),
			image(t, "reg.test/hello:arm", ocispec.MediaTypeImageManifest, pf("linux", "arm", "v7"), pf("linux", "arm", "v7"), 5),
		}
		srcs[1].Annotations = map[string]string{"b": "<2>", "a": "&1"}
		in := input(srcs, "")
		in.Annotations = map[string]string{"z": "1", "org.opencontainers.image.source": "https://example.com/x?a=1&b=2"}
		p, err := Build(in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := mk(), mk()
	if a.Descriptor.Digest != b.Descriptor.Digest || string(a.Bytes) != string(b.Bytes) {
		t.Fatal("two builds of the same inputs differ")
	}
	if a.Descriptor.Digest != digest.FromBytes(a.Bytes) || a.Descriptor.Size != int64(len(a.Bytes)) {
		t.Fatal("descriptor does not describe the bytes")
	}
	if strings.Contains(string(a.Bytes), `\u0026`) || !strings.Contains(string(a.Bytes), "a=1&b=2") {
		t.Errorf("index is HTML-escaped:\n%s", a.Bytes)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(a.Bytes, &idx); err != nil {
		t.Fatal(err)
	}
	if idx.MediaType != ocispec.MediaTypeImageIndex || len(idx.Manifests) != 2 || idx.Manifests[1].Annotations["a"] != "&1" {
		t.Errorf("index = %+v", idx)
	}
	if !strings.HasPrefix(string(a.Bytes), "{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n   \"manifests\": [") {
		t.Errorf("unexpected layout:\n%s", a.Bytes)
	}
}

// TestBuildNormalisesConfigValues: values read from an image config or an
// index entry go through the same normaliser as spec values (P3), and one
// a spec would be refused for is left out with a warning naming the source.
func TestBuildNormalisesConfigValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		want     *ocispec.Platform
		config   ocispec.Platform
		platform string
		warning  string
	}{
		{"config variant 7 is v7", pf("linux", "arm", ""), ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "7"}, "linux/arm/v7", ""},
		{"config aarch64/8 is arm64/v8", nil, ocispec.Platform{OS: "linux", Architecture: "aarch64", Variant: "8"}, "linux/arm64/v8", ""},
		{"bad config os.version left out", pf("windows", "amd64", ""), ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "bad version"},
			"windows/amd64", `reg.test/hello:img: the image config's os.version "bad version": invalid platform: it may not contain spaces`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.config
			srcs := []Source{image(t, "reg.test/hello:img", content.MediaTypeDockerManifest, tc.want, &cfg, 3)}
			p, err := Build(input(srcs, ""), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := platformsOf(p); len(got) != 1 || got[0] != tc.platform {
				t.Errorf("platforms %v, want %s", got, tc.platform)
			}
			if tc.warning == "" && len(p.Warnings) != 0 {
				t.Errorf("warnings %q, want none", p.Warnings)
			}
			if tc.warning != "" && (len(p.Warnings) != 1 || !strings.HasPrefix(p.Warnings[0], tc.warning)) {
				t.Errorf("warnings %q, want one starting %q", p.Warnings, tc.warning)
			}
			if strings.Contains(string(p.Bytes), `"7"`) || strings.Contains(string(p.Bytes), "bad version") {
				t.Errorf("index carries a raw config value:\n%s", p.Bytes)
			}
		})
	}
	t.Run("index entry variant 7 is v7", func(t *testing.T) {
		srcs := []Source{{
			Ref:        named(t, "reg.test/buildx:out"),
			Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: dgst("idx"), Size: 300},
			Children: []ocispec.Descriptor{
				{MediaType: ocispec.MediaTypeImageManifest, Digest: dgst("arm"), Size: 400, Platform: &ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "7"}},
			},
		}}
		p, err := Build(input(srcs, ""), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := platformsOf(p); len(got) != 1 || got[0] != "linux/arm/v7" {
			t.Errorf("platforms %v", got)
		}
	})
}

// TestBuildOSVersionMismatch: P2 covers os.version too: the spec's wins,
// with a warning naming both; --strict-platform makes it an error.
func TestBuildOSVersionMismatch(t *testing.T) {
	t.Parallel()
	want := &ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.2227"}
	cfg := &ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}
	srcs := []Source{image(t, "reg.test/hello:win", content.MediaTypeDockerManifest, want, cfg, 4)}
	p, err := Build(input(srcs, ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := platformsOf(p); got[0] != "windows/amd64:10.0.20348.2227" {
		t.Errorf("platforms %v", got)
	}
	wantWarn := "reg.test/hello:win: image config says os.version 10.0.17763.6189, spec says 10.0.20348.2227; the index uses the spec's"
	if len(p.Warnings) != 1 || p.Warnings[0] != wantWarn {
		t.Errorf("warnings %q\nwant %q", p.Warnings, wantWarn)
	}
	if _, err := Build(input(srcs, ""), Options{StrictPlatform: true}); !errors.Is(err, ErrPlatformMismatch) {
		t.Errorf("strict: err = %v, want ErrPlatformMismatch", err)
	}
}

func TestBuildUpdate(t *testing.T) {
	t.Parallel()
	img := func(name string, p *ocispec.Platform) ocispec.Descriptor {
		return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: dgst(name), Size: 10, Platform: p}
	}
	amd, arm, s390 := img("amd", pf("linux", "amd64", "")), img("arm", pf("linux", "arm64", "")), img("s390", pf("linux", "s390x", ""))
	att := ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest, Digest: dgst("att-arm"), Size: 12, Platform: pf("unknown", "unknown", ""),
		Annotations: map[string]string{content.AnnotationReferenceType: "attestation-manifest", content.AnnotationReferenceDigest: arm.Digest.String()},
	}
	current := &Source{
		Ref:              named(t, "reg.test/app:1"),
		Descriptor:       ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: dgst("cur"), Size: 700},
		Children:         []ocispec.Descriptor{amd, arm, s390, att},
		IndexAnnotations: map[string]string{"org.opencontainers.image.source": "https://example.com"},
	}
	digests := func(p *Plan) []string {
		var out []string
		for _, e := range p.Entries {
			out = append(out, string(e.Descriptor.Digest))
		}
		return out
	}
	armV2 := image(t, "reg.test/build:arm64", ocispec.MediaTypeImageManifest, nil, pf("linux", "arm64", ""), 3)
	win := image(t, "reg.test/build:win", ocispec.MediaTypeImageManifest, nil, &ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.1"}, 5)

	t.Run("replace in place, new platforms after, attestations of kept entries", func(t *testing.T) {
		p, err := Build(Input{Sources: []Source{win, armV2}, Current: current}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{string(amd.Digest), string(armV2.Descriptor.Digest), string(s390.Digest), string(win.Descriptor.Digest)}
		if diff := cmp.Diff(want, digests(p)); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
		if p.Descriptor.MediaType != ocispec.MediaTypeImageIndex || !strings.Contains(string(p.Bytes), "org.opencontainers.image.source") {
			t.Errorf("the update lost the index's media type or annotations:\n%s", p.Bytes)
		}
		if !p.Entries[0].Kept || p.Entries[1].Kept {
			t.Errorf("kept flags wrong")
		}
	})
	t.Run("remove takes the attestation with it", func(t *testing.T) {
		p, err := Build(Input{Current: current, Remove: []ocispec.Platform{*pf("linux", "arm64", ""), *pf("linux", "mips64le", "")}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{string(amd.Digest), string(s390.Digest)}, digests(p)); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
		if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "linux/mips64le") {
			t.Errorf("warnings %q", p.Warnings)
		}
	})
	t.Run("an attestation stays with its kept image", func(t *testing.T) {
		p, err := Build(Input{Current: current, Sources: []Source{win}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := digests(p); got[len(got)-1] != string(att.Digest) {
			t.Errorf("entries %v, want the attestation last", got)
		}
	})
	t.Run("the same update again is the same index", func(t *testing.T) {
		a, err := Build(Input{Sources: []Source{win}, Current: current}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		again := &Source{Ref: current.Ref, IndexAnnotations: current.IndexAnnotations,
			Descriptor: a.Descriptor}
		for _, e := range a.Entries {
			again.Children = append(again.Children, e.Descriptor)
		}
		b, err := Build(Input{Sources: []Source{win}, Current: again}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if a.Descriptor.Digest != b.Descriptor.Digest {
			t.Errorf("merging into its own result changed the index:\n%s\n%s", a.Bytes, b.Bytes)
		}
	})
	t.Run("removing every entry", func(t *testing.T) {
		_, err := Build(Input{Current: current, Remove: []ocispec.Platform{{OS: "linux"}}}, Options{})
		if !errors.Is(err, ErrEmpty) {
			t.Errorf("err = %v", err)
		}
	})
}

// An index of indexes whose inner indexes give the same platforms is
// refused once, naming the nesting, the inner indexes, every platform they
// share and the way out (one inner index as the source); with a spec
// platform, the same. Inner indexes of distinct platforms flatten.
func TestNestedIndexesOfOnePlatform(t *testing.T) {
	entry := func(name, arch string) ocispec.Descriptor {
		return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: dgst(name), Size: 100, Platform: pf("linux", arch, "")}
	}
	in1, in2 := dgst("inner 1"), dgst("inner 2")
	a1, b1, a2, b2 := entry("a1", "amd64"), entry("b1", "arm64"), entry("a2", "amd64"), entry("b2", "arm64")
	src := func(want *ocispec.Platform, inner map[digest.Digest]digest.Digest, children ...ocispec.Descriptor) Source {
		return Source{
			Ref: named(t, "reg.test/nested:1"), Platform: want, Pos: spec.Pos{File: "s.yaml", Line: 3, Col: 5},
			Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: dgst("outer"), Size: 300},
			Children:   children, Inner: inner,
		}
	}
	inner := map[digest.Digest]digest.Digest{a1.Digest: in1, b1.Digest: in1, a2.Digest: in2, b2.Digest: in2}
	way := "name one of its inner indexes as the source (reg.test/nested@" + in1.String() + ")"

	_, err := Build(input([]Source{src(nil, inner, a1, b1, a2, b2)}, ""), Options{})
	if !errors.Is(err, spec.ErrDuplicatePlatform) {
		t.Fatalf("error %v, want ErrDuplicatePlatform", err)
	}
	want := "s.yaml:3:5: source reg.test/nested:1 is an index of indexes: its inner indexes " + in1.String() + " and " + in2.String() +
		" both give linux/amd64 and linux/arm64, and an index gives each platform once (nested indexes are flattened): " + way
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}

	_, err = Build(input([]Source{src(pf("linux", "amd64", ""), inner, a1, b1, a2, b2)}, ""), Options{})
	if err == nil || !strings.Contains(err.Error(), "both give linux/amd64, and") || !strings.Contains(err.Error(), way) {
		t.Errorf("with a spec platform: %v", err)
	}

	// Two inner indexes of one platform each flatten into one index.
	p, err := Build(input([]Source{src(nil, map[digest.Digest]digest.Digest{a1.Digest: in1, b2.Digest: in2}, a1, b2)}, ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := platformsOf(p); !cmp.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v", got)
	}
}
