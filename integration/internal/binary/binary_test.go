package binary_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
)

func TestProductRoot(t *testing.T) {
	t.Parallel()
	root, err := binary.ProductRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "manifest-push")); err != nil {
		t.Errorf("product root %s: %v", root, err)
	}
}

func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the product")
	}
	t.Parallel()
	path, err := binary.Build(context.Background(), t.TempDir(), binary.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != binary.Name() || !filepath.IsAbs(path) {
		t.Errorf("path %s", path)
	}
	// Whatever the product does with --help, it must start.
	out, err := exec.CommandContext(context.Background(), path, "--help").CombinedOutput()
	if err != nil {
		t.Errorf("%s --help: %v\n%s", path, err, out)
	}
}
