// Package crossimage cross-compiles a Go program for a platform and packs the
// executable into a one-layer container image, the way a release engineer
// does on one x86-64 machine: the demo uses it for the helloarch images and
// selfimage for manifest-push's own image. It also reads a file back out of
// such a layer, so the demo can run what a puller would get.
//
// Images are pushed with the raw-HTTP calls of package imagetest, never with
// the product under test, and are deterministic: the same binary and options
// give the same digests on every run (fixed times and owners, no creation
// time in the config).
package crossimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrUnsupportedPlatform is returned for a platform the go command cannot
// build for (or whose variant it cannot express).
var ErrUnsupportedPlatform = errors.New("unsupported platform")

// ErrFileNotFound is returned by ReadFile when the layer has no such file.
var ErrFileNotFound = errors.New("file not found in layer")

// Build is one go build.
type Build struct {
	// Dir is the module directory the go command runs in.
	Dir string
	// Package is what to build: a package path ("./cmd/manifest-push") or a
	// .go file ("./examples/helloarch/hello.go").
	Package string
	// Platform is the target platform (os, architecture and, for arm, the
	// variant v5, v6 or v7; for amd64, v1 to v4).
	Platform ocispec.Platform
	// Out is the path of the executable to write.
	Out string
	// LDFlags are passed as -ldflags. Empty means "-s -w" (no symbol table,
	// no DWARF: smaller images).
	LDFlags string
}

// GoEnv returns the environment entries that select p for the go command:
// CGO_ENABLED=0, GOOS, GOARCH and, for a variant, GOARM or GOAMD64.
func GoEnv(p ocispec.Platform) ([]string, error) {
	if p.OS == "" || p.Architecture == "" {
		return nil, fmt.Errorf("%s: %w: os and architecture are required", Name(p), ErrUnsupportedPlatform)
	}
	env := []string{"CGO_ENABLED=0", "GOOS=" + p.OS, "GOARCH=" + p.Architecture}
	switch {
	case p.Variant == "":
	case p.Architecture == "arm" && (p.Variant == "v5" || p.Variant == "v6" || p.Variant == "v7"):
		env = append(env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	case p.Architecture == "amd64" && len(p.Variant) == 2 && p.Variant[0] == 'v' && p.Variant[1] >= '1' && p.Variant[1] <= '4':
		env = append(env, "GOAMD64="+p.Variant)
	default:
		return nil, fmt.Errorf("%s: %w: the go command has no setting for variant %q", Name(p), ErrUnsupportedPlatform, p.Variant)
	}
	return env, nil
}

// GoBuild runs `go build -trimpath -ldflags ... -o OUT PACKAGE` for
// b.Platform with CGO_ENABLED=0. The go command's output is part of the
// error when the build fails.
func GoBuild(ctx context.Context, b Build) error {
	env, err := GoEnv(b.Platform)
	if err != nil {
		return err
	}
	ldflags := b.LDFlags
	if ldflags == "" {
		ldflags = "-s -w"
	}
	out, err := filepath.Abs(b.Out)
	if err != nil {
		return fmt.Errorf("crossimage: %w", err)
	}
	args := []string{"build", "-trimpath", "-ldflags", ldflags, "-o", out, b.Package}
	cmd := exec.CommandContext(ctx, goCommand(), args...)
	cmd.Dir = b.Dir
	cmd.Env = append(os.Environ(), env...)
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("crossimage: %s go %s: %w\n%s", strings.Join(env, " "), strings.Join(args, " "), err, output.String())
	}
	return nil
}

// GoBuildAll runs the builds, at most jobs at a time (zero or less: 2, which
// keeps a small machine responsive; the go command parallelises each build
// by itself). It returns the errors of all failed builds, joined.
func GoBuildAll(ctx context.Context, builds []Build, jobs int) error {
	if jobs <= 0 {
		jobs = 2
	}
	sem := make(chan struct{}, jobs)
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			errs[i] = GoBuild(ctx, b)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Name is a platform's short name: os/arch[/variant], plus ":os.version"
// when set.
func Name(p ocispec.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	if p.OSVersion != "" {
		s += ":" + p.OSVersion
	}
	return s
}

// Suffix is a platform as it appears in a per-platform tag:
// os-arch[-variant] ("linux-arm-v7").
func Suffix(p ocispec.Platform) string {
	s := p.OS + "-" + p.Architecture
	if p.Variant != "" {
		s += "-" + p.Variant
	}
	return s
}

// Image is a one-layer image holding one executable (and optional extra
// files).
type Image struct {
	// Platform is written into the image config. It need not be the
	// platform the executable was built for: images built on one machine
	// often say linux/amd64 whatever they hold.
	Platform ocispec.Platform
	// Format chooses Docker (the zero value) or OCI media types.
	Format imagetest.Format
	// Path is where the executable goes in the image, without a leading
	// slash ("usr/local/bin/manifest-push"). Its parent directories are
	// created (mode 0755).
	Path string
	// Binary is the executable's content; it is stored with mode 0755.
	Binary []byte
	// Files are extra regular files (path → content, mode 0644), such as a
	// CA bundle. Nil means none.
	Files map[string][]byte
	// Executables are extra executables (path → content, mode 0755), such
	// as credential helpers. Nil means none.
	Executables map[string][]byte
	// Entrypoint, Env, User and Labels go into the config. Nil or empty
	// means none.
	Entrypoint []string
	Env        []string
	User       string
	Labels     map[string]string
}

// Push packs img into a one-layer image, pushes its layer, config and
// manifest to repo at baseURL ("http://host:port") and tags it with tag. It
// returns the manifest's descriptor carrying the config's platform.
func Push(ctx context.Context, client *http.Client, baseURL, repo, tag string, img Image) (ocispec.Descriptor, error) {
	layer, diffID, err := Layer(img)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	configType, layerType, manifestType := ocispec.MediaTypeImageConfig, ocispec.MediaTypeImageLayerGzip, ocispec.MediaTypeImageManifest
	if img.Format == imagetest.Docker {
		configType, layerType, manifestType = imagetest.MediaTypeDockerConfig, imagetest.MediaTypeDockerLayer, imagetest.MediaTypeDockerManifest
	}
	config, err := json.Marshal(ocispec.Image{
		Platform: img.Platform,
		Config: ocispec.ImageConfig{
			User:       img.User,
			Env:        img.Env,
			Entrypoint: img.Entrypoint,
			Labels:     img.Labels,
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
	})
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("crossimage: config: %w", err)
	}
	layerDesc, err := imagetest.PushBlob(ctx, client, baseURL, repo, layerType, layer)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	configDesc, err := imagetest.PushBlob(ctx, client, baseURL, repo, configType, config)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: manifestType,
		Config:    configDesc,
		Layers:    []ocispec.Descriptor{layerDesc},
	}
	body, err := json.Marshal(manifest)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("crossimage: manifest: %w", err)
	}
	desc, err := imagetest.PushManifest(ctx, client, baseURL, repo, tag, manifestType, body)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	p := img.Platform
	desc.Platform = &p
	return desc, nil
}

// epoch is the modification time of every entry: fixed, so that layers are
// reproducible.
var epoch = time.Date(2018, time.February, 1, 0, 0, 0, 0, time.UTC)

// Layer returns img's layer, a gzip-compressed tar archive, and its diff ID
// (the digest of the uncompressed archive).
func Layer(img Image) ([]byte, digest.Digest, error) {
	name := strings.TrimPrefix(path.Clean("/"+img.Path), "/")
	if name == "" || name == "." {
		return nil, "", errors.New("crossimage: the image needs a path for its binary")
	}
	files := map[string]*tar.Header{}
	contents := map[string][]byte{}
	dirs := map[string]bool{}
	add := func(p string, content []byte, mode int64) {
		p = strings.TrimPrefix(path.Clean("/"+p), "/")
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
		files[p] = &tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(content))}
		contents[p] = content
	}
	for p, content := range img.Files {
		add(p, content, 0o644)
	}
	for p, content := range img.Executables {
		add(p, content, 0o755)
	}
	add(name, img.Binary, 0o755)

	var headers []*tar.Header
	for d := range dirs {
		headers = append(headers, &tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755})
	}
	for _, h := range files {
		headers = append(headers, h)
	}
	sort.Slice(headers, func(i, j int) bool { return headers[i].Name < headers[j].Name })

	var compressed bytes.Buffer
	// BestSpeed: binaries compress about as well, several times faster.
	gz, err := gzip.NewWriterLevel(&compressed, gzip.BestSpeed)
	if err != nil {
		return nil, "", fmt.Errorf("crossimage: layer: %w", err)
	}
	raw := digest.SHA256.Digester()
	tw := tar.NewWriter(io.MultiWriter(gz, raw.Hash()))
	for _, h := range headers {
		h.ModTime = epoch
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return nil, "", fmt.Errorf("crossimage: layer: %w", err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(contents[strings.TrimSuffix(h.Name, "/")]); err != nil {
				return nil, "", fmt.Errorf("crossimage: layer: %w", err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", fmt.Errorf("crossimage: layer: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, "", fmt.Errorf("crossimage: layer: %w", err)
	}
	return compressed.Bytes(), raw.Digest(), nil
}

// ReadFile returns the content and mode of the regular file name (with or
// without a leading slash) in a gzip-compressed or plain tar layer.
func ReadFile(layer []byte, name string) ([]byte, int64, error) {
	want := strings.TrimPrefix(path.Clean("/"+name), "/")
	var r io.Reader = bytes.NewReader(layer)
	if len(layer) > 2 && layer[0] == 0x1f && layer[1] == 0x8b {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, 0, fmt.Errorf("crossimage: layer: %w", err)
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("%s: %w", name, ErrFileNotFound)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("crossimage: layer: %w", err)
		}
		if h.Typeflag != tar.TypeReg || strings.TrimPrefix(path.Clean("/"+h.Name), "/") != want {
			continue
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			return nil, 0, fmt.Errorf("crossimage: layer: %w", err)
		}
		return content, h.Mode, nil
	}
}

// ModuleVersion is the version of module that the go.mod in dir requires
// (`go list -m`, which reads go.mod and downloads nothing): how a build
// from a module that pins a tool (signers/go.mod) knows the tool's
// version.
func ModuleVersion(ctx context.Context, dir, module string) (string, error) {
	cmd := exec.CommandContext(ctx, goCommand(), "list", "-m", "-f", "{{.Version}}", module)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	v := strings.TrimSpace(string(out))
	if err != nil || v == "" {
		return "", fmt.Errorf("crossimage: the version of %s that %s requires: %v %s", module, filepath.Join(dir, "go.mod"), err, strings.TrimSpace(stderr.String()))
	}
	return v, nil
}

// goCommand is the go command: the one in $GOROOT/bin when GOROOT is set in
// the environment (as the go command sets it for tests and go run), else
// "go" from PATH.
func goCommand() string {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}
