package selfimage_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-cmp/cmp"
	"github.com/manifest-push/manifest-push/integration/internal/cosigntest"
	"github.com/manifest-push/manifest-push/integration/internal/crossimage"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/integration/internal/selfimage"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestRun publishes manifest-push's image on the embedded registry with all
// five platforms (-short: this machine's and arm64 only), then checks the
// index, each image's config and layer, runs the binary of this machine's
// platform out of its image, and the credential helpers and cosign inside
// it, and reruns: same digest.
func TestRun(t *testing.T) {
	reg, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	// Two platforms: this machine's, whose binaries run, and arm/v7, the
	// one with a variant (GOARM). The five of DefaultPlatforms, with their
	// credential helpers, cost four times the builds for the same code
	// paths (make release builds manifest-push for all of them, and the
	// ship tests check those): MP_SELFIMAGE_ALL=1 builds them all here too.
	plats := []ocispec.Platform{{OS: "linux", Architecture: runtime.GOARCH}, {OS: "linux", Architecture: "arm", Variant: "v7"}}
	if os.Getenv("MP_SELFIMAGE_ALL") == "1" {
		plats = selfimage.DefaultPlatforms
	}
	// The builds are kept in the user's cache directory: the go command
	// then skips linking what is up to date, on the rerun below and on the
	// next make test.
	cacheDir, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory for the builds: %v (set $XDG_CACHE_HOME or $HOME)", err)
	}
	// A release version: tagged 1.2.3, 1.2, 1 and latest (ImageTags), as
	// the CI examples expect to pull :1.
	const version = "v1.2.3"
	const tag = "1.2.3"
	var out bytes.Buffer
	opts := selfimage.Options{
		Out:       &out,
		Registry:  reg.Host(),
		Version:   version,
		Platforms: plats,
		BuildDir:  filepath.Join(cacheDir, "manifest-push", "selfimage-test"),
	}
	res, err := selfimage.Run(ctx, opts)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if got, want := res.Target, reg.Host()+"/manifest-push:"+tag; got != want {
		t.Errorf("Target = %q, want %q", got, want)
	}

	client, base := reg.Client(), reg.URL()
	for _, tag := range []string{tag, "1.2", "1", "latest"} {
		desc, err := imagetest.HeadManifest(ctx, client, base, "manifest-push", tag)
		if err != nil {
			t.Fatalf("tag %s: %v", tag, err)
		}
		if desc.Digest.String() != res.Digest {
			t.Errorf("tag %s points at %s, want %s", tag, desc.Digest, res.Digest)
		}
	}
	mediaType, body, _, err := imagetest.GetManifest(ctx, client, base, "manifest-push", tag)
	if err != nil {
		t.Fatal(err)
	}
	if mediaType != ocispec.MediaTypeImageIndex {
		t.Errorf("index media type %q, want %q", mediaType, ocispec.MediaTypeImageIndex)
	}
	var index ocispec.Index
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatal(err)
	}
	if got := index.Annotations["org.opencontainers.image.version"]; got != version {
		t.Errorf("index version annotation %q, want %q", got, version)
	}
	var got, want []string
	for _, p := range plats {
		want = append(want, platforms.Format(p))
	}
	for _, m := range index.Manifests {
		if m.Platform == nil {
			t.Fatalf("entry %s without platform", m.Digest)
		}
		got = append(got, platforms.Format(*m.Platform))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("index platforms (-want +got):\n%s", diff)
	}

	for _, m := range index.Manifests {
		name := platforms.Format(*m.Platform)
		_, body, _, err := imagetest.GetManifest(ctx, client, base, "manifest-push", m.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		var manifest ocispec.Manifest
		if err := json.Unmarshal(body, &manifest); err != nil {
			t.Fatal(err)
		}
		raw, err := imagetest.GetBlob(ctx, client, base, "manifest-push", manifest.Config.Digest)
		if err != nil {
			t.Fatal(err)
		}
		var config ocispec.Image
		if err := json.Unmarshal(raw, &config); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(*m.Platform, config.Platform); diff != "" {
			t.Errorf("%s: config platform (-index +config):\n%s", name, diff)
		}
		if diff := cmp.Diff([]string{selfimage.BinaryPath}, config.Config.Entrypoint); diff != "" {
			t.Errorf("%s: entrypoint (-want +got):\n%s", name, diff)
		}
		if config.Config.User != selfimage.User {
			t.Errorf("%s: user %q, want %q", name, config.Config.User, selfimage.User)
		}
		if len(manifest.Layers) != 1 {
			t.Fatalf("%s: %d layers, want 1", name, len(manifest.Layers))
		}
		layer, err := imagetest.GetBlob(ctx, client, base, "manifest-push", manifest.Layers[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range selfimage.CredentialHelpers {
			if _, mode, err := crossimage.ReadFile(layer, selfimage.HelperPath(h.Name)); err != nil || mode&0o111 == 0 {
				t.Errorf("%s: credential helper %s: mode %o, %v; want an executable", name, selfimage.HelperPath(h.Name), mode, err)
			}
		}
		if _, mode, err := crossimage.ReadFile(layer, selfimage.CosignPath); err != nil || mode&0o111 == 0 {
			t.Errorf("%s: %s: mode %o, %v; want an executable", name, selfimage.CosignPath, mode, err)
		}
		exe, mode, err := crossimage.ReadFile(layer, selfimage.BinaryPath)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if mode&0o111 == 0 {
			t.Errorf("%s: %s has mode %o, not executable", name, selfimage.BinaryPath, mode)
		}
		if runtime.GOOS != "linux" || m.Platform.Architecture != runtime.GOARCH {
			continue
		}
		// This machine's binary, out of its image: it runs and knows its version.
		path := filepath.Join(t.TempDir(), "manifest-push")
		if err := os.WriteFile(path, exe, 0o755); err != nil {
			t.Fatal(err)
		}
		v, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
		if err != nil || !strings.Contains(string(v), version) {
			t.Errorf("%s --version = %q, %v; want it to name %s", name, v, err, version)
		}
		// Each credential helper runs inside the image's file system (the
		// layer unpacked, chroot into it: the image has nothing but what
		// the layer holds) and says its version.
		rootfs := unpack(t, layer)
		for _, h := range selfimage.CredentialHelpers {
			cmd := exec.CommandContext(ctx, "chroot", rootfs, selfimage.HelperPath(h.Name), h.Version)
			cmd.Env = []string{"PATH=/usr/local/bin", "HOME=/"}
			out, err := cmd.CombinedOutput()
			if err != nil || len(strings.TrimSpace(string(out))) == 0 {
				t.Errorf("%s: chroot %s %s %s: %v\n%s", name, rootfs, selfimage.HelperPath(h.Name), h.Version, err, out)
				continue
			}
			t.Logf("%s in the image: %s", selfimage.HelperPath(h.Name), strings.TrimSpace(string(out)))
		}
		// cosign, the signer --sign runs by default, runs there too (found
		// on the image's PATH) and is the version signers/go.mod pins, the
		// one the signing tests run.
		cmd := exec.CommandContext(ctx, "chroot", rootfs, "cosign", "version")
		cmd.Env = []string{"PATH=/usr/local/bin", "HOME=/"}
		out, err := cmd.CombinedOutput()
		if want := regexp.MustCompile(`(?m)^GitVersion:\s+` + regexp.QuoteMeta(cosigntest.Version) + `$`); err != nil || !want.Match(out) {
			t.Errorf("%s: chroot %s cosign version: %v; want a GitVersion line %s:\n%s", name, rootfs, err, cosigntest.Version, out)
		} else {
			t.Logf("%s in the image: %s", selfimage.CosignPath, want.Find(out))
		}
	}

	// A rerun publishes the same bytes: same digest, nothing updated. It
	// packs the executables just built (building them again is what
	// integration/ship's reproducibility test checks).
	out.Reset()
	opts.ReuseBuilds = true
	again, err := selfimage.Run(ctx, opts)
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, out.String())
	}
	if again.Digest != res.Digest {
		t.Errorf("rerun digest %s, first %s", again.Digest, res.Digest)
	}
	if strings.Contains(out.String(), "updated") {
		t.Errorf("rerun updated a tag:\n%s", out.String())
	}
}

func TestImageTags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version, tag string
		extra        []string
	}{
		{"v1.2.3", "1.2.3", []string{"1.2", "1", "latest"}},
		{"1.2.3", "1.2.3", []string{"1.2", "1", "latest"}},
		{"v0.10.0", "0.10.0", []string{"0.10", "0", "latest"}},
		{"v1.2.3-rc.1", "1.2.3-rc.1", []string{}},
		{"v1.2.3-4-gabcdef0-dirty", "1.2.3-4-gabcdef0-dirty", []string{}},
		{"abcdef0", "abcdef0", []string{}},
		{"dev", "dev", []string{}},
		{"v01.2.3", "v01.2.3", []string{}},
	} {
		tag, extra := selfimage.ImageTags(tc.version)
		if tag != tc.tag || !slices.Equal(extra, tc.extra) {
			t.Errorf("ImageTags(%q) = %q %q, want %q %q", tc.version, tag, extra, tc.tag, tc.extra)
		}
	}
}

// TestRunRefusesWindows: only linux images can be built without a base
// image, and the refusal comes before anything is built or pushed.
func TestRunRefusesWindows(t *testing.T) {
	t.Parallel()
	_, err := selfimage.Run(context.Background(), selfimage.Options{
		Registry:  "127.0.0.1:1",
		Platforms: []ocispec.Platform{{OS: "windows", Architecture: "amd64"}},
	})
	if err == nil || !strings.Contains(err.Error(), "only linux") {
		t.Fatalf("err = %v, want a refusal of windows", err)
	}
}

// unpack writes a gzip-compressed tar layer's files into a new directory,
// for chroot (which needs root: make test runs as root, as CI does).
func unpack(t *testing.T, layer []byte) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("running the credential helpers inside the image's file system needs chroot, which needs root: run make test as root (sudo make test), as CI does")
	}
	dir := t.TempDir()
	gz, err := gzip.NewReader(bytes.NewReader(layer))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("layer entry %q outside the root", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, os.FileMode(h.Mode)&0o777); err != nil {
				t.Fatal(err)
			}
		}
	}
}
