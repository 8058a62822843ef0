package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/platform"
)

func TestExpand(t *testing.T) {
	t.Parallel()
	amd64 := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	armv7 := ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	win := ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"}
	for _, tc := range []struct {
		template string
		p        ocispec.Platform
		want     string
	}{
		{"img-OS-ARCH-VARIANT", amd64, "img-linux-amd64"},
		{"img-OS-ARCH-VARIANT", armv7, "img-linux-arm-v7"},
		{"img_OS_ARCH_VARIANT", amd64, "img_linux_amd64"},
		{"img.OS.ARCH.VARIANT", amd64, "img.linux.amd64"},
		{"reg.example/img-OS-ARCHVARIANT:1.2", amd64, "reg.example/img-linux-amd64:1.2"},
		{"reg.example/img-OS-ARCHVARIANT:1.2", armv7, "reg.example/img-linux-armv7:1.2"},
		{"img:OS-ARCH-VARIANT-OSVERSION", win, "img:windows-amd64-10.0.17763.6189"},
		{"img:OS-ARCH-OSVERSION", amd64, "img:linux-amd64"},
		{"img:OSVERSION", win, "img:10.0.17763.6189"},
		// OSVERSION is one placeholder, never OS followed by "VERSION".
		{"img:OSVERSION", amd64, "img:"},
		{"img:OSVERSIONS", win, "img:10.0.17763.6189S"},
		// Only one separator goes, and only one that the template wrote.
		{"img:OS--VARIANT", amd64, "img:linux-"},
		{"img:OS-VARIANT-VARIANT", amd64, "img:linux"},
		{"img:VARIANT", amd64, "img:"},
		{"-VARIANT", amd64, ""},
		{"img:OS/VARIANT", amd64, "img:linux/"},
		// One pass: replaced text is not scanned again.
		{"img:VARIANT", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "OSARCH"}, "img:OSARCH"},
		{"img:OS", ocispec.Platform{OS: "ARCH"}, "img:ARCH"},
		{"no placeholders", amd64, "no placeholders"},
		{"", amd64, ""},
		{"OSOSARCHARCH", amd64, "linuxlinuxamd64amd64"},
		{"ososarch", amd64, "ososarch"},
	} {
		t.Run(tc.template+"/"+platform.Format(tc.p), func(t *testing.T) {
			t.Parallel()
			if got := Expand(tc.template, tc.p); got != tc.want {
				t.Errorf("Expand(%q, %s) = %q, want %q", tc.template, platform.Format(tc.p), got, tc.want)
			}
		})
	}
}

func TestFromArgs(t *testing.T) {
	t.Parallel()
	plat := func(s string) *ocispec.Platform {
		p, err := platform.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	for _, tc := range []struct {
		name string
		args Args
		want func(t *testing.T) *Spec
	}{
		{
			name: "design example",
			args: Args{
				Platforms: []string{"linux/amd64,linux/arm/v7,windows/amd64"},
				Template:  "reg.example/img-OS-ARCHVARIANT:1.2",
				Target:    "reg.example/img:1.2",
				Tags:      []string{"1,latest"},
			},
			want: func(t *testing.T) *Spec {
				return &Spec{
					Name:   "from-args",
					Target: mustTagged(t, "reg.example/img:1.2"),
					Tags:   []string{"1", "latest"},
					Manifests: []Entry{
						{Image: mustNamed(t, "reg.example/img-linux-amd64:1.2"), Platform: plat("linux/amd64")},
						{Image: mustNamed(t, "reg.example/img-linux-armv7:1.2"), Platform: plat("linux/arm/v7")},
						{Image: mustNamed(t, "reg.example/img-windows-amd64:1.2"), Platform: plat("windows/amd64")},
					},
				}
			},
		},
		{
			name: "repeated and comma-separated, aliases, annotations, dedup tags",
			args: Args{
				Platforms:   []string{"linux/x86_64, linux/armhf", "windows/amd64:10.0.17763.6189"},
				Template:    "img:1-OS-ARCH-VARIANT-OSVERSION",
				Target:      "img",
				Tags:        []string{"1", "latest", "1", "2"},
				Annotations: []string{"org.opencontainers.image.source=https://example.com/a=b", "com.example.empty="},
				Type:        TypeOCI,
			},
			want: func(t *testing.T) *Spec {
				return &Spec{
					Name:   "from-args",
					Target: mustTagged(t, "docker.io/library/img:latest"),
					Tags:   []string{"1", "2"},
					Type:   TypeOCI,
					Annotations: map[string]string{
						"org.opencontainers.image.source": "https://example.com/a=b",
						"com.example.empty":               "",
					},
					Manifests: []Entry{
						{Image: mustNamed(t, "img:1-linux-amd64"), Platform: plat("linux/amd64")},
						{Image: mustNamed(t, "img:1-linux-arm-v7"), Platform: plat("linux/arm/v7")},
						{Image: mustNamed(t, "img:1-windows-amd64-10.0.17763.6189"), Platform: plat("windows/amd64:10.0.17763.6189")},
					},
				}
			},
		},
		{
			name: "one platform, no placeholder",
			args: Args{Platforms: []string{"linux/s390x"}, Template: "reg.example/only@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Target: "reg.example/img:z"},
			want: func(t *testing.T) *Spec {
				return &Spec{
					Name:   "from-args",
					Target: mustTagged(t, "reg.example/img:z"),
					Manifests: []Entry{
						{Image: mustNamed(t, "reg.example/only@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), Platform: plat("linux/s390x")},
					},
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := FromArgs(tc.args)
			if err != nil {
				t.Fatalf("FromArgs: %v", err)
			}
			if diff := cmp.Diff(tc.want(t), got, refComparer); diff != "" {
				t.Errorf("FromArgs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromArgsErrors(t *testing.T) {
	t.Parallel()
	ok := Args{Platforms: []string{"linux/amd64,linux/arm64"}, Template: "img:OS-ARCH", Target: "img:1"}
	with := func(f func(a *Args)) Args {
		a := ok
		f(&a)
		return a
	}
	knownArch := strings.Join(platform.KnownArchitectures(), ", ")
	for _, tc := range []struct {
		name     string
		args     Args
		want     string
		sentinel error
	}{
		{
			name: "nothing given",
			args: Args{},
			want: "--target: missing: give the reference to push, e.g. --target registry.example.com/hello:1.0\n" +
				"--platforms: missing: give the platforms to assemble, e.g. --platforms linux/amd64,linux/arm64,linux/arm/v7\n" +
				"--template: missing: give the source reference with placeholders, e.g. --template registry.example.com/hello:1.0-OS-ARCH-VARIANT, or the sources as arguments",
		},
		{
			name:     "unknown architecture",
			args:     with(func(a *Args) { a.Platforms = []string{"linux/amd46"} }),
			want:     `--platforms: unknown architecture "amd46" (did you mean "amd64"?); known: ` + knownArch,
			sentinel: platform.ErrUnknownArch,
		},
		{
			name:     "unknown os",
			args:     with(func(a *Args) { a.Platforms = []string{"linx/amd64"} }),
			want:     `--platforms: unknown operating system "linx" (did you mean "linux"?); known: ` + strings.Join(platform.KnownOS(), ", "),
			sentinel: platform.ErrUnknownOS,
		},
		{
			name:     "malformed platform",
			args:     with(func(a *Args) { a.Platforms = []string{"linux"} }),
			want:     `--platforms: "linux": invalid platform: no architecture (want os/arch[/variant][:os.version], e.g. linux/amd64)`,
			sentinel: platform.ErrInvalid,
		},
		{
			name: "empty platform item",
			args: with(func(a *Args) { a.Platforms = []string{"linux/amd64,,linux/arm64"} }),
			want: "--platforms: empty platform in the list: remove the extra comma",
		},
		{
			name:     "duplicate platform",
			args:     with(func(a *Args) { a.Platforms = []string{"linux/arm64,linux/arm", "linux/aarch64/v8", "linux/arm/v7"} }),
			want:     "--platforms: \"linux/arm64\" and \"linux/aarch64/v8\" are the same platform: give each platform once\n--platforms: \"linux/arm\" and \"linux/arm/v7\" are the same platform: give each platform once",
			sentinel: ErrDuplicatePlatform,
		},
		{
			name: "template without placeholder",
			args: with(func(a *Args) { a.Template = "img:fixed" }),
			want: `--template: "img:fixed" has no placeholder (OS, ARCH, VARIANT, OSVERSION) but 2 platforms are given: every platform would get the same image`,
		},
		{
			name: "two platforms, same source",
			args: with(func(a *Args) {
				a.Platforms = []string{"windows/amd64:10.0.17763.1,windows/amd64:10.0.20348.1,linux/amd64"}
				a.Template = "img:OS-ARCH"
			}),
			want: "--template: windows/amd64:10.0.17763.1 and windows/amd64:10.0.20348.1 both give img:windows-amd64: add the placeholders that tell them apart (e.g. VARIANT, OSVERSION)",
		},
		{
			name: "template gives an invalid reference",
			args: with(func(a *Args) { a.Template = "Img:OS-ARCH" }),
			want: "--template: for linux/amd64 it gives \"Img:linux-amd64\": invalid image reference \"Img:linux-amd64\" (invalid reference format: repository name (library/Img) must be lowercase): write [HOST[:PORT]/]NAME[:TAG|@DIGEST]\n" +
				"--template: for linux/arm64 it gives \"Img:linux-arm64\": invalid image reference \"Img:linux-arm64\" (invalid reference format: repository name (library/Img) must be lowercase): write [HOST[:PORT]/]NAME[:TAG|@DIGEST]",
		},
		{
			name: "target with digest",
			args: with(func(a *Args) {
				a.Target = "reg.example/img@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			}),
			want: "--target: the target reg.example/img has a digest (@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef): a target is pushed by tag; replace the digest with a tag, e.g. reg.example/img:1.0",
		},
		{
			name: "invalid target",
			args: with(func(a *Args) { a.Target = "reg.example/img:" }),
			want: `--target: invalid target reference "reg.example/img:" (invalid reference format): write [HOST[:PORT]/]NAME[:TAG]`,
		},
		{
			name: "bad tags",
			args: with(func(a *Args) { a.Tags = []string{"ok,,-bad"} }),
			want: "--tags: empty tag in the list: remove the extra comma\n" +
				`--tags: invalid tag "-bad": a tag is up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"`,
		},
		{
			name: "bad annotations",
			args: with(func(a *Args) { a.Annotations = []string{"novalue", "=x", "a=1", "a=2"} }),
			want: "--annotations: \"novalue\" has no \"=\": write key=value\n" +
				"--annotations: \"=x\" has an empty key: write key=value\n" +
				"--annotations: \"a\" is given twice: give each key once",
		},
		{
			name: "annotations with type docker",
			args: with(func(a *Args) { a.Annotations = []string{"a=1"}; a.Type = TypeDocker }),
			want: "--annotations: annotations need an OCI index, but --type is docker: use --type oci (or auto), or remove the annotations",
		},
		{
			name: "bad type",
			args: with(func(a *Args) { a.Type = "dockr" }),
			want: `--type: unknown type "dockr" (did you mean "docker"?); use auto, oci or docker`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := FromArgs(tc.args)
			if err == nil {
				t.Fatalf("FromArgs = %+v, want an error", s)
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error does not wrap ErrInvalidSpec: %v", err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("error does not wrap %v: %v", tc.sentinel, err)
			}
			if err.Error() != tc.want {
				t.Errorf("FromArgs error\n got: %s\nwant: %s", err, tc.want)
			}
		})
	}
}
