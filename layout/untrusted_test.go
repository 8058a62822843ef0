//go:build unix

package layout_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/manifest-push/manifest-push/layout"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestOpenRefusesWhatIsNotARegularFile: a named pipe, a device or a
// symbolic link in a layout directory (oci-layout, index.json, a blob,
// blobs/ itself) is refused at once, wrapping ErrInvalid and naming the
// file; so is a tar archive that is a named pipe. Nothing waits on a pipe
// nobody writes to (a blocked open would hang the test, not fail it).
func TestOpenRefusesWhatIsNotARegularFile(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{}
	img := newImage(t, files, "linux", "amd64", []byte("layer"))
	ctx := context.Background()
	fifo := func(t *testing.T, p string) {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	symlinkOut := func(t *testing.T, p string) {
		out := filepath.Join(t.TempDir(), filepath.Base(p))
		if err := os.Rename(p, out); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(out, p); err != nil {
			t.Fatal(err)
		}
	}
	blobFile := func(dir string, d ocispec.Descriptor) string {
		return filepath.Join(dir, "blobs", "sha256", d.Digest.Encoded())
	}
	for _, tc := range []struct {
		name string
		// damage changes the layout dir and returns the file the error
		// must name, and what it must say.
		damage func(t *testing.T, dir string) (string, string)
		// open: the damage shows at Open; otherwise at reading the blob.
		open bool
	}{
		{"oci-layout a FIFO", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "oci-layout")
			fifo(t, p)
			return p, "a named pipe (FIFO), not a regular file"
		}, true},
		{"index.json a FIFO", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "index.json")
			fifo(t, p)
			return p, "a named pipe (FIFO), not a regular file"
		}, true},
		{"manifest a FIFO", func(t *testing.T, dir string) (string, string) {
			p := blobFile(dir, img.manifest)
			fifo(t, p)
			return p, "a named pipe (FIFO), not a regular file"
		}, false},
		{"index.json a symlink", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "index.json")
			symlinkOut(t, p)
			return p, "a symbolic link, not a regular file"
		}, true},
		{"manifest a symlink out of the layout", func(t *testing.T, dir string) (string, string) {
			p := blobFile(dir, img.manifest)
			symlinkOut(t, p)
			return p, "a symbolic link, not a regular file"
		}, false},
		{"manifest a symlink inside the layout", func(t *testing.T, dir string) (string, string) {
			p := blobFile(dir, img.manifest)
			if err := os.Rename(p, filepath.Join(dir, "elsewhere")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../../elsewhere", p); err != nil {
				t.Fatal(err)
			}
			return p, "a symbolic link, not a regular file"
		}, false},
		{"blobs a symlink", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "blobs")
			symlinkOut(t, p)
			return p, "a symbolic link, not a directory"
		}, false},
		{"manifest a directory", func(t *testing.T, dir string) (string, string) {
			p := blobFile(dir, img.manifest)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return p, "a directory, not a regular file"
		}, false},
		{"manifest a device", func(t *testing.T, dir string) (string, string) {
			p := blobFile(dir, img.manifest)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mknod(p, syscall.S_IFCHR|0o644, 1<<8|3); err != nil {
				t.Skipf("mknod: %v (only root makes devices)", err)
			}
			return p, "a device, not a regular file"
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeLayout(t, files, []ocispec.Descriptor{img.manifest})
			file, says := tc.damage(t, dir)
			l, err := layout.Open(ctx, dir)
			if !tc.open {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer func() {
					if err := l.Close(); err != nil {
						t.Error(err)
					}
				}()
				_, err = l.Resolve(ctx, "")
			} else if err == nil {
				t.Fatalf("Open succeeded: %v", l.Close())
			}
			if !errors.Is(err, layout.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range []string{file + ":", says} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}

	t.Run("tar archive a FIFO", func(t *testing.T) {
		t.Parallel()
		p := filepath.Join(t.TempDir(), "layout.tar")
		fifo(t, p)
		l, err := layout.Open(ctx, p)
		if err == nil {
			t.Fatalf("Open succeeded: %v", l.Close())
		}
		if !errors.Is(err, layout.ErrInvalid) || !strings.Contains(err.Error(), p+":") || !strings.Contains(err.Error(), "a named pipe (FIFO)") {
			t.Errorf("error %q, want ErrInvalid naming %s as a named pipe", err, p)
		}
	})
}

// TestOpenHonoursContext: Open with a context that has ended reads
// nothing and returns the context's error, for a directory and a tar
// archive.
func TestOpenHonoursContext(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{}
	img := newImage(t, files, "linux", "amd64", []byte("layer"))
	dir := writeLayout(t, files, []ocispec.Descriptor{img.manifest})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, p := range map[string]string{"directory": dir, "tar": tarLayout(t, dir, "./")} {
		l, err := layout.Open(ctx, p)
		if !errors.Is(err, context.Canceled) {
			if err == nil {
				err = l.Close()
			}
			t.Errorf("%s: Open with an ended context: %v, want context.Canceled", name, err)
		}
	}
}
