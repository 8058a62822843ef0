package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-cmp/cmp"
	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/demo"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// manifestPush is the product binary, built once by TestMain.
var manifestPush string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "demo-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		manifestPush, err = binary.Build(ctx, dir, binary.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// TestRun runs the whole demo on the embedded registry and asserts the
// payoff: at least three linux platforms greet correctly. Without the qemu
// emulators that is impossible on one machine: the test then skips, except
// in CI (CI=true), where .ci/run installs them and their absence is a
// failure.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := demo.Run(ctx, demo.Options{Out: &out, Binary: manifestPush})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	t.Logf("demo output:\n%s", out.String())

	if !strings.HasPrefix(rep.Digest, "sha256:") {
		t.Errorf("Digest = %q, want sha256:...", rep.Digest)
	}
	if got, want := rep.Target, rep.Registry+"/helloarch:1.0"; got != want {
		t.Errorf("Target = %q, want %q", got, want)
	}
	if rep.Windows.Platform == nil || rep.Windows.Platform.OSVersion != demo.WindowsOSVersion {
		t.Errorf("windows entry = %+v, want os.version %s (from the image config, rule P3)", rep.Windows, demo.WindowsOSVersion)
	}
	for _, want := range []string{
		"==> [6/6]",
		"warning:",                               // the patching up: configs say linux/amd64
		"windows/amd64:" + demo.WindowsOSVersion, // the inspect table
		" unchanged",                             // the rerun
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if len(rep.Greetings) != 5 {
		t.Fatalf("%d greetings, want one per linux platform (5)", len(rep.Greetings))
	}
	for _, g := range rep.Greetings {
		want := "Hello, " + platforms.Format(g.Platform) + "!"
		if g.Runner != "" && g.Got != want {
			t.Errorf("%s greeted %q, want %q", platforms.Format(g.Platform), g.Got, want)
		}
		if g.Entry.Platform == nil || platforms.Format(*g.Entry.Platform) != platforms.Format(g.Platform) {
			t.Errorf("%s selected entry %+v", platforms.Format(g.Platform), g.Entry)
		}
	}

	const atLeast = 3
	if n := rep.Greeted(); n < atLeast {
		missing := rep.MissingQemu()
		if len(missing) == 0 {
			t.Fatalf("%d linux platforms greeted, want at least %d", n, atLeast)
		}
		msg := fmt.Sprintf("%d linux platforms greeted, want at least %d: %s not installed (%s)",
			n, atLeast, strings.Join(missing, ", "), demo.InstallQemu)
		t.Fatal(msg + "; make test installs them when run as root (scripts/test-deps.sh)")
	}
}

// TestRunWithoutQemu runs the demo as on a machine without the emulators,
// against a registry given by address ($REGISTRY): it still succeeds, runs
// what is native, says how to install the rest, and leaves the index in
// that registry.
func TestRunWithoutQemu(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the payoff runs linux programs")
	}
	reg, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := demo.Run(ctx, demo.Options{
		Out:      &out,
		Registry: reg.Host(),
		Binary:   manifestPush,
		LookPath: func(string) (string, error) { return "", exec.ErrNotFound },
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	desc, err := imagetest.HeadManifest(ctx, reg.Client(), reg.URL(), demo.Repo, "latest")
	if err != nil || desc.Digest.String() != rep.Digest {
		t.Errorf("helloarch:latest in the given registry = %s, %v; want %s", desc.Digest, err, rep.Digest)
	}
	native := 0
	for _, p := range demo.Platforms {
		if p.OS == "linux" && p.Architecture == runtime.GOARCH {
			native++
		}
	}
	if got := rep.Greeted(); got != native {
		t.Errorf("Greeted() = %d, want %d (the native platform only)\n%s", got, native, out.String())
	}
	if got, want := len(rep.MissingQemu()), 5-native; got != want {
		t.Errorf("MissingQemu() = %q, want %d emulators", rep.MissingQemu(), want)
	}
	if !strings.Contains(out.String(), demo.InstallQemu) {
		t.Errorf("output does not say how to install qemu (%q):\n%s", demo.InstallQemu, out.String())
	}
}

// TestRunFailsOnBadRegistry: a step that fails makes Run fail, and says so.
func TestRunFailsOnBadRegistry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	// Port 1 on loopback: nothing listens there.
	_, err := demo.Run(ctx, demo.Options{Out: &out, Binary: manifestPush, Registry: "127.0.0.1:1"})
	if err == nil {
		t.Fatalf("Run succeeded against a closed port:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "FAILED") {
		t.Errorf("output does not say FAILED:\n%s", out.String())
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	entry := func(name string, p ocispec.Platform) ocispec.Descriptor {
		return ocispec.Descriptor{Digest: digest.FromString(name), Platform: &p}
	}
	var (
		amd64   = entry("amd64", ocispec.Platform{OS: "linux", Architecture: "amd64"})
		i386    = entry("386", ocispec.Platform{OS: "linux", Architecture: "386"})
		armv5   = entry("armv5", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v5"})
		armv6   = entry("armv6", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"})
		armv7   = entry("armv7", ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"})
		arm64   = entry("arm64", ocispec.Platform{OS: "linux", Architecture: "arm64"})
		ltsc19  = entry("ltsc2019", ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.6189"})
		ltsc22  = entry("ltsc2022", ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.2655"})
		noPlat  = ocispec.Descriptor{Digest: digest.FromString("attestation")}
		all     = []ocispec.Descriptor{noPlat, i386, amd64, armv5, armv6, armv7, arm64, ltsc19, ltsc22}
		reverse = []ocispec.Descriptor{ltsc22, ltsc19, arm64, armv7, armv6, armv5, amd64, i386, noPlat}
	)
	tests := []struct {
		name     string
		manifest []ocispec.Descriptor
		p        ocispec.Platform
		want     ocispec.Descriptor
		ok       bool
	}{
		{"amd64 before 386", all, ocispec.Platform{OS: "linux", Architecture: "amd64"}, amd64, true},
		{"amd64 before 386, reversed", reverse, ocispec.Platform{OS: "linux", Architecture: "amd64"}, amd64, true},
		{"amd64 falls back to 386", []ocispec.Descriptor{i386, arm64}, ocispec.Platform{OS: "linux", Architecture: "amd64"}, i386, true},
		{"arm/v7 picks v7", reverse, ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, armv7, true},
		{"arm/v7 falls back to v6", []ocispec.Descriptor{armv5, armv6}, ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, armv6, true},
		{"arm/v6 never picks v7", []ocispec.Descriptor{armv7}, ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, ocispec.Descriptor{}, false},
		{"arm64", all, ocispec.Platform{OS: "linux", Architecture: "arm64"}, arm64, true},
		{"s390x has none", all, ocispec.Platform{OS: "linux", Architecture: "s390x"}, ocispec.Descriptor{}, false},
		{"windows ltsc2019 host", all, ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.1"}, ltsc19, true},
		{"windows ltsc2022 host", all, ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.1"}, ltsc22, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := demo.Select(ocispec.Index{Manifests: tc.manifest}, tc.p)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (got %+v)", ok, tc.ok, got)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Select (-want +got):\n%s", diff)
			}
		})
	}
}
