package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
)

// TestVerifyDuplicateDescriptor: an index lists one linux/amd64 manifest
// twice, the second time as linux/386 and 100 bytes larger than it is (a
// 386 host would pick that entry and fail to pull it). verify checks every
// descriptor, not every distinct digest: it exits 5 naming the second entry
// (its position, digest and platform, and the size it claims), in text and
// in JSON; the first entry, which tells the truth, is not named.
func TestVerifyDuplicateDescriptor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd64 := e.image("app", "amd64", "linux/amd64")
	good := amd64
	good.Platform = &ocispec.Platform{OS: "linux", Architecture: "amd64"}
	bad := amd64
	bad.Size += 100
	bad.Platform = &ocispec.Platform{OS: "linux", Architecture: "386"}
	if _, err := imagetest.PushIndex(context.Background(), e.Client, e.Registry.URL(), "app", "1", []ocispec.Descriptor{good, bad}, imagetest.IndexOptions{Format: imagetest.OCI}); err != nil {
		t.Fatal(err)
	}
	index := e.TagDigest("app", "1")
	claim := fmt.Sprintf("the index says %d bytes of %s, the registry holds %d bytes of %s", bad.Size, bad.MediaType, amd64.Size, amd64.MediaType)
	badEntry := fmt.Sprintf("entry %s (linux/386), #2 in index %s", amd64.Digest, index)

	r := e.run("--plain-http", "verify", e.ref("app:1"))
	clitest.WantCode(t, r, 5)
	t.Logf("%s", r)
	if !strings.Contains(r.Stdout, "damaged: "+badEntry) || !strings.Contains(r.Stdout, claim) {
		t.Errorf("stdout does not name the second entry (%q) and what it claims (%q):\n%s", badEntry, claim, r)
	}
	if !strings.Contains(r.Stdout, "DAMAGED, 1 problem(s)") || strings.Contains(r.Stdout, "(linux/amd64)") {
		t.Errorf("want one problem, the second entry's:\n%s", r)
	}

	r = e.run("--plain-http", "--output", "json", "verify", e.ref("app:1"))
	clitest.WantCode(t, r, 5)
	var v struct {
		Problems []string `json:"problems"`
		Entries  int      `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r)
	}
	if len(v.Problems) != 1 || !strings.Contains(v.Problems[0], badEntry) || !strings.Contains(v.Problems[0], claim) {
		t.Errorf("JSON problems %q, want one naming %q and %q", v.Problems, badEntry, claim)
	}
	if v.Entries != 2 {
		t.Errorf("JSON entries %d, want 2 (both descriptors checked)", v.Entries)
	}
}
