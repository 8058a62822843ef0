// Package binary builds the manifest-push command from the product module
// (the parent of this integration module), for end-to-end tests, the demo
// and the benchmark. Tests call Build once from TestMain.
package binary

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// ProductModule is the product's module path.
const ProductModule = "github.com/manifest-push/manifest-push"

// Name is the name of the built executable ("manifest-push", plus ".exe" on
// Windows).
func Name() string {
	if runtime.GOOS == "windows" {
		return "manifest-push.exe"
	}
	return "manifest-push"
}

// Options configures Build. The zero value builds a normal binary.
type Options struct {
	// Race builds with the race detector (-race).
	Race bool
	// Cover builds with coverage instrumentation (-cover); the binary then
	// writes coverage data to $GOCOVERDIR when it is set.
	Cover bool
}

// Build runs `go build -o DIR/manifest-push ./cmd/manifest-push` in the
// product module's root and returns the path of the executable. The go
// command's output is part of the error when the build fails.
func Build(ctx context.Context, dir string, opts Options) (string, error) {
	root, err := ProductRoot(ctx)
	if err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Join(dir, Name()))
	if err != nil {
		return "", fmt.Errorf("binary: %w", err)
	}
	args := []string{"build", "-o", out}
	if opts.Race {
		args = append(args, "-race")
	}
	if opts.Cover {
		args = append(args, "-cover")
	}
	args = append(args, "./cmd/manifest-push")
	cmd := exec.CommandContext(ctx, goCommand(), args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("binary: go %s (in %s): %w\n%s", strings.Join(args, " "), root, err, stderr.String())
	}
	return out, nil
}

// ProductRoot returns the directory of the product module: the parent of
// this integration module, found from this source file's location, or else
// asked of the go command (which follows the replace directive).
func ProductRoot(ctx context.Context) (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Join(filepath.Dir(file), "..", "..", "..")
		if isProductRoot(root) {
			return filepath.Clean(root), nil
		}
	}
	cmd := exec.CommandContext(ctx, goCommand(), "list", "-m", "-f", "{{.Dir}}", ProductModule)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("binary: find the product module: %w: %s", err, stderr.String())
	}
	root := strings.TrimSpace(string(out))
	if !isProductRoot(root) {
		return "", errors.New("binary: cannot find the product module's root (run from inside the integration module)")
	}
	return root, nil
}

func isProductRoot(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if fields := strings.Fields(line); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == ProductModule
		}
	}
	return false
}

// goCommand is the go command: the one in $GOROOT/bin when GOROOT is set in
// the environment (as the go command sets it for tests), else "go" from PATH.
func goCommand() string {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}
