// Package selfimage publishes manifest-push's own multi-platform image with
// manifest-push: it cross-compiles the command for five linux platforms
// (static, version stamped), packs each binary into a one-layer image
// (/usr/local/bin/manifest-push, the credential helpers, cosign, the
// machine's CA bundle, a non-root user, the entrypoint), pushes them, writes a spec and assembles them under one
// name by running the freshly built manifest-push itself.
//
// It is the engine of `make image REGISTRY=host:port` (cmd/selfimage): the
// way to publish the image where no Docker engine exists. With a Docker
// engine, the Dockerfile at the repository root builds the same image.
package selfimage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/crossimage"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultPlatforms are the platforms of manifest-push's image.
var DefaultPlatforms = []ocispec.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
	{OS: "linux", Architecture: "arm", Variant: "v7"},
	{OS: "linux", Architecture: "ppc64le"},
	{OS: "linux", Architecture: "s390x"},
}

// BinaryPath is where the executable is in the image.
const BinaryPath = "/usr/local/bin/manifest-push"

// CredentialHelper is a Docker credential helper the image carries, so
// that a Docker config's credsStore or credHelpers naming it works inside
// the image, as in manifest-tool's image.
type CredentialHelper struct {
	// Name is the helper's name in a Docker config (ecr-login): the
	// executable is /usr/local/bin/docker-credential-NAME.
	Name string
	// Package is its main package, a tool of the credhelpers module
	// (credhelpers/go.mod pins the versions).
	Package string
	// Version is an argument that makes it say what it is (its version,
	// or its usage for one without a version command) and exit 0, with no
	// network.
	Version string
}

// CredentialHelpers are the helpers of the image: Amazon ECR's, Google's
// (GCR and Artifact Registry) and Azure's (ACR, from the environment).
var CredentialHelpers = []CredentialHelper{
	{Name: "ecr-login", Package: "github.com/awslabs/amazon-ecr-credential-helper/ecr-login/cli/docker-credential-ecr-login", Version: "version"},
	{Name: "gcr", Package: "github.com/GoogleCloudPlatform/docker-credential-gcr/v2", Version: "version"},
	{Name: "acr-env", Package: "github.com/chrismellard/docker-credential-acr-env", Version: "--help"},
}

// The signer the image carries, so that --sign (cosign by default, found
// on PATH) works inside the image: cosign, built from the signers module
// (signers/go.mod pins its version).
const (
	// CosignPath is where cosign is in the image.
	CosignPath = "/usr/local/bin/cosign"
	// CosignPackage is cosign's main package, the tool of the signers
	// module.
	CosignPackage = "github.com/sigstore/cosign/v2/cmd/cosign"
	// cosignModule is the module signers/go.mod requires cosign from.
	cosignModule = "github.com/sigstore/cosign/v2"
	// cosignVersionVar is the variable `cosign version` prints as its
	// GitVersion: built from another module, cosign would say "devel"
	// without -X (cosign's own release builds set it the same way).
	cosignVersionVar = "sigs.k8s.io/release-utils/version.gitVersion"
)

// HelperPath is where the credential helper name is in the image.
func HelperPath(name string) string { return "/usr/local/bin/docker-credential-" + name }

// User is the image's user: the uid and gid distroless calls nonroot.
const User = "65532:65532"

// Source is the org.opencontainers.image.source annotation and label.
const Source = "https://github.com/manifest-push/manifest-push"

// CABundles are where CA bundles are looked for, in this order (Debian,
// Ubuntu and Alpine; Fedora and RHEL; openSUSE; macOS and the BSDs).
var CABundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// caBundleInImage is where the CA bundle goes in the image: the first place
// Go's crypto/x509 looks on linux.
const caBundleInImage = "/etc/ssl/certs/ca-certificates.crt"

// Options configures Run. The zero value publishes all DefaultPlatforms as
// manifest-push:VERSION and :latest on an embedded registry, silently.
type Options struct {
	// Out receives the narration and manifest-push's output. Nil means
	// io.Discard.
	Out io.Writer
	// Registry is the host[:port] to publish to (anonymous push). Empty
	// means a throw-away embedded registry on 127.0.0.1 (a rehearsal).
	Registry string
	// HTTPS speaks HTTPS to Registry. False means plain HTTP.
	HTTPS bool
	// Repo is the repository. Empty means "manifest-push".
	Repo string
	// Version is stamped into the binaries (main.version) and is the
	// target tag; the per-platform images are tagged VERSION-os-arch[-variant].
	// Empty means `git describe --tags --always --dirty` in the product
	// module, or "dev".
	Version string
	// Tags are the extra tags. Nil means those of ImageTags: 1.2, 1 and
	// latest for a release version 1.2.3 (or v1.2.3), none otherwise;
	// empty and non-nil means none.
	Tags []string
	// Platforms are the linux platforms to build. Nil means
	// DefaultPlatforms.
	Platforms []ocispec.Platform
	// CABundle is a CA bundle (PEM) to put in the image. Empty means the
	// first of CABundles that exists; none found means an image without CA
	// certificates, and a warning.
	CABundle string
	// BuildDir is where the executables are built. The go command leaves
	// one that is up to date as it is (no link), so a BuildDir kept from
	// run to run makes a rerun with the same source cheap. Empty means a
	// temporary directory.
	BuildDir string
	// ReuseBuilds uses the executables already in BuildDir as they are,
	// without building: for a second Run in the same process, from the
	// same source (a test of the rerun). False builds every time.
	ReuseBuilds bool
}

// Result is what Run published.
type Result struct {
	// Target is the index's reference (HOST/REPO:VERSION).
	Target string
	// Version is the stamped version.
	Version string
	// Digest is the index digest manifest-push printed.
	Digest string
	// Images are the per-platform images, in Platforms order.
	Images []ocispec.Descriptor
	// Spec is the spec manifest-push assembled them from.
	Spec string
}

// Run builds, packs, pushes and assembles manifest-push's image.
func Run(ctx context.Context, opts Options) (Result, error) {
	var res Result
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	say := func(format string, args ...any) {
		if line := fmt.Sprintf(format, args...); line != "" {
			fmt.Fprintf(out, "    %s\n", line)
		} else {
			fmt.Fprintln(out)
		}
	}
	heading := func(format string, args ...any) { fmt.Fprintf(out, "\n==> "+format+"\n", args...) }
	start := time.Now()

	root, err := binary.ProductRoot(ctx)
	if err != nil {
		return res, err
	}
	repo := opts.Repo
	if repo == "" {
		repo = "manifest-push"
	}
	res.Version = opts.Version
	if res.Version == "" {
		res.Version = gitVersion(ctx, root)
	}
	target, tags := ImageTags(res.Version)
	if opts.Tags != nil {
		tags = opts.Tags
	}
	plats := opts.Platforms
	if plats == nil {
		plats = DefaultPlatforms
	}
	for _, p := range plats {
		if p.OS != "linux" {
			return res, fmt.Errorf("selfimage: %s: only linux images can be built without a base image", crossimage.Name(p))
		}
	}
	work, err := os.MkdirTemp("", "selfimage-")
	if err != nil {
		return res, fmt.Errorf("selfimage: %w", err)
	}
	defer os.RemoveAll(work)

	heading("Registry")
	host, baseURL, client := opts.Registry, "", (*http.Client)(nil)
	plainHTTP := !opts.HTTPS
	if host == "" {
		reg, err := registrytest.Start(registrytest.Options{Addr: "127.0.0.1:0"})
		if err != nil {
			return res, fmt.Errorf("selfimage: start the registry: %w", err)
		}
		defer reg.Close()
		host, baseURL, client, plainHTTP = reg.Host(), reg.URL(), reg.Client(), true
		say("no registry given: a throw-away embedded registry at %s (a rehearsal)", host)
	} else {
		scheme := "http"
		if opts.HTTPS {
			scheme = "https"
		}
		baseURL = scheme + "://" + host
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		say("%s", baseURL)
	}
	res.Target = host + "/" + repo + ":" + target

	cosignVersion, err := crossimage.ModuleVersion(ctx, filepath.Join(root, "signers"), cosignModule)
	if err != nil {
		return res, err
	}
	heading("Build manifest-push %s, the credential helpers and cosign %s (CGO_ENABLED=0, -trimpath)", res.Version, cosignVersion)
	buildDir := opts.BuildDir
	if buildDir == "" {
		buildDir = filepath.Join(work, "build")
	}
	builds := make([]crossimage.Build, len(plats))
	var all []crossimage.Build
	helpers := map[string][]crossimage.Build{} // platform suffix → its helpers
	cosigns := map[string]crossimage.Build{}   // platform suffix → its cosign
	for i, p := range plats {
		builds[i] = crossimage.Build{
			Dir:      root,
			Package:  "./cmd/manifest-push",
			Platform: p,
			Out:      filepath.Join(buildDir, "manifest-push-"+crossimage.Suffix(p)),
			LDFlags:  "-s -w -X main.version=" + res.Version,
		}
		all = append(all, builds[i])
		for _, h := range CredentialHelpers {
			b := crossimage.Build{
				Dir:      filepath.Join(root, "credhelpers"),
				Package:  h.Package,
				Platform: p,
				Out:      filepath.Join(buildDir, "docker-credential-"+h.Name+"-"+crossimage.Suffix(p)),
			}
			helpers[crossimage.Suffix(p)] = append(helpers[crossimage.Suffix(p)], b)
			all = append(all, b)
		}
		cosign := crossimage.Build{
			Dir:      filepath.Join(root, "signers"),
			Package:  CosignPackage,
			Platform: p,
			Out:      filepath.Join(buildDir, "cosign-"+crossimage.Suffix(p)),
			LDFlags:  "-s -w -X " + cosignVersionVar + "=" + cosignVersion,
		}
		cosigns[crossimage.Suffix(p)] = cosign
		all = append(all, cosign)
	}
	if opts.ReuseBuilds && opts.BuildDir != "" {
		var missing []crossimage.Build
		for _, b := range all {
			if _, err := os.Stat(b.Out); err != nil {
				missing = append(missing, b)
			}
		}
		all = missing
		say("reusing the executables in %s", opts.BuildDir)
	}
	if err := crossimage.GoBuildAll(ctx, all, 2); err != nil {
		return res, err
	}
	for _, b := range builds {
		fi, err := os.Stat(b.Out)
		if err != nil {
			return res, fmt.Errorf("selfimage: %w", err)
		}
		say("%-14s %5.1f MiB", crossimage.Name(b.Platform), float64(fi.Size())/(1<<20))
	}

	heading("Push one image per platform")
	files := map[string][]byte{}
	if bundle, path, err := caBundle(opts.CABundle); err != nil {
		return res, err
	} else if bundle == nil {
		say("warning: no CA bundle found (looked in %s): the image will trust no registry's certificate", strings.Join(CABundles, ", "))
	} else {
		files[caBundleInImage] = bundle
		say("CA certificates from %s", path)
	}
	labels := map[string]string{
		"org.opencontainers.image.title":   "manifest-push",
		"org.opencontainers.image.version": res.Version,
		"org.opencontainers.image.source":  Source,
	}
	for _, b := range builds {
		content, err := os.ReadFile(b.Out)
		if err != nil {
			return res, fmt.Errorf("selfimage: %w", err)
		}
		tag := target + "-" + crossimage.Suffix(b.Platform)
		executables := map[string][]byte{}
		for i, hb := range helpers[crossimage.Suffix(b.Platform)] {
			if executables[HelperPath(CredentialHelpers[i].Name)], err = os.ReadFile(hb.Out); err != nil {
				return res, fmt.Errorf("selfimage: %w", err)
			}
		}
		if executables[CosignPath], err = os.ReadFile(cosigns[crossimage.Suffix(b.Platform)].Out); err != nil {
			return res, fmt.Errorf("selfimage: %w", err)
		}
		desc, err := crossimage.Push(ctx, client, baseURL, repo, tag, crossimage.Image{
			Executables: executables,
			Platform:    b.Platform,
			Format:      imagetest.OCI,
			Path:        BinaryPath,
			Binary:      content,
			Files:       files,
			Entrypoint:  []string{BinaryPath},
			Env:         []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			User:        User,
			Labels:      labels,
		})
		if err != nil {
			return res, fmt.Errorf("selfimage: push %s:%s: %w", repo, tag, err)
		}
		res.Images = append(res.Images, desc)
		say("%-52s %s", host+"/"+repo+":"+tag, desc.Digest)
	}

	heading("Assemble them with manifest-push itself")
	res.Spec = specYAML(host+"/"+repo, target, res.Version, tags, plats)
	specFile := filepath.Join(work, "manifest-push.yaml")
	if err := os.WriteFile(specFile, []byte(res.Spec), 0o644); err != nil {
		return res, fmt.Errorf("selfimage: %w", err)
	}
	for _, line := range strings.Split(strings.TrimRight(res.Spec, "\n"), "\n") {
		say("%s", line)
	}
	bin, err := hostBinary(ctx, builds, work)
	if err != nil {
		return res, err
	}
	global := []string{}
	if plainHTTP {
		global = append(global, "--plain-http")
	}
	say("")
	text, err := runTool(ctx, out, bin, append(global, "from-spec", specFile)...)
	if err != nil {
		return res, err
	}
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Digest:" {
			res.Digest = f[1]
		}
	}
	if res.Digest == "" {
		return res, errors.New("selfimage: manifest-push printed no Digest line")
	}
	if _, err := runTool(ctx, out, bin, append(global, "inspect", res.Target)...); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "\nPublished %s (%s) in %s.\n", res.Target, res.Digest, time.Since(start).Round(100*time.Millisecond))
	return res, nil
}

// specYAML is the spec of the image: target NAME:VERSION with tags, one
// entry per platform, and the version and source annotations.
func specYAML(name, target, version string, tags []string, plats []ocispec.Platform) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# manifest-push's own image, written by integration/selfimage\n")
	fmt.Fprintf(&b, "image: %s\n", strconv.Quote(name+":"+target))
	quoted := make([]string, len(tags))
	for i, t := range tags {
		quoted[i] = strconv.Quote(t)
	}
	fmt.Fprintf(&b, "tags: [%s]\n", strings.Join(quoted, ", "))
	fmt.Fprintf(&b, "annotations:\n")
	fmt.Fprintf(&b, "  org.opencontainers.image.source: %s\n", strconv.Quote(Source))
	fmt.Fprintf(&b, "  org.opencontainers.image.version: %s\n", strconv.Quote(version))
	fmt.Fprintf(&b, "manifests:\n")
	for _, p := range plats {
		fmt.Fprintf(&b, "  - image: %s\n", strconv.Quote(name+":"+target+"-"+crossimage.Suffix(p)))
		fmt.Fprintf(&b, "    platform: {os: %s, architecture: %s", p.OS, p.Architecture)
		if p.Variant != "" {
			fmt.Fprintf(&b, ", variant: %s", p.Variant)
		}
		fmt.Fprintf(&b, "}\n")
	}
	return b.String()
}

// hostBinary returns the build for this machine when there is one (the
// tool publishing itself), else a manifest-push built for this machine.
func hostBinary(ctx context.Context, builds []crossimage.Build, work string) (string, error) {
	for _, b := range builds {
		if runtime.GOOS == b.Platform.OS && runtime.GOARCH == b.Platform.Architecture {
			return b.Out, nil
		}
	}
	dir := filepath.Join(work, "host")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("selfimage: %w", err)
	}
	return binary.Build(ctx, dir, binary.Options{})
}

// runTool runs manifest-push, shows the command and its output on out
// (indented), and returns the output.
func runTool(ctx context.Context, out io.Writer, bin string, args ...string) (string, error) {
	fmt.Fprintf(out, "    $ manifest-push %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	var all bytes.Buffer
	cmd.Stdout = &all
	cmd.Stderr = &all
	err := cmd.Run()
	for _, line := range strings.Split(strings.TrimRight(all.String(), "\n"), "\n") {
		if line = strings.TrimRight(line, " "); line == "" {
			fmt.Fprintln(out)
		} else {
			fmt.Fprintf(out, "    %s\n", line)
		}
	}
	if err != nil {
		return all.String(), fmt.Errorf("selfimage: manifest-push %s: %w", strings.Join(args, " "), err)
	}
	return all.String(), nil
}

// caBundle reads the CA bundle at path, or the first of CABundles when
// path is empty (nil, "" when there is none).
func caBundle(path string) ([]byte, string, error) {
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("selfimage: CA bundle: %w", err)
		}
		return data, path, nil
	}
	for _, p := range CABundles {
		if data, err := os.ReadFile(p); err == nil {
			return data, p, nil
		}
	}
	return nil, "", nil
}

// release matches a release version: MAJOR.MINOR.PATCH, with a "v" or not,
// and a pre-release suffix (-rc.1) or not.
var release = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)

// ImageTags gives the image's target tag and extra tags for a version: a
// release v1.2.3 is tagged 1.2.3, with 1.2, 1 and latest, so that a pipeline
// may follow a minor or a major version; a pre-release (1.2.3-rc.1) and
// anything else (a git describe) is tagged only as itself, without the "v".
func ImageTags(version string) (tag string, extra []string) {
	m := release.FindStringSubmatch(version)
	if m == nil {
		return version, []string{}
	}
	tag = strings.TrimPrefix(version, "v")
	if m[4] != "" {
		return tag, []string{}
	}
	return tag, []string{m[1] + "." + m[2], m[1], "latest"}
}

// gitVersion is `git describe --tags --always --dirty` in dir, as the
// Makefile stamps `make build`, or "dev".
func gitVersion(ctx context.Context, dir string) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = dir
	out, err := cmd.Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return "dev"
}
