package demo_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
)

// The install step of make demo and make test (scripts/test-deps.sh), run
// with stand-ins for id, uname and apt-get on PATH (and nothing else from
// the machine's PATH but the few programs the scripts use), so that what
// the scripts run, and say, shows without installing anything: a stand-in
// apt-get writes its arguments to a log and, asked to install, puts
// stand-in emulators on PATH.

// depsEnv is a directory of stand-in programs.
type depsEnv struct {
	t   *testing.T
	bin string // the PATH of the scripts
	log string // what apt-get was asked, one line a call
	// root is a copy of the product's scripts/ (and an empty integration/),
	// for demo.sh, which compiles and writes relative to where it is.
	root string
	// home is HOME; goLog is what go was asked to install.
	home, goLog string
}

// newDepsEnv makes the stand-ins: id says uid, uname -m says x86_64;
// apt-get fails when aptFails. present are emulators already installed.
func newDepsEnv(t *testing.T, uid string, aptFails bool, present ...string) *depsEnv {
	return newDepsEnvTools(t, uid, aptFails, false, present...)
}

// newDepsEnvTools is newDepsEnv; toolsMissing leaves out of the user's
// cache the programs test-deps.sh builds with Go (cosign, oras).
func newDepsEnvTools(t *testing.T, uid string, aptFails, toolsMissing bool, present ...string) *depsEnv {
	t.Helper()
	dir := t.TempDir()
	e := &depsEnv{t: t, bin: filepath.Join(dir, "bin"), log: filepath.Join(dir, "apt-get.log"), root: filepath.Join(dir, "product")}
	for _, d := range []string{e.bin, filepath.Join(e.root, "scripts"), filepath.Join(e.root, "integration")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The programs the scripts run besides the stand-ins: the machine's.
	for _, name := range []string{"date", "mkdir", "sleep", "dirname"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.Symlink(p, filepath.Join(e.bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	chmod, err := exec.LookPath("chmod")
	if err != nil {
		t.Fatal(err)
	}
	fail := ""
	if aptFails {
		fail = "exit 100"
	}
	e.script("id", `[ "$1" = -u ] && echo `+uid)
	e.script("uname", `[ "$1" = -m ] && echo x86_64`)
	e.script("apt-get", `echo "$*" >>`+e.log+`
`+fail+`
case "$*" in *install*qemu-user-static*)
	for a in x86_64 aarch64 arm ppc64le s390x; do printf '#!/bin/sh\n' >`+e.bin+`/qemu-$a-static; `+chmod+` +x `+e.bin+`/qemu-$a-static; done;;
esac`)
	for _, p := range present {
		e.script(p, "exit 0")
	}
	// A go that cannot compile: demo.sh stops there, after its install
	// step. What test-deps.sh installs with it (go install PKG@VERSION into
	// GOBIN) is noted in go.log and left there as an empty executable.
	e.goLog = filepath.Join(dir, "go.log")
	e.script("go", `case "$1" in
install) echo "GOBIN=$GOBIN CGO_ENABLED=$CGO_ENABLED $*" >>`+e.goLog+`; p=${2%@*}; n=${p##*/}; printf '#!/bin/sh\n' >"$GOBIN/$n"; `+chmod+` +x "$GOBIN/$n";;
*) echo "go $*"; exit 3;;
esac`)
	e.home = filepath.Join(dir, "home")
	if !toolsMissing {
		// The tools test-deps.sh builds with Go are there already.
		for _, tool := range []string{"cosign-v2.6.5/cosign", "oras-v1.3.6/oras"} {
			path := filepath.Join(e.home, ".cache", "manifest-push", "tools", tool)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}

	root, err := binary.ProductRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"test-deps.sh", "demo.sh"} {
		data, err := os.ReadFile(filepath.Join(root, "scripts", s))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.root, "scripts", s), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *depsEnv) script(name, body string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		e.t.Fatal(err)
	}
}

// run runs scripts/NAME with args under /bin/sh and returns its exit code
// and what it printed (stdout and stderr together, in order).
func (e *depsEnv) run(name string, args ...string) (int, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound on a hang, not a measure
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{filepath.Join(e.root, "scripts", name)}, args...)...)
	cmd.Env = []string{"PATH=" + e.bin, "HOME=" + e.home}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exit) && exit.Exited():
		return exit.ExitCode(), out.String()
	default:
		e.t.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
		return 0, ""
	}
}

// aptCalls is what apt-get was asked, one call a line.
func (e *depsEnv) aptCalls() []string {
	e.t.Helper()
	data, err := os.ReadFile(e.log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

const (
	aptUpdate   = "update -qq"
	aptQemu     = "install -y -qq --no-install-recommends qemu-user-static"
	aptTestDeps = "install -y -qq --no-install-recommends qemu-user-static skopeo zsh fish"
)

// TestDemoInstallsQemuAsRoot: make demo as root with apt-get installs
// qemu-user-static first, saying so and how long it takes, so that every
// linux platform is greeted, then compiles the demo; only the emulators,
// not the test programs.
func TestDemoInstallsQemuAsRoot(t *testing.T) {
	t.Parallel()
	e := newDepsEnv(t, "0", false)
	code, out := e.run("demo.sh")
	if code != 3 {
		t.Errorf("demo.sh exit %d, want 3 (the stand-in go's)\n%s", code, out)
	}
	if got, want := e.aptCalls(), []string{aptUpdate, aptQemu}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("apt-get was asked %q, want %q\n%s", got, want, out)
	}
	install, compile := strings.Index(out, "==> Install qemu-user-static"), strings.Index(out, "==> Compile the demo")
	if install < 0 || compile < install || !strings.Contains(out, "about 20 s") || !strings.Contains(out, "all five Linux platforms") {
		t.Errorf("demo.sh does not say it installs qemu-user-static (about 20 s, for all five Linux platforms) before it compiles:\n%s", out)
	}
}

// TestDemoWithoutRoot: not root, make demo installs nothing and says
// nothing about it before compiling: the demo itself says, at its end, the
// one command to run (demo.InstallQemu).
func TestDemoWithoutRoot(t *testing.T) {
	t.Parallel()
	e := newDepsEnv(t, "1000", false)
	code, out := e.run("demo.sh")
	if code != 3 {
		t.Errorf("demo.sh exit %d, want 3 (the stand-in go's)\n%s", code, out)
	}
	if calls := e.aptCalls(); calls != nil {
		t.Errorf("apt-get was asked %q, want nothing", calls)
	}
	if !strings.HasPrefix(out, "==> Compile the demo") {
		t.Errorf("demo.sh says something before it compiles:\n%s", out)
	}
}

// TestDemoQemuStep: the install step alone (test-deps.sh --demo): nothing
// to do when the emulators are there (the native platform's is not
// needed); when apt-get fails, it says so and the demo goes on (exit 0).
func TestDemoQemuStep(t *testing.T) {
	t.Parallel()
	t.Run("emulators present", func(t *testing.T) {
		t.Parallel()
		e := newDepsEnv(t, "0", false, "qemu-aarch64-static", "qemu-arm-static", "qemu-ppc64le", "qemu-s390x-static")
		code, out := e.run("test-deps.sh", "--demo")
		if code != 0 || out != "" || e.aptCalls() != nil {
			t.Errorf("exit %d, apt-get asked %q, output %q; want 0, nothing, nothing", code, e.aptCalls(), out)
		}
	})
	t.Run("one emulator missing", func(t *testing.T) {
		t.Parallel()
		e := newDepsEnv(t, "0", false, "qemu-aarch64-static", "qemu-arm-static", "qemu-ppc64le")
		code, out := e.run("test-deps.sh", "--demo")
		if got := e.aptCalls(); code != 0 || strings.Join(got, "\n") != aptUpdate+"\n"+aptQemu {
			t.Errorf("exit %d, apt-get asked %q; want 0, update and install qemu-user-static\n%s", code, got, out)
		}
	})
	t.Run("apt-get fails", func(t *testing.T) {
		t.Parallel()
		e := newDepsEnv(t, "0", true)
		code, out := e.run("test-deps.sh", "--demo")
		if code != 0 || !strings.Contains(out, "could not install qemu-user-static") {
			t.Errorf("exit %d, want 0 and a line saying the install failed\n%s", code, out)
		}
	})
}

// TestTestDeps: make test's first step, which shares the install with the
// demo's: as root, every missing test program is installed, saying so; not
// root, it stops with the one command to run.
func TestTestDeps(t *testing.T) {
	t.Parallel()
	t.Run("root", func(t *testing.T) {
		t.Parallel()
		e := newDepsEnv(t, "0", false)
		code, out := e.run("test-deps.sh")
		if got := e.aptCalls(); code != 0 || strings.Join(got, "\n") != aptUpdate+"\n"+aptTestDeps {
			t.Errorf("exit %d, apt-get asked %q; want 0, update and %q\n%s", code, got, aptTestDeps, out)
		}
		if !strings.Contains(out, "installing qemu-user-static skopeo zsh fish with apt-get") {
			t.Errorf("test-deps.sh does not say what it installs:\n%s", out)
		}
	})
	t.Run("not root", func(t *testing.T) {
		t.Parallel()
		e := newDepsEnv(t, "1000", false)
		code, out := e.run("test-deps.sh")
		if code != 1 || e.aptCalls() != nil || !strings.Contains(out, "    sudo apt-get install -y --no-install-recommends qemu-user-static skopeo zsh fish\n") {
			t.Errorf("exit %d, apt-get asked %q; want 1, nothing, and the command to run\n%s", code, e.aptCalls(), out)
		}
	})
	t.Run("tools missing", func(t *testing.T) {
		t.Parallel()
		e := newDepsEnvTools(t, "1000", false, true, "qemu-aarch64-static", "skopeo", "zsh", "fish")
		code, out := e.run("test-deps.sh")
		tools := filepath.Join(e.home, ".cache", "manifest-push", "tools")
		want := []string{
			"GOBIN=" + tools + "/cosign-v2.6.5 CGO_ENABLED=0 install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5",
			"GOBIN=" + tools + "/oras-v1.3.6 CGO_ENABLED=0 install oras.land/oras/cmd/oras@v1.3.6",
		}
		data, _ := os.ReadFile(e.goLog)
		if got := strings.Split(strings.TrimSpace(string(data)), "\n"); code != 0 || !slices.Equal(got, want) || e.aptCalls() != nil {
			t.Errorf("exit %d, go asked %q, apt-get %q; want 0, %q, nothing\n%s", code, got, e.aptCalls(), want, out)
		}
		if !strings.Contains(out, "test-deps: building cosign v2.6.5 once into "+tools+"/cosign-v2.6.5") {
			t.Errorf("test-deps.sh does not say what it builds:\n%s", out)
		}
		// Built once: the next run builds nothing.
		if code, out := e.run("test-deps.sh"); code != 0 || out != "" {
			t.Errorf("second run: exit %d, output %q; want 0, nothing", code, out)
		}
	})
	t.Run("all there", func(t *testing.T) {
		t.Parallel()
		e := newDepsEnv(t, "0", false, "qemu-aarch64-static", "skopeo", "zsh", "fish")
		code, out := e.run("test-deps.sh")
		if code != 0 || out != "" || e.aptCalls() != nil {
			t.Errorf("exit %d, apt-get asked %q, output %q; want 0, nothing, nothing", code, e.aptCalls(), out)
		}
	})
}
