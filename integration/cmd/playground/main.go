// Command playground starts a registry seeded with the demo's images and
// stays up, printing the commands to try against it (make playground): the
// README's "Use" section, followed locally. It runs the demo first (the
// per-platform images, the assembled helloarch:1.0), then waits for Ctrl-C.
//
//	cd integration && go run ./cmd/playground
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/demo"
)

func main() {
	var start time.Time
	if v := os.Getenv("MP_DEMO_START"); v != "" {
		if sec, err := strconv.ParseInt(v, 10, 64); err == nil {
			start = time.Unix(sec, 0)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := demo.Run(ctx, demo.Options{Out: os.Stdout, Start: start, Hold: hold})
	if err != nil && ctx.Err() == nil {
		os.Exit(1)
	}
}

// hold prints the commands to try and waits for Ctrl-C.
func hold(ctx context.Context, rep demo.Report) error {
	reg := rep.Registry
	mp := rep.Binary + " --plain-http"
	fmt.Printf(`
==> The playground is up: a registry at %[1]s (plain HTTP, in memory), seeded
    with the demo's images. Try these in another terminal; Ctrl-C here stops it all.

    export REGISTRY=%[1]s MP=%[2]q
    alias manifest-push="$MP"     # or: make build, then bin/manifest-push --plain-http

    # what the demo pushed
    manifest-push inspect $REGISTRY/helloarch:1.0
    manifest-push verify --blobs $REGISTRY/helloarch:1.0

    # a spec file (examples/helloarch/helloarch.yaml reads ${REGISTRY}): check it, rehearse, push
    manifest-push validate examples/helloarch/helloarch.yaml
    manifest-push from-spec --dry-run examples/helloarch/helloarch.yaml
    manifest-push from-spec examples/helloarch/helloarch.yaml

    # the same by flags, under another name, two platforms
    manifest-push from-args --platforms linux/amd64,linux/arm64 \
        --template $REGISTRY/helloarch:1.0-OS-ARCH --target $REGISTRY/hello2:1.0
    manifest-push inspect --format '{{range .Manifests}}{{.Platform}} {{end}}' $REGISTRY/hello2:1.0

    # update it: add arm/v7, then take arm64 out
    manifest-push from-args --append --platforms linux/arm/v7 \
        --template $REGISTRY/helloarch:1.0-OS-ARCH-VARIANT --target $REGISTRY/hello2:1.0
    manifest-push from-args --append --remove linux/arm64 --target $REGISTRY/hello2:1.0

    # the per-platform images it holds:
    #   %[3]s
`, reg, mp, strings.Join(rep.Images, "\n    #   "))
	<-ctx.Done()
	fmt.Println("\nStopping the playground.")
	return nil
}
