package e2e

// The acceptance tests of OCI layout sources (oci-layout:PATH[:TAG|@DIGEST]):
// an index made of a layout directory written by go-containerregistry's
// layout package, a tar archive of another (as `tar -C dir -cf x.tar .`
// writes it, entries starting with "./"), and a registry image; and a
// layout that cannot be used, each refused before any write.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
)

// layoutImage is a random image of two layers whose config says os/arch.
func layoutImage(t *testing.T, os, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// writeLayout writes the images into a new OCI layout directory with
// go-containerregistry's layout package, each tagged with the
// org.opencontainers.image.ref.name given beside it ("" for no tag).
func writeLayout(t *testing.T, dir string, imgs []v1.Image, tags []string) {
	t.Helper()
	p, err := ggcrlayout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range imgs {
		var opts []ggcrlayout.Option
		if tags[i] != "" {
			opts = append(opts, ggcrlayout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: tags[i]}))
		}
		if err := p.AppendImage(img, opts...); err != nil {
			t.Fatal(err)
		}
	}
}

// tarDir writes dir as a tar archive at out, entries named "./NAME" with
// their directories, as `tar -C dir -cf out .` does.
func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := "./" + filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "." {
				name = "./"
			} else {
				name += "/"
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755})
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fileHashes hashes every file under root, with its mode and modification
// time: equal before and after a push shows nothing was written there.
func fileHashes(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum := ""
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(data)
			sum = hex.EncodeToString(h[:])
		}
		out[p] = fi.Mode().String() + " " + fi.ModTime().UTC().String() + " " + sum
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantSameFiles(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: %s changed: %s -> %q", what, k, v, after[k])
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s: %s was created", what, k)
		}
	}
}

func imageDigest(t *testing.T, img v1.Image) digest.Digest {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return digest.Digest(h.String())
}

const layoutSpec = `image: ${REG}/target/hello:1.0
tags: [latest]
manifests:
  - image: ${REG}/reg/img:amd64
    platform: {os: linux, architecture: amd64}
  - image: oci-layout:layouts/arm64
  - image: oci-layout:layouts/s390x.tar:v1
`

// TestLayoutSources: an index of three platforms, one from a registry, one
// from a layout directory, one from a tar archive of a layout, pushed to the
// embedded registry; crane and skopeo pull each platform from it; the
// layouts are unchanged; a rerun writes nothing.
func TestLayoutSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64 := e.image("reg/img", "amd64", "linux/amd64")

	arm64 := layoutImage(t, "linux", "arm64")
	writeLayout(t, filepath.Join(e.Dir, "layouts", "arm64"), []v1.Image{arm64}, []string{""})
	s390x := layoutImage(t, "linux", "s390x")
	other := layoutImage(t, "linux", "ppc64le")
	tarSrc := t.TempDir()
	writeLayout(t, tarSrc, []v1.Image{other, s390x}, []string{"other", "v1"})
	tarDir(t, tarSrc, filepath.Join(e.Dir, "layouts", "s390x.tar"))

	layouts := filepath.Join(e.Dir, "layouts")
	before := fileHashes(t, layouts)
	path := e.WriteFile("hello.yaml", layoutSpec)

	r := e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)
	dgst, _ := digestLine(t, r)
	p := e.index("target/hello", "1.0")
	if p.digest != dgst {
		t.Errorf("target/hello:1.0 is %s, the Digest line says %s", p.digest, dgst)
	}
	if got := e.TagDigest("target/hello", "latest"); got != dgst {
		t.Errorf("target/hello:latest is %s, want %s", got, dgst)
	}
	want := map[string]digest.Digest{
		"linux/amd64": amd64.Digest,
		"linux/arm64": imageDigest(t, arm64),
		"linux/s390x": imageDigest(t, s390x),
	}
	if len(p.index.Manifests) != 3 {
		t.Fatalf("%d entries, want 3\n%s", len(p.index.Manifests), p.body)
	}
	for name, d := range want {
		e.hasImage("target/hello", d)
		got, ok := selectFor(p.index, plat(t, name))
		if !ok || got.Digest != d {
			t.Errorf("containerd picks %v for %s, want %s\n%s", got.Digest, name, d, p.body)
		}
	}
	wantSameFiles(t, "the layouts after the push", before, fileHashes(t, layouts))

	// crane, in-process, pulls each platform from the pushed index.
	ref := e.Registry.URL()[len("http://"):] + "/target/hello:1.0"
	for name, d := range want {
		pl, err := v1.ParsePlatform(name)
		if err != nil {
			t.Fatal(err)
		}
		img, err := crane.Pull(ref, crane.Insecure, crane.WithPlatform(pl))
		if err != nil {
			t.Fatalf("crane pull --platform %s %s: %v", name, ref, err)
		}
		if got := imageDigest(t, img); got != d {
			t.Errorf("crane pulls %s for %s, want %s", got, name, d)
		}
		if err := crane.Export(img, nopWriter{}); err != nil {
			t.Errorf("crane export of %s (every layer read and verified): %v", name, err)
		}
	}

	// skopeo, another client, copies each platform out of it.
	bin := skopeo(t)
	for name, d := range want {
		pl := plat(t, name)
		dir := t.TempDir()
		cmd := exec.Command(bin, "--tmpdir", t.TempDir(), "--override-os", pl.OS, "--override-arch", pl.Architecture,
			"copy", "--src-tls-verify=false", "docker://"+e.ref("target/hello:1.0"), "dir:"+dir)
		cmd.Env = append(os.Environ(), "REGISTRY_AUTH_FILE="+e.Dir+"/auth.json")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy %s: %v\n%s", name, err, out)
		}
		m, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got := digest.FromBytes(m); got != d {
			t.Errorf("skopeo copies %s for %s, want %s", got, name, d)
		}
	}

	// A rerun writes nothing.
	e.Proxy.Reset()
	r = e.run("--plain-http", "from-spec", path)
	clitest.WantCode(t, r, 0)
	e.wantNoWrites(r)
	if d2, _ := digestLine(t, r); d2 != dgst {
		t.Errorf("the rerun gives %s, the push gave %s", d2, dgst)
	}
	wantSameFiles(t, "the layouts after the rerun", before, fileHashes(t, layouts))
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// TestLayoutSourceArgs: a layout source given as a from-args argument and
// through --template, relative to the working directory.
func TestLayoutSourceArgs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64 := layoutImage(t, "linux", "amd64")
	arm64 := layoutImage(t, "linux", "arm64")
	writeLayout(t, filepath.Join(e.Dir, "out", "linux-amd64"), []v1.Image{amd64}, []string{"1.0"})
	writeLayout(t, filepath.Join(e.Dir, "out", "linux-arm64"), []v1.Image{arm64}, []string{"1.0"})

	r := e.runWith(clitest.RunOptions{Dir: e.Dir}, "--plain-http", "from-args", "--platforms", "linux/amd64,linux/arm64",
		"--template", "oci-layout:out/OS-ARCH:1.0", "--target", e.ref("target/tmpl:1"))
	clitest.WantCode(t, r, 0)
	p := e.index("target/tmpl", "1")
	for name, d := range map[string]digest.Digest{"linux/amd64": imageDigest(t, amd64), "linux/arm64": imageDigest(t, arm64)} {
		if got, ok := selectFor(p.index, plat(t, name)); !ok || got.Digest != d {
			t.Errorf("%s: %v, want %s\n%s", name, got.Digest, d, p.body)
		}
		e.hasImage("target/tmpl", d)
	}

	r = e.runWith(clitest.RunOptions{Dir: e.Dir}, "--plain-http", "from-args", "--target", e.ref("target/args:1"),
		"oci-layout:out/linux-arm64", "oci-layout:out/linux-amd64@"+imageDigest(t, amd64).String())
	clitest.WantCode(t, r, 0)
	if got := e.index("target/args", "1"); len(got.index.Manifests) != 2 {
		t.Errorf("from-args with two layout arguments: %s", got.body)
	}
}

// TestLayoutSourceErrors: a layout holding two images named by no tag, a
// missing path, a tag the layout does not have and a corrupted layer each
// fail with the exit code of the README, an error naming the file, and
// nothing written (nor any write to the layout).
func TestLayoutSourceErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.image("reg/img", "amd64", "linux/amd64")

	layouts := filepath.Join(e.Dir, "layouts")
	two := filepath.Join(layouts, "two")
	writeLayout(t, two, []v1.Image{layoutImage(t, "linux", "arm64"), layoutImage(t, "linux", "s390x")}, []string{"", ""})

	corrupt := filepath.Join(layouts, "corrupt")
	img := layoutImage(t, "linux", "arm64")
	writeLayout(t, corrupt, []v1.Image{img}, []string{""})
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ld, err := layers[1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	layerFile := filepath.Join(corrupt, "blobs", ld.Algorithm, ld.Hex)
	data, err := os.ReadFile(layerFile)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff // same size, other bytes
	if err := os.WriteFile(layerFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	corruptTar := filepath.Join(layouts, "corrupt.tar")
	tarDir(t, corrupt, corruptTar)

	before := fileHashes(t, layouts)
	for _, tc := range []struct {
		name   string
		source string
		code   int
		stderr []string
	}{
		{"two images, no tag", "oci-layout:layouts/two", 2, []string{filepath.Join(two, "index.json"), "holds 2 images", "no tag"}},
		{"missing path", "oci-layout:layouts/nowhere", 2, []string{filepath.Join(layouts, "nowhere"), "no such file or directory"}},
		{"missing tag", "oci-layout:layouts/corrupt:v9", 4, []string{filepath.Join(corrupt, "index.json"), `no image tagged "v9"`}},
		{"corrupted layer", "oci-layout:layouts/corrupt", 2, []string{filepath.Join(corrupt, "blobs", "sha256", ld.Hex), "digest"}},
		{"corrupted layer in a tar", "oci-layout:layouts/corrupt.tar", 2, []string{corruptTar + "!blobs/sha256/" + ld.Hex, "digest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := "image: ${REG}/target/bad:1.0\nmanifests:\n  - image: ${REG}/reg/img:amd64\n  - image: " + tc.source + "\n"
			path := e.WriteFile(strings.ReplaceAll(tc.name, " ", "-")+".yaml", spec)
			e.Proxy.Reset()
			r := e.run("--plain-http", "from-spec", path)
			clitest.WantCode(t, r, tc.code)
			clitest.WantStderr(t, r, tc.stderr...)
			e.wantNoWrites(r)
			if r.Stdout != "" {
				t.Errorf("stdout: %q, want nothing", r.Stdout)
			}
		})
	}
	if tags := e.tags("target/bad"); tags != nil {
		t.Errorf("target/bad has tags %v, want no repository", tags)
	}
	after := fileHashes(t, layouts)
	wantSameFiles(t, "the layouts", before, after)
}

// TestWasiAndFeatures: wasi/wasm (Docker's Wasm workloads) goes into an
// index and containerd's matcher for wasi/wasm picks it; a spec's features
// reach a Docker manifest list.
func TestWasiAndFeatures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wasi := e.image("w/img", "wasi", "wasi/wasm")
	linux := e.image("w/img", "linux", "linux/amd64")
	r := e.run("--plain-http", "from-args", "--platforms", "wasi/wasm,linux/amd64", "--template", e.ref("w/img:OS"), "--target", e.ref("w/multi:1"))
	clitest.WantCode(t, r, 0)
	p := e.index("w/multi", "1")
	wantSelected(t, p.index, map[string]selection{
		"wasi/wasm":   {host: ocispec.Platform{OS: "wasi", Architecture: "wasm"}, digest: wasi.Digest},
		"linux/amd64": {host: plat(t, "linux/amd64"), digest: linux.Digest},
		"wasip1/wasm": {host: ocispec.Platform{OS: "wasip1", Architecture: "wasm"}},
	})

	spec := `image: ${REG}/w/features:1
manifests:
  - image: ${REG}/w/img:linux
    platform: {os: linux, architecture: amd64, features: [sse4]}
  - image: ${REG}/w/img:wasi
    platform: {os: wasi, architecture: wasm}
`
	r = e.run("--plain-http", "from-spec", e.WriteFile("features.yaml", spec))
	clitest.WantCode(t, r, 0)
	p = e.index("w/features", "1")
	if p.contentType != "application/vnd.docker.distribution.manifest.list.v2+json" {
		t.Fatalf("media type %s, want a Docker manifest list", p.contentType)
	}
	if !bytes.Contains(p.body, []byte(`"os": "linux",`)) || !strings.Contains(strings.Join(strings.Fields(string(p.body)), ""), `"features":["sse4"]`) {
		t.Errorf("the Docker list does not carry features: [sse4]\n%s", p.body)
	}
	if n := strings.Count(string(p.body), `"features"`); n != 1 {
		t.Errorf("%d features fields, want 1 (the linux entry's)\n%s", n, p.body)
	}
}
