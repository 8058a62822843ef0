package spec

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distribution/reference"
	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/platform"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.err from the current messages")

// testEnv is the environment the fixtures see.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{
		"REGISTRY": "reg.example:5000",
		"VERSION":  "1.2.3",
	}[name]
	return v, ok
}

var testOpts = LoadOptions{LookupEnv: testEnv}

// refComparer compares references (named, tagged, digested) by their
// string form.
var refComparer = cmp.Comparer(func(a, b reference.Reference) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.String() == b.String()
})

func mustNamed(t *testing.T, s string) reference.Named {
	t.Helper()
	r, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustTagged(t *testing.T, s string) reference.NamedTagged {
	t.Helper()
	r, ok := mustNamed(t, s).(reference.NamedTagged)
	if !ok {
		t.Fatalf("%s has no tag", s)
	}
	return r
}

func TestLoadGoodFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/good/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			s, err := LoadFile(file, testOpts)
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if s.Name != file || s.Target == nil || len(s.Manifests) == 0 {
				t.Fatalf("incomplete spec: %+v", s)
			}
			for _, e := range s.Manifests {
				if e.Image == nil || e.Pos.Line == 0 {
					t.Errorf("incomplete entry: %+v", e)
				}
				if reference.IsNameOnly(e.Image) {
					t.Errorf("entry %s has neither tag nor digest", e.Image)
				}
			}
		})
	}
}

func TestLoadGoodStructures(t *testing.T) {
	t.Parallel()
	plat := func(os, arch, variant, osVersion string, features ...string) *ocispec.Platform {
		return &ocispec.Platform{OS: os, Architecture: arch, Variant: variant, OSVersion: osVersion, OSFeatures: features}
	}
	for _, tc := range []struct {
		file string
		want func(t *testing.T, file string) *Spec
	}{
		{"manifest-tool.yaml", func(t *testing.T, file string) *Spec {
			return &Spec{
				Name:   file,
				Target: mustTagged(t, "myprivreg:5000/someimage:latest"),
				Tags:   []string{"1.0.0", "stable"},
				Manifests: []Entry{
					{Image: mustNamed(t, "myprivreg:5000/someimage:ppc64le"), Platform: plat("linux", "ppc64le", "", ""), Pos: Pos{file, 5, 5}},
					{Image: mustNamed(t, "myprivreg:5000/someimage:windows"), Platform: plat("windows", "amd64", "", "10.0.14393.2312", "win32k"), Pos: Pos{file, 10, 5}},
				},
			}
		}},
		{"design.yaml", func(t *testing.T, file string) *Spec {
			return &Spec{
				Name:        file,
				Target:      mustTagged(t, "registry.example.com/hello:1.0"),
				Tags:        []string{"1", "latest"},
				Type:        TypeAuto,
				Annotations: map[string]string{"org.opencontainers.image.source": "https://example.com/hello"},
				Manifests: []Entry{
					{Image: mustNamed(t, "registry.example.com/hello:1.0-linux-amd64"), Platform: plat("linux", "amd64", "", ""), Pos: Pos{file, 7, 5}},
					{
						Image: mustNamed(t, "registry.example.com/hello:1.0-linux-arm-v7"), Platform: plat("linux", "arm", "v7", ""),
						Annotations: map[string]string{"com.example.note": "built under emulation"}, Pos: Pos{file, 9, 5},
					},
					{Image: mustNamed(t, "registry.example.com/hello:1.0-windows"), Platform: plat("windows", "amd64", "", "10.0.17763.6189"), Pos: Pos{file, 12, 5}},
					{Image: mustNamed(t, "registry.example.com/other:buildx-output"), Pos: Pos{file, 14, 5}},
				},
			}
		}},
		{"env.yaml", func(t *testing.T, file string) *Spec {
			return &Spec{
				Name:   file,
				Target: mustTagged(t, "reg.example:5000/hello:1.2.3"),
				Tags:   []string{"1", "latest"},
				Annotations: map[string]string{
					"com.example.price":         "$5 and $ 6 and $",
					"com.example.empty-default": "xy",
					"${NOT_A_KEY_VAR}":          "kept as written",
				},
				Manifests: []Entry{
					{Image: mustNamed(t, "reg.example:5000/hello:1.2.3-linux-amd64"), Platform: plat("linux", "amd64", "", ""), Pos: Pos{file, 9, 5}},
				},
			}
		}},
		{"minimal.yaml", func(t *testing.T, file string) *Spec {
			return &Spec{
				Name:      file,
				Target:    mustTagged(t, "docker.io/library/hello:latest"),
				Manifests: []Entry{{Image: mustNamed(t, "docker.io/library/hello-amd64:latest"), Pos: Pos{file, 3, 5}}},
			}
		}},
		{"document-markers.yaml", func(t *testing.T, file string) *Spec {
			return &Spec{
				Name:   file,
				Target: mustTagged(t, "reg.example/img:3"),
				Manifests: []Entry{
					{Image: mustNamed(t, "reg.example/img:3-amd64"), Platform: plat("linux", "amd64", "", ""), Pos: Pos{file, 5, 5}},
					{Image: mustNamed(t, "reg.example/img:3-armhf"), Platform: plat("linux", "arm", "v7", ""), Pos: Pos{file, 7, 5}},
					{Image: mustNamed(t, "reg.example/img:3-armel"), Platform: plat("linux", "arm", "v6", ""), Pos: Pos{file, 9, 5}},
					{Image: mustNamed(t, "reg.example/img:3-aarch64"), Platform: plat("linux", "arm64", "", ""), Pos: Pos{file, 11, 5}},
					{Image: mustNamed(t, "reg.example/img:3-i686"), Platform: plat("linux", "386", "", ""), Pos: Pos{file, 13, 5}},
				},
			}
		}},
		{"partial-platforms.yaml", func(t *testing.T, file string) *Spec {
			return &Spec{
				Name:   file,
				Target: mustTagged(t, "reg.example/img:latest"),
				Tags:   []string{"1", "2"},
				Type:   TypeDocker,
				Manifests: []Entry{
					{Image: mustNamed(t, "reg.example/img:linux-arm"), Platform: plat("", "arm", "v6", ""), Pos: Pos{file, 6, 5}},
					{Image: mustNamed(t, "reg.example/img:windows-ltsc2022"), Platform: plat("", "", "", "10.0.20348.2340"), Pos: Pos{file, 10, 5}},
					{Image: mustNamed(t, "reg.example/img:windows-ltsc2019"), Platform: plat("windows", "", "", "10.0.17763.6189"), Pos: Pos{file, 13, 5}},
					{Image: mustNamed(t, "reg.example/buildx:multi"), Pos: Pos{file, 17, 5}},
				},
			}
		}},
		{"manifest-tool-full.yaml", func(t *testing.T, file string) *Spec {
			return &Spec{
				Name:   file,
				Target: mustTagged(t, "myprivreg:5000/someimage:latest"),
				Tags:   []string{"1.0.0", "stable"},
				Manifests: []Entry{
					{Image: mustNamed(t, "myprivreg:5000/someimage:ppc64le"), Platform: plat("linux", "ppc64le", "", ""), Pos: Pos{file, 5, 5}},
					{Image: mustNamed(t, "myprivreg:5000/someimage:amd64"), Platform: plat("linux", "amd64", "", ""), Features: []string{"sse"}, Pos: Pos{file, 10, 5}},
					{Image: mustNamed(t, "myprivreg:5000/someimage:s390x"), Platform: plat("linux", "s390x", "", ""), Pos: Pos{file, 17, 5}},
					{Image: mustNamed(t, "myprivreg:5000/someimage:arm"), Platform: plat("linux", "arm", "armv7l", ""), Pos: Pos{file, 22, 5}},
					{Image: mustNamed(t, "myprivreg:5000/someimage:armhf"), Platform: plat("linux", "arm64", "v8", ""), Pos: Pos{file, 28, 5}},
				},
			}
		}},
		{"block-scalars.yaml", func(t *testing.T, file string) *Spec {
			return &Spec{
				Name:   file,
				Target: mustTagged(t, "reg.example/folded:1"),
				Annotations: map[string]string{
					"org.opencontainers.image.description": "Line one.\nLine two.\n",
					"com.example.number":                   "42",
					"com.example.bool":                     "true",
				},
				Manifests: []Entry{{Image: mustNamed(t, "reg.example/folded:1-amd64"), Platform: plat("linux", "amd64", "", ""), Pos: Pos{file, 10, 5}}},
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join("testdata", "good", tc.file)
			got, err := LoadFile(file, testOpts)
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if diff := cmp.Diff(tc.want(t, file), got, refComparer); diff != "" {
				t.Errorf("LoadFile(%s) (-want +got):\n%s", file, diff)
			}
		})
	}
}

// TestLoadBadFixtures loads every testdata/bad/*.yaml and compares the
// error text with the sibling .err file exactly. go test -run
// TestLoadBadFixtures -update rewrites the .err files.
func TestLoadBadFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s, err := LoadFile(file, testOpts)
			if err == nil {
				t.Fatalf("LoadFile(%s) = %+v, want an error", file, s)
			}
			if s != nil {
				t.Errorf("LoadFile(%s) returned a spec with its error", file)
			}
			checkSpecErrors(t, err)
			errFile := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(errFile, []byte(err.Error()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, rerr := os.ReadFile(errFile)
			if rerr != nil {
				t.Fatalf("%v (run go test -update to create it)", rerr)
			}
			if got := err.Error() + "\n"; got != string(want) {
				t.Errorf("LoadFile(%s) error\n got: %s\nwant: %s", file, got, want)
			}
		})
	}
}

// checkSpecErrors checks that err is a join of *Error values that each wrap
// ErrInvalidSpec and carry a position.
func checkSpecErrors(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("error does not wrap ErrInvalidSpec: %v", err)
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not joined", err)
	}
	for _, e := range joined.Unwrap() {
		var se *Error
		if !errors.As(e, &se) {
			t.Errorf("joined error %T is not *spec.Error: %v", e, e)
			continue
		}
		if !errors.Is(se, ErrInvalidSpec) {
			t.Errorf("%v does not wrap ErrInvalidSpec", se)
		}
		if se.Pos.File == "" {
			t.Errorf("%v has no file", se)
		}
	}
}

func TestLoadBadSentinels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		want error
	}{
		{"unknown-arch.yaml", platform.ErrUnknownArch},
		{"unknown-os.yaml", platform.ErrUnknownOS},
		{"variant-without-arch.yaml", platform.ErrInvalid},
		{"duplicate-platform.yaml", ErrDuplicatePlatform},
		{"duplicate-platform-windows.yaml", ErrDuplicatePlatform},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			_, err := LoadFile(filepath.Join("testdata", "bad", tc.file), testOpts)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error %v does not wrap %v and ErrInvalidSpec", err, tc.want)
			}
		})
	}
}

func TestLoadTooLarge(t *testing.T) {
	t.Parallel()
	data := "image: hello\nmanifests:\n  - image: hello-amd64\n" + strings.Repeat("# padding\n", MaxFileSize/10+1)
	_, err := Load("big.yaml", strings.NewReader(data), testOpts)
	want := "big.yaml: the file is larger than 1048576 bytes (1 MiB), the limit for a spec: is it the right file?"
	if err == nil || err.Error() != want {
		t.Fatalf("Load(big) error = %v, want %s", err, want)
	}
	checkSpecErrors(t, err)

	// Exactly MaxFileSize bytes is fine.
	exact := data[:MaxFileSize]
	exact = exact[:strings.LastIndexByte(exact, '\n')+1]
	exact += strings.Repeat("#", MaxFileSize-len(exact))
	if len(exact) != MaxFileSize {
		t.Fatalf("test input is %d bytes", len(exact))
	}
	if _, err := Load("exact.yaml", strings.NewReader(exact), testOpts); err != nil {
		t.Errorf("Load(%d bytes): %v", MaxFileSize, err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestLoadReadErrors(t *testing.T) {
	t.Parallel()
	_, err := Load("x.yaml", failingReader{}, testOpts)
	if err == nil || err.Error() != "x.yaml: cannot read the spec: disk on fire" {
		t.Errorf("Load(failing reader) error = %v", err)
	}
	checkSpecErrors(t, err)

	_, err = LoadFile(filepath.Join("testdata", "does-not-exist.yaml"), testOpts)
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("LoadFile(missing) error %v does not wrap fs.ErrNotExist and ErrInvalidSpec", err)
	}
	if want := "testdata/does-not-exist.yaml: cannot open the spec: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("LoadFile(missing) error = %v, want %s", err, want)
	}
}

func TestLoadEnvDefaultsToOS(t *testing.T) {
	t.Setenv("MANIFEST_PUSH_TEST_REGISTRY", "env.example")
	s, err := Load("env.yaml", strings.NewReader("image: ${MANIFEST_PUSH_TEST_REGISTRY}/x\nmanifests: [{image: y}]\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Target.String(); got != "env.example/x:latest" {
		t.Errorf("target = %s", got)
	}
}

// loadShapes generate large inputs of repetitive shapes, the inputs where a
// quadratic step in loading would show. BenchmarkLoadShapes reports their
// cost at two sizes, so growth is measured, not asserted on a clock.
func loadShapes() map[string]func(n int) string {
	return map[string]func(n int) string{
		"entries": func(n int) string {
			var b strings.Builder
			b.WriteString("image: hello\nmanifests:\n")
			for i := range n {
				b.WriteString("  - image: hello-")
				b.WriteString(strings.Repeat("a", i%50+1))
				b.WriteString("\n    platform: {os: linux, architecture: amd64}\n")
			}
			return b.String()
		},
		"unknown keys": func(n int) string {
			var b strings.Builder
			for i := range n {
				b.WriteString("imag")
				b.WriteString(strings.Repeat("e", i%40+1))
				b.WriteString(": x\n")
			}
			return b.String()
		},
		"dollars": func(n int) string {
			return "image: \"" + strings.Repeat("$", n*20) + "\"\nmanifests: [{image: x}]\n"
		},
		"long key": func(n int) string {
			return strings.Repeat("k", n*20) + ": x\n"
		},
		"nested flow": func(n int) string {
			return "image: x\nmanifests: [{image: x}]\ntags: " + strings.Repeat("[", n/10) + strings.Repeat("]", n/10) + "\n"
		},
	}
}

func BenchmarkLoadShapes(b *testing.B) {
	for name, gen := range loadShapes() {
		for _, n := range []int{1000, 8000} {
			input := gen(n)
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				b.SetBytes(int64(len(input)))
				for b.Loop() {
					benchLoad(b, input)
				}
			})
		}
	}
}

// benchLoad loads input, which may be invalid on purpose, and fails on any
// error that is not a spec error.
func benchLoad(b *testing.B, input string) {
	if _, err := Load("t.yaml", strings.NewReader(input), testOpts); err != nil && !errors.Is(err, ErrInvalidSpec) {
		b.Fatal(err)
	}
}

func TestLoadManifestToolUnchanged(t *testing.T) {
	t.Parallel()
	// manifest-tool's README example, byte for byte, including the lone
	// "-" lines followed by a mapping.
	data, err := os.ReadFile(filepath.Join("testdata", "good", "manifest-tool.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("  -\n    image:")) {
		t.Fatal("fixture lost its lone '-' lines")
	}
	if _, err := Load("manifest-tool.yaml", bytes.NewReader(data), testOpts); err != nil {
		t.Fatal(err)
	}
}

func TestLoadMaxErrors(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("image: hello\nmanifests:\n")
	for range MaxErrors + 5 {
		b.WriteString("  -\n")
	}
	_, err := Load("many.yaml", strings.NewReader(b.String()), testOpts)
	checkSpecErrors(t, err)
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != MaxErrors+1 {
		t.Fatalf("%d lines, want %d", len(lines), MaxErrors+1)
	}
	if got, want := lines[MaxErrors], "many.yaml: 5 more errors not shown: fix the ones above first"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	if got, want := lines[0], `many.yaml:3:4: empty item in "manifests": remove the lone "-" or give it image and platform`; got != want {
		t.Errorf("first line %q, want %q", got, want)
	}
}

func BenchmarkLoadManyTags(b *testing.B) {
	gen := func(n int) string {
		var sb strings.Builder
		sb.WriteString("image: hello\nmanifests: [{image: x}]\ntags:\n")
		for i := range n {
			sb.WriteString("  - t")
			sb.WriteString(strings.Repeat("x", i%7))
			sb.WriteString(strings.TrimLeft(time.Duration(i).String(), "0"))
			sb.WriteString("\n")
		}
		return sb.String()
	}
	for _, n := range []int{5000, 40000} {
		input := gen(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(input)))
			for b.Loop() {
				benchLoad(b, input)
			}
		})
	}
}

// TestValidate: a spec built by hand is checked by the rules Load applies,
// with errors instead of a panic later, and a loaded spec passes.
func TestValidate(t *testing.T) {
	ref := func(s string) reference.Named {
		n, err := reference.ParseNormalizedNamed(s)
		if err != nil {
			t.Fatal(err)
		}
		return reference.TagNameOnly(n)
	}
	target := ref("reg.test/hello:1").(reference.NamedTagged)
	amd := &ocispec.Platform{OS: "linux", Architecture: "amd64"}
	for _, tc := range []struct {
		name string
		spec *Spec
		want string // "" means valid
		is   error
	}{
		{"nil", nil, "no spec given", ErrInvalidSpec},
		{"empty", &Spec{}, "no target: set the target reference, e.g. image: registry.example.com/hello:1.0\n" +
			`"manifests" is empty: list at least one source image, e.g. manifests: [{image: hello:1.0-linux-amd64, platform: {os: linux, architecture: amd64}}]`, ErrInvalidSpec},
		{"entry without image", &Spec{Name: "h.go", Target: target, Manifests: []Entry{{Platform: amd}}},
			"h.go: an entry has no source image: set its reference, e.g. registry.example.com/hello:1.0-linux-amd64", ErrInvalidSpec},
		{"unknown architecture", &Spec{Target: target, Manifests: []Entry{{Image: ref("reg.test/a"), Platform: &ocispec.Platform{OS: "linux", Architecture: "amd46"}}}},
			"", platform.ErrUnknownArch},
		{"duplicate platform", &Spec{Target: target, Manifests: []Entry{{Image: ref("reg.test/a"), Platform: amd}, {Image: ref("reg.test/b"), Platform: amd}}},
			"platform linux/amd64 is also given by reg.test/a:latest: an index holds each platform once; remove one entry or correct its platform", ErrDuplicatePlatform},
		{"bad tag", &Spec{Target: target, Tags: []string{"-x"}, Manifests: []Entry{{Image: ref("reg.test/a")}}}, "", ErrInvalidSpec},
		{"docker with annotations", &Spec{Target: target, Type: TypeDocker, Annotations: map[string]string{"a": "b"}, Manifests: []Entry{{Image: ref("reg.test/a")}}}, "", ErrInvalidSpec},
		{"valid", &Spec{Target: target, Manifests: []Entry{{Image: ref("reg.test/a"), Platform: amd}}}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.spec)
			if tc.is == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if tc.want != "" && err.Error() != tc.want {
				t.Errorf("err = %q\nwant  %q", err, tc.want)
			}
		})
	}
	s, err := Load("ok.yaml", strings.NewReader("image: reg.test/x:1\nmanifests:\n  - image: reg.test/x:amd\n    platform: {os: linux, architecture: amd64}\n  - image: reg.test/x:arm\n    platform: {os: linux, architecture: arm}\n  - image: reg.test/x:arm2\n    platform: {os: linux, architecture: arm}\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(s); err != nil {
		t.Errorf("a loaded spec fails Validate: %v", err)
	}
}
