package spec

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/platform"
)

// fuzzEnv is a fixed environment for fuzzing.
func fuzzEnv(name string) (string, bool) {
	switch name {
	case "A":
		return "reg.example", true
	case "EMPTY":
		return "", true
	case "DOLLAR":
		return "${A}", true
	}
	return "", false
}

// addFixtures seeds f with every spec fixture.
func addFixtures(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzLoad checks that Load never panics, that it either returns a
// consistent spec or joined *Error values that wrap ErrInvalidSpec and name
// the file. (The fuzzer's own hang detection catches a load that never ends.)
func FuzzLoad(f *testing.F) {
	addFixtures(f)
	f.Add([]byte("image: ${A}/x:${EMPTY:-1}\nmanifests: [{image: \"$$${DOLLAR}\"}]\n"))
	f.Add([]byte("a: &a [x]\nb: &b [*a,*a]\nc: [*b,*b]\n"))
	f.Add([]byte("image: x\nmanifests:\n  - image: y\n    platform: {os: windows, osversion: 1, os.version: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Load("fuzz.yaml", strings.NewReader(string(data)), LoadOptions{LookupEnv: fuzzEnv})
		if err != nil {
			if s != nil {
				t.Fatalf("Load returned a spec and an error: %v", err)
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("error does not wrap ErrInvalidSpec: %v", err)
			}
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("error %T is not joined", err)
			}
			for _, e := range joined.Unwrap() {
				var se *Error
				if !errors.As(e, &se) || se.Pos.File != "fuzz.yaml" || !strings.HasPrefix(se.Error(), "fuzz.yaml") {
					t.Fatalf("joined error %T %q is not a *spec.Error naming the file", e, e)
				}
			}
			return
		}
		if s == nil || s.Target == nil || len(s.Manifests) == 0 || s.Name != "fuzz.yaml" {
			t.Fatalf("incomplete spec without an error: %+v", s)
		}
		switch s.Type {
		case "", TypeAuto, TypeOCI, TypeDocker:
		default:
			t.Fatalf("type %q", s.Type)
		}
		if s.Type == TypeDocker && s.Annotations != nil {
			t.Fatal("docker spec with annotations")
		}
		seenTags := map[string]bool{s.Target.Tag(): true}
		for _, tag := range s.Tags {
			if seenTags[tag] {
				t.Fatalf("tag %q repeated", tag)
			}
			seenTags[tag] = true
		}
		seen := map[string]bool{}
		for _, e := range s.Manifests {
			if e.Image == nil || e.Pos.Line == 0 {
				t.Fatalf("incomplete entry %+v", e)
			}
			if s.Type == TypeDocker && e.Annotations != nil {
				t.Fatal("docker spec with entry annotations")
			}
			if e.Platform == nil {
				continue
			}
			n, err := platform.Normalize(*e.Platform)
			if err != nil {
				t.Fatalf("entry platform %+v does not normalise: %v", *e.Platform, err)
			}
			if diff := cmp.Diff(*e.Platform, n); diff != "" {
				t.Fatalf("entry platform is not normalised:\n%s", diff)
			}
			if n.OS != "" && n.Architecture != "" {
				k := platform.DuplicateKey(n, e.Features)
				if seen[k] {
					t.Fatalf("duplicate platform %s accepted", platform.Format(n))
				}
				seen[k] = true
			}
		}
	})
}

// FuzzExpand checks Expand against a regular-expression oracle: leftmost
// placeholders, OSVERSION before OS, one pass, and a separator dropped with
// an empty VARIANT or OSVERSION.
func FuzzExpand(f *testing.F) {
	for _, seed := range []struct{ tmpl, os, arch, variant, osVersion string }{
		{"img-OS-ARCH-VARIANT", "linux", "amd64", "", ""},
		{"img-OS-ARCH-VARIANT", "linux", "arm", "v7", ""},
		{"reg.example/img-OS-ARCHVARIANT:1.2", "linux", "arm", "v7", ""},
		{"img:OS-ARCH-OSVERSION", "windows", "amd64", "", "10.0.17763.6189"},
		{"img:OSVERSION.VARIANT_OS", "windows", "amd64", "", ""},
		{"--VARIANTVARIANT-OSVERSIONOSVERSION", "OS", "VARIANT", "", ""},
		{"OSOSVERSIONVERSION", "OSVERSION", "ARCH", "OS", "-"},
	} {
		f.Add(seed.tmpl, seed.os, seed.arch, seed.variant, seed.osVersion)
	}
	f.Fuzz(func(t *testing.T, tmpl, osName, arch, variant, osVersion string) {
		p := ocispec.Platform{OS: osName, Architecture: arch, Variant: variant, OSVersion: osVersion}
		got := Expand(tmpl, p)
		var alts []string
		if variant == "" {
			alts = append(alts, `[-_.]VARIANT`)
		}
		if osVersion == "" {
			alts = append(alts, `[-_.]OSVERSION`)
		}
		re := regexp.MustCompile(strings.Join(append(alts, "OSVERSION", "VARIANT", "ARCH", "OS"), "|"))
		want := re.ReplaceAllStringFunc(tmpl, func(m string) string {
			switch strings.TrimLeft(m, "-_.") {
			case "OSVERSION":
				return osVersion
			case "VARIANT":
				return variant
			case "ARCH":
				return arch
			default:
				return osName
			}
		})
		if got != want {
			t.Fatalf("Expand(%q, %+v) = %q, oracle says %q", tmpl, p, got, want)
		}
		if !hasPlaceholder(tmpl) && got != tmpl {
			t.Fatalf("Expand changed %q without placeholders into %q", tmpl, got)
		}
	})
}

// FuzzFromArgs checks that FromArgs never panics and that its errors wrap
// ErrInvalidSpec, and that a spec it returns has one normalised, distinct
// platform per entry.
func FuzzFromArgs(f *testing.F) {
	f.Add("linux/amd64,linux/arm/v7", "reg.example/img-OS-ARCH-VARIANT:1", "reg.example/img:1", "1,latest", "a=b", "")
	f.Add("linux/amd46", "img:OS", "img", "", "=x", "docker")
	f.Add("windows/amd64:10.0.1,windows/amd64:10.0.2", "img:OS-ARCH", "img@sha256:abc", ",", "k", "oci")
	f.Fuzz(func(t *testing.T, platforms, template, target, tags, annotation, typ string) {
		s, _, err := FromArgs(Args{
			Platforms:   []string{platforms},
			Template:    template,
			Target:      target,
			Tags:        []string{tags},
			Annotations: []string{annotation},
			Type:        IndexType(typ),
		})
		if err != nil {
			if s != nil || !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("FromArgs = %v, %v", s, err)
			}
			return
		}
		if s.Target == nil || len(s.Manifests) == 0 || s.Name != FromArgsName {
			t.Fatalf("incomplete spec %+v", s)
		}
		images := map[string]bool{}
		for i, e := range s.Manifests {
			if images[e.Image.String()] {
				t.Fatalf("source %s repeated", e.Image)
			}
			images[e.Image.String()] = true
			for _, o := range s.Manifests[:i] {
				if platform.Equal(*o.Platform, *e.Platform) {
					t.Fatalf("platform %s repeated", platform.Format(*e.Platform))
				}
			}
		}
	})
}
