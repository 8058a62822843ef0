// Package ship tests what a user installs: the release binaries and their
// checksums (make release), the install script the GitHub Action runs, the
// action's entry point run as a runner runs it, and the docker CLI plugin
// run by the docker client.
package ship

import (
	"bufio"
	"context"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/clitest"
)

// bin is the manifest-push executable built by TestMain (for the action
// and plugin tests); root is the product module.
var bin, root string

func TestMain(m *testing.M) {
	var err error
	if root, err = binary.ProductRoot(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(clitest.Main(m, &bin, binary.Options{}))
}

const version = "v1.2.3"

// wantAssets are the release binaries of version, and the format and
// machine each must be.
var wantAssets = map[string]string{
	"manifest-push_1.2.3_linux_amd64":       "elf x86-64",
	"manifest-push_1.2.3_linux_arm64":       "elf aarch64",
	"manifest-push_1.2.3_linux_armv7":       "elf arm",
	"manifest-push_1.2.3_linux_ppc64le":     "elf ppc64",
	"manifest-push_1.2.3_linux_s390x":       "elf s390",
	"manifest-push_1.2.3_linux_riscv64":     "elf riscv",
	"manifest-push_1.2.3_darwin_amd64":      "macho x86-64",
	"manifest-push_1.2.3_darwin_arm64":      "macho arm64",
	"manifest-push_1.2.3_windows_amd64.exe": "pe x86-64",
	"manifest-push_1.2.3_windows_arm64.exe": "pe arm64",
}

var (
	releaseOnce sync.Once
	releaseDir  string
	releaseOut  string
	releaseErr  error
)

// release runs make release VERSION=v1.2.3 once for the package's tests and
// returns its DIST directory.
func release(t *testing.T) string {
	t.Helper()
	releaseOnce.Do(func() {
		releaseDir, releaseErr = os.MkdirTemp("", "manifest-push-release-")
		if releaseErr != nil {
			return
		}
		cmd := exec.Command("make", "release", "VERSION="+version, "DIST="+releaseDir)
		cmd.Dir = root
		var out []byte
		out, releaseErr = cmd.CombinedOutput()
		releaseOut = string(out)
	})
	if releaseErr != nil {
		t.Fatalf("make release: %v\n%s", releaseErr, releaseOut)
	}
	return releaseDir
}

// sums reads a SHA256SUMS file: asset name → hex digest.
func sums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		out[strings.TrimPrefix(fields[1], "*")] = fields[0]
	}
	return out
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// format tells an executable's format and machine, and whether it is
// static (an ELF without an interpreter).
func format(t *testing.T, path string) (string, bool) {
	t.Helper()
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		static := true
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				static = false
			}
		}
		m := map[elf.Machine]string{elf.EM_X86_64: "x86-64", elf.EM_AARCH64: "aarch64", elf.EM_ARM: "arm", elf.EM_PPC64: "ppc64", elf.EM_S390: "s390", elf.EM_RISCV: "riscv"}[f.Machine]
		return "elf " + m, static
	}
	if f, err := macho.Open(path); err == nil {
		defer f.Close()
		m := map[macho.Cpu]string{macho.CpuAmd64: "x86-64", macho.CpuArm64: "arm64"}[f.Cpu]
		return "macho " + m, true
	}
	if f, err := pe.Open(path); err == nil {
		defer f.Close()
		m := map[uint16]string{pe.IMAGE_FILE_MACHINE_AMD64: "x86-64", pe.IMAGE_FILE_MACHINE_ARM64: "arm64"}[f.Machine]
		return "pe " + m, true
	}
	return "unknown", false
}

func TestRelease(t *testing.T) {
	dist := release(t)
	t.Logf("make release VERSION=%s:\n%s", version, releaseOut)
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	var want []string
	for n := range wantAssets {
		want = append(want, n)
	}
	want = append(want, "SHA256SUMS")
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("dist holds %q\nwant %q", names, want)
	}

	got := sums(t, filepath.Join(dist, "SHA256SUMS"))
	if len(got) != len(wantAssets) {
		t.Errorf("SHA256SUMS lists %d files, want %d", len(got), len(wantAssets))
	}
	for name, kind := range wantAssets {
		path := filepath.Join(dist, name)
		if sum := sha256File(t, path); got[name] != sum {
			t.Errorf("%s: SHA256SUMS says %s, the file is %s", name, got[name], sum)
		}
		k, static := format(t, path)
		if k != kind || !static {
			t.Errorf("%s is %s (static %v), want a static %s", name, k, static, kind)
		}
	}

	// This machine's binary runs and says its version.
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		out, err := exec.Command(filepath.Join(dist, "manifest-push_1.2.3_linux_amd64"), "version").CombinedOutput()
		if err != nil || string(out) != "manifest-push v1.2.3\n" {
			t.Errorf("version: %q, %v", out, err)
		}
	}
}

// ReproducibleEnv, set to "rebuild", makes TestReleaseIsReproducible
// rebuild from an empty build cache even when it has a verdict for the
// same inputs.
const ReproducibleEnv = "MP_REPRODUCIBLE"

// The same source gives the same bytes: built again from a copy of the
// source at another path, with an empty build cache. That rebuild compiles
// the standard library and every dependency three times (about three
// minutes here), so its result, the SHA256SUMS of the clean-room build, is
// kept in the user's cache directory under a hash of everything that can
// change the bytes: the Go version, go.mod, go.sum, scripts/release.sh and
// every non-test file of the product module. While those are unchanged the
// stored sums stand for the clean-room build, and this run's make release
// (from a warm cache, at this path) must still give exactly them;
// MP_REPRODUCIBLE=rebuild rebuilds anyway.
func TestReleaseIsReproducible(t *testing.T) {
	dist := release(t)
	want := sums(t, filepath.Join(dist, "SHA256SUMS"))

	key := inputsHash(t)
	cacheDir, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory for the verdict: %v (set $XDG_CACHE_HOME or $HOME)", err)
	}
	verdict := filepath.Join(cacheDir, "manifest-push", "reproducible", key)
	var got map[string]string
	if _, err := os.Stat(verdict); err == nil && os.Getenv(ReproducibleEnv) != "rebuild" {
		got = sums(t, verdict)
		t.Logf("inputs %s: comparing with the clean-room build of the same inputs kept in %s (%s=rebuild rebuilds)", key[:12], verdict, ReproducibleEnv)
	} else {
		src := filepath.Join(t.TempDir(), "elsewhere", "manifest-push")
		copyTree(t, root, src)
		again := t.TempDir()
		cmd := exec.Command("./scripts/release.sh", version, again)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "TARGETS=linux/arm64 windows/amd64 darwin/arm64", "GOCACHE="+t.TempDir())
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("release.sh: %v\n%s", err, out)
		}
		t.Logf("rebuilt 3 targets with an empty build cache in %s", time.Since(start).Round(time.Second))
		got = sums(t, filepath.Join(again, "SHA256SUMS"))
		defer func() {
			if t.Failed() {
				return
			}
			if err := os.MkdirAll(filepath.Dir(verdict), 0o755); err != nil {
				t.Logf("the verdict is not kept: %v", err)
				return
			}
			b, err := os.ReadFile(filepath.Join(again, "SHA256SUMS"))
			if err == nil {
				err = os.WriteFile(verdict, b, 0o644)
			}
			if err != nil {
				t.Logf("the verdict is not kept: %v", err)
			}
		}()
	}
	if len(got) != 3 {
		t.Fatalf("the rebuild made %d binaries, want 3", len(got))
	}
	for name, sum := range got {
		if want[name] != sum {
			t.Errorf("%s: %s the first time, %s from the copy", name, want[name], sum)
		}
	}
}

// inputsHash hashes what the release binaries are made of: the Go version
// and settings, go.mod, go.sum, scripts/release.sh and the non-test .go
// files of the product module (the product embeds no other files; an
// embed directive would have to be added here).
func inputsHash(t *testing.T) string {
	t.Helper()
	h := sha256.New()
	v, err := exec.Command("go", "env", "GOVERSION", "GOFLAGS", "GOEXPERIMENT").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	fmt.Fprintf(h, "go %s\n", v)
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch {
			case rel == ".git", rel == "integration", rel == "dist", rel == "bin", d.Name() == "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		// What the go command reads for a build (the product embeds no
		// files), and the script that runs it.
		source := strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go")
		if !d.Type().IsRegular() || !(source || rel == "go.mod" || rel == "go.sum" || rel == filepath.Join("scripts", "release.sh")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// copyTree copies the product module's source (not its .git, not the
// integration module, not build outputs) from src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch rel {
			case ".git", "integration", "dist", "bin":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReleaseRefusesAVersionThatIsNot(t *testing.T) {
	dist := t.TempDir()
	for _, v := range []string{"", "1.2.3", "v1.2", "v1.2.3 ; rm -rf /", "latest"} {
		cmd := exec.Command("make", "release", "VERSION="+v, "DIST="+dist)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "is not a release version") {
			t.Errorf("make release VERSION=%q: %v\n%s", v, err, out)
		}
	}
	if entries, _ := os.ReadDir(dist); len(entries) != 0 {
		t.Errorf("a refused release wrote %d files", len(entries))
	}
}
