package layout_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/layout"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// image is one image written into a test layout: its config, one layer and
// its manifest.
type image struct {
	manifest, config, layer ocispec.Descriptor
	files                   map[string][]byte
}

func blob(files map[string][]byte, mt string, data []byte) ocispec.Descriptor {
	d := digest.FromBytes(data)
	files["blobs/sha256/"+d.Encoded()] = data
	return ocispec.Descriptor{MediaType: mt, Digest: d, Size: int64(len(data))}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newImage adds an image of platform os/arch whose layer is layerData.
func newImage(t *testing.T, files map[string][]byte, os, arch string, layerData []byte) image {
	t.Helper()
	cfg := blob(files, ocispec.MediaTypeImageConfig, mustJSON(t, ocispec.Image{Platform: ocispec.Platform{OS: os, Architecture: arch}}))
	layer := blob(files, ocispec.MediaTypeImageLayer, layerData)
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}}
	m.SchemaVersion = 2
	md := blob(files, ocispec.MediaTypeImageManifest, mustJSON(t, m))
	return image{manifest: md, config: cfg, layer: layer, files: files}
}

// writeLayout writes files (plus oci-layout and index.json of top) as a
// directory and returns its path.
func writeLayout(t *testing.T, files map[string][]byte, top []ocispec.Descriptor) string {
	t.Helper()
	dir := t.TempDir()
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: top}
	idx.SchemaVersion = 2
	all := map[string][]byte{
		"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`),
		"index.json": mustJSON(t, idx),
	}
	for k, v := range files {
		all[k] = v
	}
	for name, data := range all {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tarLayout writes the layout directory dir as a tar archive, each entry
// name prefixed with prefix ("" or "./"), with directory entries, as
// buildx and tar -C dir -cf x.tar . write them.
func tarLayout(t *testing.T, dir, prefix string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "layout.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := prefix + filepath.ToSlash(rel)
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755})
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
	return out
}

// snapshot hashes every file under root with its mode and modification
// time, to show that reading a layout changed nothing.
func snapshot(t *testing.T, root string) map[string]string {
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
		out[p] = fi.Mode().String() + " " + fi.ModTime().String() + " " + sum
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func open(t *testing.T, p string) *layout.Layout {
	t.Helper()
	l, err := layout.Open(context.Background(), p)
	if err != nil {
		t.Fatalf("Open(%s): %v", p, err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// buildxLayout is a layout as docker buildx --output type=oci writes it:
// index.json names one index (tagged, with both annotations) of two images.
func buildxLayout(t *testing.T) (dir string, idx ocispec.Descriptor, imgs []image) {
	t.Helper()
	files := map[string][]byte{}
	amd := newImage(t, files, "linux", "amd64", bytes.Repeat([]byte("a"), 3000))
	arm := newImage(t, files, "linux", "arm64", bytes.Repeat([]byte("b"), 5000))
	amd.manifest.Platform = &ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm.manifest.Platform = &ocispec.Platform{OS: "linux", Architecture: "arm64"}
	inner := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{amd.manifest, arm.manifest}}
	inner.SchemaVersion = 2
	idx = blob(files, ocispec.MediaTypeImageIndex, mustJSON(t, inner))
	top := idx
	top.Annotations = map[string]string{
		layout.AnnotationImageName: "docker.io/library/hello:1.0",
		layout.AnnotationRefName:   "1.0",
	}
	return writeLayout(t, files, []ocispec.Descriptor{top}), idx, []image{amd, arm}
}

func TestResolveDirAndTar(t *testing.T) {
	t.Parallel()
	dir, idx, imgs := buildxLayout(t)
	before := snapshot(t, dir)
	paths := map[string]string{
		"directory":         dir,
		"tar":               tarLayout(t, dir, ""),
		"tar with ./ names": tarLayout(t, dir, "./"),
	}
	for name, p := range paths {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tarBefore := snapshot(t, filepath.Dir(p))
			l := open(t, p)
			ctx := context.Background()
			for _, ref := range []string{"", "1.0", "docker.io/library/hello:1.0", idx.Digest.String()} {
				doc, err := l.Resolve(ctx, ref)
				if err != nil {
					t.Fatalf("Resolve(%q): %v", ref, err)
				}
				if doc.Desc.Digest != idx.Digest || doc.Desc.MediaType != ocispec.MediaTypeImageIndex || doc.Desc.Size != idx.Size {
					t.Errorf("Resolve(%q) = %+v, want %+v", ref, doc.Desc, idx)
				}
			}
			// A child by digest, not in index.json.
			doc, err := l.Resolve(ctx, imgs[1].manifest.Digest.String())
			if err != nil || doc.Desc.MediaType != ocispec.MediaTypeImageManifest {
				t.Fatalf("Resolve(child) = %+v, %v", doc.Desc, err)
			}
			cfg, err := l.ReadBlob(ctx, imgs[1].config, 1<<20)
			if err != nil || !strings.Contains(string(cfg), `"arm64"`) {
				t.Fatalf("ReadBlob(config) = %s, %v", cfg, err)
			}
			if _, err := l.ReadBlob(ctx, imgs[1].layer, 100); err == nil || !strings.Contains(err.Error(), "more than the 100") {
				t.Errorf("ReadBlob over its limit: %v", err)
			}
			for _, im := range imgs {
				r, err := l.OpenBlob(ctx, im.layer)
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(r)
				if err != nil {
					t.Fatalf("reading %s: %v", im.layer.Digest, err)
				}
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(data, im.files["blobs/sha256/"+im.layer.Digest.Encoded()]) {
					t.Errorf("layer %s: wrong bytes", im.layer.Digest)
				}
			}
			if diff := cmpSnapshots(tarBefore, snapshot(t, filepath.Dir(p))); diff != "" {
				t.Errorf("reading changed the layout: %s", diff)
			}
		})
	}
	t.Cleanup(func() {
		if diff := cmpSnapshots(before, snapshot(t, dir)); diff != "" {
			t.Errorf("reading changed the layout directory: %s", diff)
		}
	})
}

func cmpSnapshots(a, b map[string]string) string {
	var diffs []string
	for k, v := range a {
		if b[k] != v {
			diffs = append(diffs, k+": "+v+" -> "+b[k])
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diffs = append(diffs, k+": new")
		}
	}
	return strings.Join(diffs, "; ")
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{}
	one := newImage(t, files, "linux", "amd64", []byte("one"))
	two := newImage(t, files, "linux", "arm64", []byte("two"))
	tagged := one.manifest
	tagged.Annotations = map[string]string{layout.AnnotationRefName: "v1"}
	dir := writeLayout(t, files, []ocispec.Descriptor{tagged, two.manifest})
	before := snapshot(t, dir)
	l := open(t, dir)
	ctx := context.Background()

	_, err := l.Resolve(ctx, "")
	if !errors.Is(err, layout.ErrAmbiguous) {
		t.Fatalf("no tag in a two-image layout: %v, want ErrAmbiguous", err)
	}
	for _, want := range []string{filepath.Join(dir, "index.json"), "holds 2 images", `"v1"`, "no tag", one.manifest.Digest.String(), two.manifest.Digest.String()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if doc, err := l.Resolve(ctx, "v1"); err != nil || doc.Desc.Digest != one.manifest.Digest {
		t.Errorf("Resolve(v1) = %v, %v", doc.Desc.Digest, err)
	}
	_, err = l.Resolve(ctx, "v2")
	if !errors.Is(err, content.ErrNotFound) || !strings.Contains(err.Error(), `no image tagged "v2"`) || !strings.Contains(err.Error(), `"v1"`) {
		t.Errorf("unknown tag: %v, want ErrNotFound listing v1", err)
	}
	missing := digest.FromString("nothing")
	_, err = l.Resolve(ctx, missing.String())
	if !errors.Is(err, content.ErrNotFound) || !strings.Contains(err.Error(), missing.String()) {
		t.Errorf("unknown digest: %v, want ErrNotFound", err)
	}
	if diff := cmpSnapshots(before, snapshot(t, dir)); diff != "" {
		t.Errorf("reading changed the layout: %s", diff)
	}
}

func TestCorruptBlob(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{}
	img := newImage(t, files, "linux", "amd64", []byte("the layer's bytes"))
	dir := writeLayout(t, files, []ocispec.Descriptor{img.manifest})
	layerFile := filepath.Join(dir, "blobs", "sha256", img.layer.Digest.Encoded())
	if err := os.WriteFile(layerFile, []byte("THE LAYER'S BYTES"), 0o644); err != nil {
		t.Fatal(err)
	}
	manifestFile := filepath.Join(dir, "blobs", "sha256", img.manifest.Digest.Encoded())
	if err := os.WriteFile(manifestFile, append(files["blobs/sha256/"+img.manifest.Digest.Encoded()], ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]string{"directory": dir, "tar": tarLayout(t, dir, "./")} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := open(t, p)
			ctx := context.Background()
			r, err := l.OpenBlob(ctx, img.layer)
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.ReadAll(r)
			if !errors.Is(err, content.ErrDigestMismatch) || !strings.Contains(err.Error(), img.layer.Digest.Encoded()) {
				t.Errorf("corrupt layer: %v, want ErrDigestMismatch naming its file", err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := l.ReadBlob(ctx, img.layer, 1<<20); !errors.Is(err, content.ErrDigestMismatch) || !errors.Is(err, layout.ErrInvalid) {
				t.Errorf("ReadBlob of a corrupt layer: %v, want ErrDigestMismatch and ErrInvalid", err)
			}
			if err := l.VerifyBlob(ctx, img.layer); !errors.Is(err, content.ErrDigestMismatch) || !strings.Contains(err.Error(), img.layer.Digest.Encoded()) {
				t.Errorf("VerifyBlob of a corrupt layer: %v", err)
			}
			if err := l.VerifyBlob(ctx, img.config); err != nil {
				t.Errorf("VerifyBlob of a sound config: %v", err)
			}
			short := img.layer
			short.Size--
			if _, err := l.OpenBlob(ctx, short); !errors.Is(err, content.ErrDigestMismatch) || !strings.Contains(err.Error(), "the descriptor says") {
				t.Errorf("a blob of another size: %v", err)
			}
			_, err = l.Resolve(ctx, "")
			if !errors.Is(err, content.ErrDigestMismatch) || !strings.Contains(err.Error(), img.manifest.Digest.Encoded()) {
				t.Errorf("corrupt manifest: %v, want ErrDigestMismatch naming its file", err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{}
	img := newImage(t, files, "linux", "amd64", []byte("x"))
	good := writeLayout(t, files, []ocispec.Descriptor{img.manifest})

	noMarker := writeLayout(t, files, []ocispec.Descriptor{img.manifest})
	if err := os.Remove(filepath.Join(noMarker, "oci-layout")); err != nil {
		t.Fatal(err)
	}
	badVersion := writeLayout(t, files, []ocispec.Descriptor{img.manifest})
	if err := os.WriteFile(filepath.Join(badVersion, "oci-layout"), []byte(`{"imageLayoutVersion":"2.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	badIndex := writeLayout(t, files, []ocispec.Descriptor{img.manifest})
	if err := os.WriteFile(filepath.Join(badIndex, "index.json"), []byte(`{"schemaVersion":2,`), 0o644); err != nil {
		t.Fatal(err)
	}
	notTar := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notTar, bytes.Repeat([]byte("not a tar archive\n"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(t.TempDir(), "layout.tar.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tarData, err := os.ReadFile(tarLayout(t, good, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(tarData); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"missing path", filepath.Join(good, "nope"), []string{filepath.Join(good, "nope"), "no such file"}},
		{"no oci-layout", noMarker, []string{filepath.Join(noMarker, "oci-layout"), "no such file"}},
		{"bad version", badVersion, []string{filepath.Join(badVersion, "oci-layout"), `imageLayoutVersion "2.0.0"`}},
		{"bad index.json", badIndex, []string{filepath.Join(badIndex, "index.json"), "not an OCI index"}},
		{"not a tar", notTar, []string{notTar, "tar"}},
		{"gzip", gz, []string{gz, "gunzip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := layout.Open(context.Background(), tc.path)
			if err == nil {
				t.Fatalf("Open(%s) succeeded: %v", tc.path, l.Close())
			}
			if !errors.Is(err, layout.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
