package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

// deleting starts a registry that takes deletes, as one under a cleanup
// job does.
func deleting(t *testing.T) *env {
	t.Helper()
	return &env{t: t, Env: clitest.NewEnv(t, registrytest.Options{Configure: func(c *configuration.Configuration) {
		c.Storage["delete"] = configuration.Parameters{"enabled": true}
	}})}
}

func (e *env) delete(path string) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodDelete, e.Registry.URL()+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		e.t.Fatalf("DELETE %s: %d", path, resp.StatusCode)
	}
}

// verify on a whole index exits 0; after a child is deleted (a cleanup job
// removing "untagged" manifests) it exits 5 naming the child; with --blobs,
// after a blob is deleted, 5 naming the blob.
func TestVerify(t *testing.T) {
	t.Parallel()
	e := deleting(t)
	amd64, arm64, _ := e.linuxImages("app")
	clitest.WantCode(t, e.run("--plain-http", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", e.ref("app:ARCH"), "--target", e.ref("app:1")), 0)
	index := e.TagDigest("app", "1")

	r := e.run("--plain-http", "verify", e.ref("app:1"), "--blobs")
	clitest.WantCode(t, r, 0)
	t.Logf("%s", r)
	if want := fmt.Sprintf("%s@%s: whole (2 entries, 4 blobs checked)\n", e.ref("app:1"), index); r.Stdout != want {
		t.Errorf("stdout %q, want %q", r.Stdout, want)
	}

	// A blob of arm64 goes: only --blobs sees it.
	_, body, _, err := imagetest.GetManifest(context.Background(), e.Client, e.Registry.URL(), "app", arm64.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	e.delete("/v2/app/blobs/" + m.Layers[0].Digest.String())
	clitest.WantCode(t, e.run("--plain-http", "verify", e.ref("app:1")), 0)
	r = e.run("--plain-http", "verify", "--blobs", e.ref("app:1"))
	clitest.WantCode(t, r, 5)
	t.Logf("%s", r)
	if !strings.Contains(r.Stdout, "damaged: blob "+m.Layers[0].Digest.String()) || !strings.Contains(r.Stdout, "of "+arm64.Digest.String()) {
		t.Errorf("stdout does not name the blob and its image:\n%s", r)
	}

	// amd64's manifest goes.
	e.delete("/v2/app/manifests/" + amd64.Digest.String())
	r = e.run("--plain-http", "verify", e.ref("app:1"))
	clitest.WantCode(t, r, 5)
	t.Logf("%s", r)
	if !strings.Contains(r.Stdout, "damaged: entry "+amd64.Digest.String()+" (linux/amd64) is missing from "+e.ref("app")) || !strings.Contains(r.Stdout, "DAMAGED, 1 problem(s)") {
		t.Errorf("stdout does not name the child:\n%s", r)
	}
	r = e.run("--plain-http", "-o", "json", "verify", e.ref("app:1"))
	clitest.WantCode(t, r, 5)
	var v struct {
		Problems []string `json:"problems"`
		Entries  int      `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || len(v.Problems) != 1 || v.Entries != 2 {
		t.Errorf("JSON %q (%v)", r.Stdout, err)
	}

	// A registry that cannot be asked: exit 1.
	r = e.run("verify", e.ref("app:1")) // no --plain-http
	clitest.WantCode(t, r, 1)
}
