// Command peers measures what other index tools do today, for the README's
// "Compared with the others": it starts two embedded distribution
// registries (a source and a target, on different hosts), seeds the source
// with two OCI images, a referrer of one (referrers tag schema) and a
// cosign-style digest tag, writes OCI image layouts (a directory by
// go-containerregistry's layout package and a tar archive of it), runs
// crane, regctl, oras and docker manifest against them, and reports, for
// each question, what each tool left in the target registry (read back
// over HTTP, not taken from the tool's output).
//
//	go install github.com/google/go-containerregistry/cmd/crane@v0.22.1
//	go install oras.land/oras/cmd/oras@v1.3.6
//	go install github.com/regclient/regclient/cmd/regctl@latest
//	go run ./cmd/peers            # tools looked up on PATH and in $(go env GOPATH)/bin
//
// A tool that is not installed is reported as such; the rest still run.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

// world is the registries, what was seeded and the scratch directory.
type world struct {
	src, dst       *registrytest.Registry
	client         *http.Client
	amd64, arm64   ocispec.Descriptor
	referrer       ocispec.Descriptor
	sigTag         string
	home           string
	layoutDir      string
	layoutDir2     string
	layoutTar      string
	layoutImage    digest.Digest
	layoutImage2   digest.Digest
	tools          map[string]string
	ctx            context.Context
	srcURL, dstURL string
}

func run() error {
	ctx := context.Background()
	src, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		return err
	}
	defer dst.Close()
	home, err := os.MkdirTemp("", "peers")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	w := &world{src: src, dst: dst, client: &http.Client{Timeout: time.Minute}, home: home, ctx: ctx, srcURL: src.URL(), dstURL: dst.URL()}
	if err := w.seed(); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	w.findTools()
	fmt.Printf("source registry %s, target registry %s (distribution, plain HTTP)\n\n", src.Host(), dst.Host())
	fmt.Println("| tool | command | question | measured |")
	fmt.Println("|---|---|---|---|")
	w.crossRegistry()
	w.layouts()
	return nil
}

// seed pushes src/img:amd64 and :arm64 (OCI), an SBOM whose subject is
// amd64 listed in the referrers tag schema (sha256-<hex>), and a
// cosign-style tag sha256-<hex>.sig on amd64's digest; and writes two
// layouts and a tar archive of the first.
func (w *world) seed() error {
	var err error
	base := w.srcURL
	if w.amd64, err = imagetest.PushImage(w.ctx, w.client, base, "src/img", "amd64", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, Format: imagetest.OCI}); err != nil {
		return err
	}
	if w.arm64, err = imagetest.PushImage(w.ctx, w.client, base, "src/img", "arm64", imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "arm64"}, Format: imagetest.OCI}); err != nil {
		return err
	}
	if w.referrer, err = w.pushReferrer("src/img", w.amd64); err != nil {
		return err
	}
	w.referrer.ArtifactType = "application/spdx+json"
	if _, err = imagetest.PushIndex(w.ctx, w.client, base, "src/img", "sha256-"+w.amd64.Digest.Encoded(), []ocispec.Descriptor{w.referrer}, imagetest.IndexOptions{Format: imagetest.OCI}); err != nil {
		return err
	}
	w.sigTag = "sha256-" + w.amd64.Digest.Encoded() + ".sig"
	if _, err = imagetest.PushImage(w.ctx, w.client, base, "src/img", w.sigTag, imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, Format: imagetest.OCI, Files: map[string][]byte{"sig": []byte("signature")}}); err != nil {
		return err
	}
	w.layoutDir = filepath.Join(w.home, "layout")
	if w.layoutImage, err = writeLayout(w.layoutDir, "v1"); err != nil {
		return err
	}
	w.layoutDir2 = filepath.Join(w.home, "layout2")
	if w.layoutImage2, err = writeLayout(w.layoutDir2, "v1"); err != nil {
		return err
	}
	w.layoutTar = filepath.Join(w.home, "layout.tar")
	return tarDir(w.layoutDir, w.layoutTar)
}

// pushReferrer pushes an OCI 1.1 artifact (an SBOM) whose subject is
// subject, as oras attach and cosign write one.
func (w *world) pushReferrer(repo string, subject ocispec.Descriptor) (ocispec.Descriptor, error) {
	config, err := imagetest.PushBlob(w.ctx, w.client, w.srcURL, repo, "application/vnd.oci.empty.v1+json", []byte("{}"))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	layer, err := imagetest.PushBlob(w.ctx, w.client, w.srcURL, repo, "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: "application/spdx+json",
		Config:       config,
		Layers:       []ocispec.Descriptor{layer},
		Subject:      &ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
	}
	body, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return imagetest.PushManifest(w.ctx, w.client, w.srcURL, repo, "", ocispec.MediaTypeImageManifest, body)
}

// writeLayout writes a random image tagged tag into a new layout at dir.
func writeLayout(dir, tag string) (digest.Digest, error) {
	p, err := ggcrlayout.Write(dir, empty.Index)
	if err != nil {
		return "", err
	}
	img, err := random.Image(2048, 2)
	if err != nil {
		return "", err
	}
	if err := p.AppendImage(img, ggcrlayout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: tag}), ggcrlayout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})); err != nil {
		return "", err
	}
	h, err := img.Digest()
	return digest.Digest(h.String()), err
}

// tarDir archives dir as `tar -C dir -cf out .` does.
func tarDir(dir, out string) error {
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
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimSuffix(name, "/.") + "/", Mode: 0o755})
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
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

func (w *world) findTools() {
	w.tools = map[string]string{}
	gobin := filepath.Join(os.Getenv("HOME"), "go", "bin")
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		gobin = filepath.Join(strings.TrimSpace(string(out)), "bin")
	}
	for _, name := range []string{"crane", "regctl", "oras", "docker"} {
		if p, err := exec.LookPath(name); err == nil {
			w.tools[name] = p
		} else if p := filepath.Join(gobin, name); fileExists(p) {
			w.tools[name] = p
		}
	}
	if p, ok := w.tools["regctl"]; ok {
		for _, h := range []string{w.src.Host(), w.dst.Host()} {
			w.exec(p, "registry", "set", "--tls", "disabled", h)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// exec runs a tool with HOME and DOCKER_CONFIG in the scratch directory,
// and returns its exit code and the last line of its combined output.
func (w *world) exec(bin string, args ...string) (int, string) {
	ctx, cancel := context.WithTimeout(w.ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+w.home, "DOCKER_CONFIG="+filepath.Join(w.home, "docker"))
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	line := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:] // the last line: where tools say why they failed
	}
	if len(line) > 160 {
		line = line[:160] + "…"
	}
	return code, line
}

// row prints one measurement.
func row(tool, command, question, measured string) {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	fmt.Printf("| %s | `%s` | %s | %s |\n", tool, esc(command), esc(question), esc(measured))
}

// has reports whether the target registry holds ref (a tag or a digest)
// in repo.
func (w *world) has(repo, ref string) bool {
	_, err := imagetest.HeadManifest(w.ctx, w.client, w.dstURL, repo, ref)
	return err == nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// outcome describes what an index command left in the target repository.
func (w *world) outcome(code int, out, repo, tag string) string {
	if code != 0 {
		return fmt.Sprintf("exit %d: %s", code, out)
	}
	return fmt.Sprintf("exit 0; index tagged: %s; children in the target repository: %s; referrer (tag schema sha256-<hex>): %s; digest tag .sig: %s",
		yesNo(w.has(repo, tag)),
		yesNo(w.has(repo, w.amd64.Digest.String()) && w.has(repo, w.arm64.Digest.String())),
		yesNo(w.has(repo, w.referrer.Digest.String())),
		yesNo(w.has(repo, w.sigTag)))
}

func (w *world) missing(tool string) bool {
	if _, ok := w.tools[tool]; !ok {
		row(tool, "-", "-", "not installed")
		return true
	}
	return false
}

// crossRegistry: index tools given sources on another registry.
func (w *world) crossRegistry() {
	s, d := w.src.Host(), w.dst.Host()
	if !w.missing("crane") {
		args := []string{"index", "append", "--insecure", "-t", d + "/t/crane:1", "-m", s + "/src/img:amd64", "-m", s + "/src/img:arm64"}
		code, out := w.exec(w.tools["crane"], args...)
		row("crane", "crane "+strings.Join(args, " "), "index from sources on another registry", w.outcome(code, out, "t/crane", "1"))
	}
	if !w.missing("regctl") {
		args := []string{"index", "create", d + "/t/regctl:1", "--ref", s + "/src/img:amd64", "--ref", s + "/src/img:arm64", "--referrers", "--digest-tags"}
		code, out := w.exec(w.tools["regctl"], args...)
		row("regctl", "regctl "+strings.Join(args, " "), "index from sources on another registry, with --referrers --digest-tags", w.outcome(code, out, "t/regctl", "1"))
		args = []string{"index", "create", d + "/t/regctl2:1", "--ref", s + "/src/img:amd64", "--ref", s + "/src/img:arm64"}
		code, out = w.exec(w.tools["regctl"], args...)
		row("regctl", "regctl "+strings.Join(args, " "), "the same without --referrers --digest-tags", w.outcome(code, out, "t/regctl2", "1"))
	}
	if !w.missing("oras") {
		args := []string{"manifest", "index", "create", "--plain-http", d + "/t/oras:1", s + "/src/img:amd64"}
		code, out := w.exec(w.tools["oras"], args...)
		row("oras", "oras "+strings.Join(args, " "), "index from a source in another repository", w.outcome(code, out, "t/oras", "1"))
		args = []string{"cp", "-r", "--from-plain-http", "--to-plain-http", s + "/src/img:amd64", d + "/t/oras:amd64"}
		code, out = w.exec(w.tools["oras"], args...)
		cp := fmt.Sprintf("exit %d %s; image: %s; referrer: %s; .sig tag: %s", code, out, yesNo(w.has("t/oras", w.amd64.Digest.String())), yesNo(w.has("t/oras", w.referrer.Digest.String())), yesNo(w.has("t/oras", w.sigTag)))
		row("oras", "oras "+strings.Join(args, " "), "copy one image with its referrers", cp)
		w.exec(w.tools["oras"], "cp", "--from-plain-http", "--to-plain-http", s+"/src/img:arm64", d+"/t/oras:arm64")
		args = []string{"manifest", "index", "create", "--plain-http", d + "/t/oras:1", "amd64", "arm64"}
		code, out = w.exec(w.tools["oras"], args...)
		row("oras", "oras "+strings.Join(args, " "), "index from tags of the same repository (after oras cp)", w.outcome(code, out, "t/oras", "1"))
	}
	if !w.missing("docker") {
		args := []string{"manifest", "create", "--insecure", d + "/t/docker:1", s + "/src/img:amd64", s + "/src/img:arm64"}
		code, out := w.exec(w.tools["docker"], args...)
		if code == 0 {
			code, out = w.exec(w.tools["docker"], "manifest", "push", "--insecure", d+"/t/docker:1")
		}
		row("docker", "docker "+strings.Join(args, " ")+" && docker manifest push --insecure "+d+"/t/docker:1", "index from sources on another registry", w.outcome(code, out, "t/docker", "1"))
	}
}

// layouts: which tools read an OCI layout (directory, tar archive), and
// whether any builds an index from several.
func (w *world) layouts() {
	d := w.dst.Host()
	report := func(tool, cmd, q string, code int, out, repo, tag string, want digest.Digest) {
		m := fmt.Sprintf("exit %d", code)
		if code != 0 {
			m += ": " + out
		}
		m += "; image in the target: " + yesNo(w.has(repo, want.String())) + "; tagged: " + yesNo(w.has(repo, tag))
		row(tool, cmd, q, m)
	}
	if !w.missing("crane") {
		for _, p := range []string{w.layoutDir, w.layoutTar} {
			repo := "l/crane-" + kind(p)
			args := []string{"push", "--insecure", p, d + "/" + repo + ":1"}
			code, out := w.exec(w.tools["crane"], args...)
			report("crane", "crane push --insecure "+filepath.Base(p)+" REG/"+repo+":1", "push an OCI layout ("+kind(p)+")", code, out, repo, "1", w.layoutImage)
		}
	}
	if !w.missing("regctl") {
		for _, p := range []string{w.layoutDir, w.layoutTar} {
			repo := "l/regctl-" + kind(p)
			args := []string{"image", "copy", "ocidir://" + p + ":v1", d + "/" + repo + ":1"}
			code, out := w.exec(w.tools["regctl"], args...)
			report("regctl", "regctl image copy ocidir://"+filepath.Base(p)+":v1 REG/"+repo+":1", "copy from an OCI layout ("+kind(p)+")", code, out, repo, "1", w.layoutImage)
		}
		args := []string{"image", "import", d + "/l/regctl-import:1", w.layoutTar}
		code, out := w.exec(w.tools["regctl"], args...)
		report("regctl", "regctl image import REG/l/regctl-import:1 layout.tar", "import an OCI layout tar archive", code, out, "l/regctl-import", "1", w.layoutImage)
		args = []string{"index", "create", d + "/l/regctl-index:1", "--ref", "ocidir://" + w.layoutDir + ":v1", "--ref", "ocidir://" + w.layoutDir2 + ":v1"}
		code, out = w.exec(w.tools["regctl"], args...)
		m := fmt.Sprintf("exit %d", code)
		if code != 0 {
			m += ": " + out
		}
		m += "; index tagged: " + yesNo(w.has("l/regctl-index", "1")) + "; both images in the target: " + yesNo(w.has("l/regctl-index", w.layoutImage.String()) && w.has("l/regctl-index", w.layoutImage2.String()))
		row("regctl", "regctl index create REG/l/regctl-index:1 --ref ocidir://layout:v1 --ref ocidir://layout2:v1", "index in a registry from two layouts", m)
	}
	if !w.missing("oras") {
		for _, p := range []string{w.layoutDir, w.layoutTar} {
			repo := "l/oras-" + kind(p)
			args := []string{"cp", "--from-oci-layout", "--to-plain-http", p + ":v1", d + "/" + repo + ":1"}
			code, out := w.exec(w.tools["oras"], args...)
			report("oras", "oras cp --from-oci-layout --to-plain-http "+filepath.Base(p)+":v1 REG/"+repo+":1", "copy from an OCI layout ("+kind(p)+")", code, out, repo, "1", w.layoutImage)
		}
	}
}

func kind(p string) string {
	if strings.HasSuffix(p, ".tar") {
		return "tar"
	}
	return "dir"
}
