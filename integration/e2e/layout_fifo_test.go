//go:build unix

package e2e

// A layout is untrusted input: a named pipe, a device or a symbolic link
// among its files is refused without blocking, with exit 2, a message
// naming the file and nothing written.

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
)

// hangLimit kills a run that blocks: the test then fails, naming the
// case, instead of hanging. It is no measure of speed: a refusal takes
// milliseconds.
const hangLimit = 60 * time.Second

// TestLayoutFIFORefused: a layout directory whose manifest blob, layer
// blob, index.json or oci-layout is a named pipe (nobody writes to it, so
// an open for reading would wait forever), whose blob is a device or a
// symbolic link (to a file of the right bytes outside the layout), or
// whose blobs directory is a symbolic link; a tar archive that is a named
// pipe. Each run exits 2 at once, despite a --timeout far longer than the
// test waits, with a message naming the file, nothing on stdout, and no
// write to the registry.
func TestLayoutFIFORefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("reg/img", "amd64", "linux/amd64")
	img := layoutImage(t, "linux", "arm64")
	manifestHex := imageDigest(t, img).Encoded()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ld, err := layers[1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	layerHex := ld.Hex

	layouts := filepath.Join(e.Dir, "layouts")
	// fresh writes a sound layout of img named name and returns its path.
	fresh := func(name string) string {
		dir := filepath.Join(layouts, name)
		writeLayout(t, dir, []v1.Image{img}, []string{""})
		return dir
	}
	fifo := func(path string) {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// moveOut moves path out of the layout and puts a symbolic link to it
	// in its place: the same bytes, outside the layout.
	moveOut := func(path string) {
		out := filepath.Join(t.TempDir(), filepath.Base(path))
		if err := os.Rename(path, out); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(out, path); err != nil {
			t.Fatal(err)
		}
	}
	blob := func(dir, hex string) string { return filepath.Join(dir, "blobs", "sha256", hex) }

	type tc struct {
		name   string
		source string
		file   string // the file the message names
		says   string
	}
	var cases []tc
	add := func(name, source, file, says string) {
		cases = append(cases, tc{name: name, source: source, file: file, says: says})
	}

	d := fresh("fifo-manifest")
	fifo(blob(d, manifestHex))
	add("manifest blob is a FIFO", "oci-layout:"+d, blob(d, manifestHex), "named pipe")

	d = fresh("fifo-layer")
	fifo(blob(d, layerHex))
	add("layer blob is a FIFO", "oci-layout:"+d, blob(d, layerHex), "named pipe")

	d = fresh("fifo-index")
	fifo(filepath.Join(d, "index.json"))
	add("index.json is a FIFO", "oci-layout:"+d, filepath.Join(d, "index.json"), "named pipe")

	d = fresh("fifo-marker")
	fifo(filepath.Join(d, "oci-layout"))
	add("oci-layout is a FIFO", "oci-layout:"+d, filepath.Join(d, "oci-layout"), "named pipe")

	d = fresh("symlink-blob")
	moveOut(blob(d, manifestHex))
	add("manifest blob is a symlink out of the layout", "oci-layout:"+d, blob(d, manifestHex), "symbolic link")

	d = fresh("symlink-blobs")
	moveOut(filepath.Join(d, "blobs"))
	add("blobs is a symlink out of the layout", "oci-layout:"+d, filepath.Join(d, "blobs"), "symbolic link")

	d = fresh("device")
	p := blob(d, layerHex)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	// The character device of /dev/null (1, 3); only root may make one.
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o644, 1<<8|3); err == nil {
		add("layer blob is a device", "oci-layout:"+d, p, "device")
	} else {
		t.Logf("no device case: mknod: %v (not root)", err)
	}

	tarFIFO := filepath.Join(layouts, "fifo.tar")
	fifo(tarFIFO)
	add("tar archive is a FIFO", "oci-layout:"+tarFIFO, tarFIFO, "named pipe")

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			spec := "image: ${REG}/target/fifo:1.0\nmanifests:\n  - image: ${REG}/reg/img:amd64\n  - image: " + c.source + "\n"
			path := e.WriteFile(strings.ReplaceAll(c.name, " ", "-")+".yaml", spec)
			// clitest.Run with this subtest's t: a run killed at hangLimit
			// fails this case.
			r := clitest.Run(t, bin, clitest.RunOptions{Home: e.Dir, Env: []string{"REG=" + e.Host()}, Timeout: hangLimit},
				"--plain-http", "--timeout", "10m", "from-spec", path)
			clitest.WantCode(t, r, 2)
			clitest.WantStderr(t, r, c.file+":", c.says)
			if r.Stdout != "" {
				t.Errorf("stdout: %q, want nothing", r.Stdout)
			}
		})
	}
	t.Cleanup(func() {
		if n := e.Proxy.Writes(); n != 0 {
			t.Errorf("%d writes through the proxy, want none\n%s", n, clitest.Requests(e.Proxy))
		}
		if tags := e.tags("target/fifo"); tags != nil {
			t.Errorf("target/fifo has tags %v, want no repository", tags)
		}
	})
}
