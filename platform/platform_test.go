package platform

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want ocispec.Platform
	}{
		{"linux/amd64", ocispec.Platform{OS: "linux", Architecture: "amd64"}},
		{" linux/amd64 ", ocispec.Platform{OS: "linux", Architecture: "amd64"}},
		{"linux/x86_64", ocispec.Platform{OS: "linux", Architecture: "amd64"}},
		{"linux/x86-64", ocispec.Platform{OS: "linux", Architecture: "amd64"}},
		{"Linux/AMD64", ocispec.Platform{OS: "linux", Architecture: "amd64"}},
		{"linux/amd64/v1", ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v1"}},
		{"linux/amd64/v3", ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}},
		{"linux/aarch64", ocispec.Platform{OS: "linux", Architecture: "arm64"}},
		{"linux/arm64/v8", ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
		{"linux/arm64/8", ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
		{"linux/arm64/v8.0", ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
		{"linux/arm64/9.0", ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v9"}},
		{"linux/arm", ocispec.Platform{OS: "linux", Architecture: "arm"}},
		{"linux/arm/v7", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{"linux/arm/7", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{"linux/arm/V6", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}},
		{"linux/arm/v5", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v5"}},
		{"linux/armhf", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{"linux/armhf/v7", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{"linux/armel", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}},
		{"linux/i386", ocispec.Platform{OS: "linux", Architecture: "386"}},
		{"linux/i686", ocispec.Platform{OS: "linux", Architecture: "386"}},
		{"linux/ppc64le", ocispec.Platform{OS: "linux", Architecture: "ppc64le"}},
		{"linux/s390x", ocispec.Platform{OS: "linux", Architecture: "s390x"}},
		{"linux/riscv64", ocispec.Platform{OS: "linux", Architecture: "riscv64"}},
		{"linux/loong64", ocispec.Platform{OS: "linux", Architecture: "loong64"}},
		{"linux/mips64le", ocispec.Platform{OS: "linux", Architecture: "mips64le"}},
		{"macos/arm64", ocispec.Platform{OS: "darwin", Architecture: "arm64"}},
		{"wasip1/wasm", ocispec.Platform{OS: "wasip1", Architecture: "wasm"}},
		{"windows/amd64:10.0.17763.6189", ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}},
		{"windows/arm64/v8:10.0.26100.1", ocispec.Platform{OS: "windows", Architecture: "arm64", Variant: "v8", OSVersion: "10.0.26100.1"}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tc.in, diff)
			}
			again, err := Parse(Format(got))
			if err != nil {
				t.Fatalf("Parse(Format(%q)): %v", tc.in, err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("Parse(Format(%q)) does not round-trip (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	knownArch := strings.Join(KnownArchitectures(), ", ")
	knownOS := strings.Join(KnownOS(), ", ")
	for _, tc := range []struct {
		in      string
		wantErr error
		wantMsg string
	}{
		{"", ErrInvalid, `"": invalid platform: empty (want os/arch[/variant][:os.version], e.g. linux/arm64)`},
		{"linux", ErrInvalid, `"linux": invalid platform: no architecture (want os/arch[/variant][:os.version], e.g. linux/amd64)`},
		{"linux/", ErrInvalid, `"linux/": invalid platform: empty os or architecture (want os/arch[/variant][:os.version], e.g. linux/arm64)`},
		{"/amd64", ErrInvalid, `"/amd64": invalid platform: empty os or architecture (want os/arch[/variant][:os.version], e.g. linux/arm64)`},
		{"linux/arm/", ErrInvalid, `"linux/arm/": invalid platform: empty variant after '/' (want os/arch[/variant][:os.version])`},
		{"linux/arm/v7/x", ErrInvalid, `"linux/arm/v7/x": invalid platform: too many '/' (want os/arch[/variant][:os.version])`},
		{"windows/amd64:", ErrInvalid, `"windows/amd64:": empty os.version after ':': invalid platform (want os/arch[/variant][:os.version])`},
		{"windows/amd64:10.0 1", ErrInvalid, `os.version "10.0 1": invalid platform: it may not contain spaces, control characters, '/', ':' or ','`},
		{"windows/amd64:1:2", ErrInvalid, `os.version "1:2": invalid platform: it may not contain spaces, control characters, '/', ':' or ','`},
		{"linux/arm/v\x007", ErrInvalid, `variant "v\x007": invalid platform: it may not contain spaces, control characters, '/', ':' or ','`},
		{"linux/armhf/v6", ErrInvalid, `architecture "armhf" means arm/v7 but variant "v6" is given: invalid platform; drop the variant or write architecture arm`},
		{"linux/armv7", ErrUnknownArch, `unknown architecture "armv7" (did you mean "linux/arm/v7"? the variant goes after a '/')`},
		{"linux/arm64v8", ErrUnknownArch, `unknown architecture "arm64v8" (did you mean "linux/arm64/v8"? the variant goes after a '/')`},
		{"linux/amd46", ErrUnknownArch, `unknown architecture "amd46" (did you mean "amd64"?); known: ` + knownArch},
		{"linux/arm46", ErrUnknownArch, `unknown architecture "arm46" (did you mean "arm64"?); known: ` + knownArch},
		{"linux/x86_46", ErrUnknownArch, `unknown architecture "x86_46" (did you mean "amd64"?); known: ` + knownArch},
		{"linux/aarch46", ErrUnknownArch, `unknown architecture "aarch46" (did you mean "arm64"?); known: ` + knownArch},
		{"linux/zz", ErrUnknownArch, `unknown architecture "zz"; known: ` + knownArch},
		{"linus/amd64", ErrUnknownOS, `unknown operating system "linus" (did you mean "linux"?); known: ` + knownOS},
		{"Windos/amd64", ErrUnknownOS, `unknown operating system "Windos" (did you mean "windows"?); known: ` + knownOS},
		{"beos/amd64", ErrUnknownOS, `unknown operating system "beos"; known: ` + knownOS},
		{"linux/" + strings.Repeat("x", 100), ErrUnknownArch, `unknown architecture "` + strings.Repeat("x", 64) + `"...; known: ` + knownArch},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tc.in, got)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Parse(%q) error %v does not wrap %v", tc.in, err, tc.wantErr)
			}
			if err.Error() != tc.wantMsg {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tc.in, err, tc.wantMsg)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		in      ocispec.Platform
		want    ocispec.Platform
		wantErr error
	}{
		{name: "empty stays empty", in: ocispec.Platform{}, want: ocispec.Platform{}},
		{name: "os only", in: ocispec.Platform{OS: "Linux"}, want: ocispec.Platform{OS: "linux"}},
		{name: "arch only", in: ocispec.Platform{Architecture: "aarch64"}, want: ocispec.Platform{Architecture: "arm64"}},
		{name: "arm gets no invented variant", in: ocispec.Platform{OS: "linux", Architecture: "arm"}, want: ocispec.Platform{OS: "linux", Architecture: "arm"}},
		{name: "arm64 keeps v8", in: ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, want: ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
		{name: "amd64 keeps v1", in: ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v1"}, want: ocispec.Platform{OS: "linux", Architecture: "amd64", Variant: "v1"}},
		{name: "unknown variant kept", in: ocispec.Platform{OS: "linux", Architecture: "riscv64", Variant: "rva23"}, want: ocispec.Platform{OS: "linux", Architecture: "riscv64", Variant: "rva23"}},
		{name: "armhf", in: ocispec.Platform{OS: "linux", Architecture: "ARMHF"}, want: ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{
			name: "windows fields kept",
			in:   ocispec.Platform{OS: "Windows", Architecture: "x86_64", OSVersion: "10.0.17763.6189", OSFeatures: []string{"win32k"}},
			want: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189", OSFeatures: []string{"win32k"}},
		},
		{name: "variant without arch", in: ocispec.Platform{OS: "linux", Variant: "v7"}, wantErr: ErrInvalid},
		{name: "unknown os", in: ocispec.Platform{OS: "linx"}, wantErr: ErrUnknownOS},
		{name: "unknown arch", in: ocispec.Platform{Architecture: "amd46"}, wantErr: ErrUnknownArch},
		{name: "empty os.features item", in: ocispec.Platform{OS: "windows", OSFeatures: []string{""}}, wantErr: ErrInvalid},
		{name: "os.features with comma", in: ocispec.Platform{OS: "windows", OSFeatures: []string{"a,b"}}, wantErr: ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Normalize(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Normalize(%+v) = %+v, %v; want error %v", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%+v): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Normalize (-want +got):\n%s", diff)
			}
			again, err := Normalize(got)
			if err != nil {
				t.Fatalf("Normalize(Normalize(%+v)): %v", tc.in, err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("Normalize is not idempotent (-once +twice):\n%s", diff)
			}
		})
	}
}

func TestNormalizeCopiesFeatures(t *testing.T) {
	t.Parallel()
	in := ocispec.Platform{OS: "windows", Architecture: "amd64", OSFeatures: []string{"win32k"}}
	got, err := Normalize(in)
	if err != nil {
		t.Fatal(err)
	}
	got.OSFeatures[0] = "changed"
	if in.OSFeatures[0] != "win32k" {
		t.Error("Normalize shares os.features with its input")
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   ocispec.Platform
		want string
	}{
		{ocispec.Platform{OS: "linux", Architecture: "amd64"}, "linux/amd64"},
		{ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "linux/arm/v7"},
		{ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189", OSFeatures: []string{"win32k"}}, "windows/amd64:10.0.17763.6189"},
		{ocispec.Platform{OS: "windows", Architecture: "arm64", Variant: "v8", OSVersion: "10.0.1"}, "windows/arm64/v8:10.0.1"},
		{ocispec.Platform{Architecture: "amd64"}, "/amd64"},
		{ocispec.Platform{}, "/"},
	} {
		if got := Format(tc.in); got != tc.want {
			t.Errorf("Format(%+v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	p := func(s string, features ...string) ocispec.Platform {
		t.Helper()
		// Build without Parse so that aliases reach Equal unnormalised.
		var out ocispec.Platform
		os, rest, _ := strings.Cut(s, "/")
		rest, out.OSVersion, _ = strings.Cut(rest, ":")
		out.Architecture, out.Variant, _ = strings.Cut(rest, "/")
		out.OS = os
		out.OSFeatures = features
		return out
	}
	for _, tc := range []struct {
		a, b ocispec.Platform
		want bool
	}{
		{p("linux/amd64"), p("linux/amd64"), true},
		{p("linux/amd64"), p("linux/x86_64"), true},
		{p("linux/amd64"), p("linux/amd64/v1"), true},
		{p("linux/amd64"), p("linux/amd64/v2"), false},
		{p("linux/arm"), p("linux/arm/v7"), true},
		{p("linux/arm"), p("linux/arm/7"), true},
		{p("linux/arm"), p("linux/armhf"), true},
		{p("linux/arm"), p("linux/arm/v6"), false},
		{p("linux/armel"), p("linux/arm/v6"), true},
		{p("linux/arm64"), p("linux/arm64/v8"), true},
		{p("linux/arm64"), p("linux/aarch64/8"), true},
		{p("linux/arm64"), p("linux/arm64/v9"), false},
		{p("linux/386"), p("linux/i686"), true},
		{p("LINUX/AMD64"), p("linux/amd64"), true},
		{p("linux/amd64"), p("windows/amd64"), false},
		{p("linux/amd64"), p("linux/arm64"), false},
		{p("windows/amd64:10.0.17763.1"), p("windows/amd64:10.0.17763.1"), true},
		{p("windows/amd64:10.0.17763.1"), p("windows/amd64:10.0.20348.1"), false},
		{p("windows/amd64:10.0.17763.1"), p("windows/amd64"), false},
		{p("windows/amd64", "win32k"), p("windows/amd64"), false},
		{p("windows/amd64", "a", "b"), p("windows/amd64", "b", "a"), true},
		{p("windows/amd64", "a", "a"), p("windows/amd64", "a"), true},
		{p("windows/amd64", "a"), p("windows/amd64", "b"), false},
		{p("linux/weird"), p("linux/weird"), true},
		{p("linux/weird"), p("linux/WEIRD"), true},
		{p(""), ocispec.Platform{}, true},
		// Key must not be fooled by separators inside fields.
		{ocispec.Platform{OS: "a b", Architecture: "c"}, ocispec.Platform{OS: "a", Architecture: "b c"}, false},
	} {
		name := Format(tc.a) + " vs " + Format(tc.b)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := Equal(tc.a, tc.b); got != tc.want {
				t.Errorf("Equal(%+v, %+v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := Equal(tc.b, tc.a); got != tc.want {
				t.Errorf("Equal is not symmetric for %+v, %+v", tc.a, tc.b)
			}
			if got := Key(tc.a) == Key(tc.b); got != tc.want {
				t.Errorf("Key(a) == Key(b) is %v, want %v", got, tc.want)
			}
		})
	}
}

// TestEqualAgreesWithContainerd checks that two platforms Equal calls equal
// are matched by containerd's own strict matcher (what a puller uses), in
// both directions.
func TestEqualAgreesWithContainerd(t *testing.T) {
	t.Parallel()
	specs := []string{
		"linux/amd64", "linux/amd64/v1", "linux/x86_64", "linux/arm", "linux/arm/v7",
		"linux/armhf", "linux/arm/v6", "linux/armel", "linux/arm64", "linux/arm64/v8",
		"linux/aarch64", "linux/386", "linux/i386", "linux/ppc64le", "linux/s390x",
		"windows/amd64", "linux/riscv64", "wasi/wasm", "wasip1/wasm", "WASI/wasm",
	}
	for _, a := range specs {
		for _, b := range specs {
			pa, err := Parse(a)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			ours := Equal(pa, pb)
			theirs := platforms.OnlyStrict(pa).Match(pb) && platforms.OnlyStrict(pb).Match(pa)
			if ours != theirs {
				t.Errorf("%s vs %s: Equal = %v, containerd strict match both ways = %v", a, b, ours, theirs)
			}
		}
	}
}

func TestKnownListsAreCopies(t *testing.T) {
	t.Parallel()
	os := KnownOS()
	os[0] = "changed"
	if KnownOS()[0] == "changed" {
		t.Error("KnownOS returns shared state")
	}
	arch := KnownArchitectures()
	arch[0] = "changed"
	if KnownArchitectures()[0] == "changed" {
		t.Error("KnownArchitectures returns shared state")
	}
	for _, want := range []string{"linux", "windows", "darwin", "freebsd", "wasip1", "zos"} {
		if _, err := NormalizeOS(want); err != nil {
			t.Errorf("NormalizeOS(%q): %v", want, err)
		}
	}
	for _, want := range []string{"386", "amd64", "arm", "arm64", "loong64", "mips64le", "ppc64le", "riscv64", "s390x", "wasm", "sparc64"} {
		if _, _, err := NormalizeArch(want, ""); err != nil {
			t.Errorf("NormalizeArch(%q): %v", want, err)
		}
	}
}

func TestNearest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"amd46", "amd64"},
		{"amd64x", "amd64"},
		{"arm65", "arm64"},
		{"ppc64el", "ppc64le"},
		{"s390", "s390"},
		{"x86_46", "amd64"},
		{"qq", ""},
		{"a", ""},
	} {
		if got := nearest(tc.in, knownArch[:], archAliases[:]); got != tc.want {
			t.Errorf("nearest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   ocispec.Platform
		want ocispec.Platform
		errs []string // each error's text contains this, in order
	}{
		{"arm variant 7 is v7", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "7"},
			ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, nil},
		{"aarch64 variant 8 is arm64/v8", ocispec.Platform{OS: "Linux", Architecture: "aarch64", Variant: "8"},
			ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, nil},
		{"bad os.version is left out", ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "bad version"},
			ocispec.Platform{OS: "windows", Architecture: "amd64"}, []string{`os.version "bad version"`}},
		{"bad variant leaves the architecture", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v 7"},
			ocispec.Platform{OS: "linux", Architecture: "arm"}, []string{"variant: "}},
		{"unknown architecture takes its variant", ocispec.Platform{OS: "linux", Architecture: "amd46", Variant: "v2"},
			ocispec.Platform{OS: "linux"}, []string{"architecture: "}},
		{"unknown os", ocispec.Platform{OS: "linix", Architecture: "amd64"},
			ocispec.Platform{Architecture: "amd64"}, []string{"os: "}},
		{"bad feature dropped, good kept", ocispec.Platform{OS: "windows", Architecture: "amd64", OSFeatures: []string{"win32k", "a b"}},
			ocispec.Platform{OS: "windows", Architecture: "amd64", OSFeatures: []string{"win32k"}}, []string{"os.features item"}},
		{"empty stays empty", ocispec.Platform{}, ocispec.Platform{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := NormalizeConfig(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("platform (-want +got):\n%s", diff)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors %v, want %d", errs, len(tc.errs))
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tc.errs[i]) {
					t.Errorf("error %q does not contain %q", e, tc.errs[i])
				}
			}
		})
	}
}

// TestWasi: Docker's Wasm workloads are published as wasi/wasm; it parses,
// formats back, and containerd's default matcher for wasi/wasm (what
// docker run --platform wasi/wasm uses) picks it from a list and not
// wasip1/wasm or linux/amd64.
func TestWasi(t *testing.T) {
	t.Parallel()
	p, err := Parse("wasi/wasm")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ocispec.Platform{OS: "wasi", Architecture: "wasm"}, p); diff != "" {
		t.Errorf("Parse(wasi/wasm) (-want +got):\n%s", diff)
	}
	if got := Format(p); got != "wasi/wasm" {
		t.Errorf("Format = %q", got)
	}
	m := platforms.Only(ocispec.Platform{OS: "wasi", Architecture: "wasm"})
	var picked []string
	for _, s := range []string{"linux/amd64", "wasip1/wasm", "wasi/wasm"} {
		q, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if m.Match(q) {
			picked = append(picked, Format(q))
		}
	}
	if diff := cmp.Diff([]string{"wasi/wasm"}, picked); diff != "" {
		t.Errorf("containerd's matcher for wasi/wasm picks (-want +got):\n%s", diff)
	}
}

// An architecture written with its variant (docker's armv7, arm64v8) points
// at the two fields.
func TestNormalizeArchVariantJoined(t *testing.T) {
	t.Parallel()
	for arch, want := range map[string]string{
		"armv7":   `unknown architecture "armv7" (did you mean architecture "arm" with variant "v7"? the variant is a field of its own)`,
		"ARM64v8": `unknown architecture "ARM64v8" (did you mean architecture "arm64" with variant "v8"? the variant is a field of its own)`,
	} {
		_, _, err := NormalizeArch(arch, "")
		if !errors.Is(err, ErrUnknownArch) || err.Error() != want {
			t.Errorf("NormalizeArch(%q) = %v, want %s", arch, err, want)
		}
	}
}
