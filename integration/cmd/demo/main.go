// Command demo runs the helloarch story end to end (make demo): six
// per-platform images assembled under one name by manifest-push, then each
// linux platform's entry picked from the index and run, natively or under
// qemu-user-static.
//
//	cd integration && go run ./cmd/demo [-registry HOST:PORT] [-https]
//
// Without -registry (or $REGISTRY), it starts go-containerregistry's
// registry in-process on 127.0.0.1 and stops it at the end. It exits 1 when
// a step fails or a program greets wrongly. $MP_DEMO_START (Unix seconds,
// set by scripts/demo.sh) is when the demo began, compiling itself
// included: its "Done in" counts from there.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/demo"
)

func main() {
	registry := flag.String("registry", os.Getenv("REGISTRY"), "use this registry (host:port) instead of the embedded one (default $REGISTRY)")
	https := flag.Bool("https", false, "speak HTTPS to -registry (default: plain HTTP)")
	bin := flag.String("manifest-push", "", "run this manifest-push executable (default: build it from the product module)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "demo: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}

	var start time.Time
	if v := os.Getenv("MP_DEMO_START"); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "demo: MP_DEMO_START=%q: want Unix seconds\n", v)
			os.Exit(2)
		}
		start = time.Unix(sec, 0)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := demo.Run(ctx, demo.Options{
		Out:      os.Stdout,
		Registry: *registry,
		HTTPS:    *https,
		Binary:   *bin,
		Start:    start,
	})
	if err != nil {
		os.Exit(1)
	}
}
