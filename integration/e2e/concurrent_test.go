package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
)

// Eight CI jobs finish at the same moment, each appending its platform to
// the same tag, through a registry that takes 20 ms per request: every one
// exits 0 and the tag ends up holding all eight (and the base entry), with
// every child present, in each of 20 repetitions. No peer makes this safe
// (each is read-modify-write, last writer wins).
func TestConcurrentAppendsConverge(t *testing.T) {
	t.Parallel()
	const reps = 20
	e := newEnv(t)
	appended := []ocispec.Platform{
		plat(t, "linux/arm64"), plat(t, "linux/arm/v7"), plat(t, "linux/arm/v6"), plat(t, "linux/ppc64le"),
		plat(t, "linux/s390x"), plat(t, "linux/riscv64"), plat(t, "linux/386"), windows,
	}
	images := make([]ocispec.Descriptor, len(appended))
	for i, p := range appended {
		images[i] = e.Push("build/app", fmt.Sprintf("job%d", i), imagetest.Image{Platform: p})
	}
	base := e.image("build/app", "base", "linux/amd64")
	cfg := filepath.Join(t.TempDir(), "docker")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		t.Fatal(err)
	}

	rounds := map[int]int{} // rounds → how many appenders took that many
	e.Proxy.SetDelay(20 * time.Millisecond)
	for rep := range reps {
		tag := fmt.Sprintf("rep%d", rep)
		r := e.run("--plain-http", "from-args", "--target", e.ref("app:"+tag), e.ref("build/app:base"))
		clitest.WantCode(t, r, 0)

		cmds := make([]*exec.Cmd, len(appended))
		outs := make([]*bytes.Buffer, len(appended))
		errs := make([]*bytes.Buffer, len(appended))
		for i := range appended {
			cmds[i] = exec.CommandContext(t.Context(), bin, "--plain-http", "-o", "json", "from-args", "--append",
				"--target", e.ref("app:"+tag), e.ref(fmt.Sprintf("build/app:job%d", i)))
			cmds[i].Env = []string{"HOME=" + e.Dir, "DOCKER_CONFIG=" + cfg, "PATH=" + os.Getenv("PATH")}
			outs[i], errs[i] = new(bytes.Buffer), new(bytes.Buffer)
			cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
		}
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Fatalf("repetition %d, appender %d (%s): %v\n%s%s", rep, i, platforms.FormatAll(appended[i]), err, outs[i], errs[i])
			}
			var res struct {
				Rounds int `json:"rounds"`
			}
			if err := json.Unmarshal(outs[i].Bytes(), &res); err != nil || res.Rounds < 1 {
				t.Fatalf("repetition %d, appender %d: rounds %d (%v)\n%s", rep, i, res.Rounds, err, outs[i])
			}
			rounds[res.Rounds]++
		}

		p := e.index("app", tag)
		want := map[string]bool{base.Digest.String(): true}
		for _, img := range images {
			want[img.Digest.String()] = true
		}
		for _, m := range p.index.Manifests {
			delete(want, m.Digest.String())
			e.hasImage("app", m.Digest)
		}
		if len(p.index.Manifests) != len(images)+1 || len(want) != 0 {
			var got []string
			for _, m := range p.index.Manifests {
				got = append(got, platforms.FormatAll(*m.Platform))
			}
			t.Fatalf("repetition %d: app:%s holds %d entries (%s); missing %d", rep, tag, len(p.index.Manifests), strings.Join(got, ", "), len(want))
		}
	}
	var keys []int
	for k := range rounds {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var dist []string
	for _, k := range keys {
		dist = append(dist, fmt.Sprintf("%d round(s): %d", k, rounds[k]))
	}
	t.Logf("%d appenders in %d repetitions: %s", reps*len(appended), reps, strings.Join(dist, ", "))
}
