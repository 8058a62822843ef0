// Command demo runs the helloarch story end to end (make demo): six
// per-platform images assembled under one name by manifest-push, then each
// linux platform's entry picked from the index and run, natively or under
// qemu-user-static.
//
//	cd integration && go run ./cmd/demo [-registry HOST:PORT] [-https]
//
// Without -registry (or $REGISTRY), it starts the embedded distribution
// registry on 127.0.0.1 and stops it at the end. It exits 1 when a step
// fails or a program greets wrongly.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

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

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := demo.Run(ctx, demo.Options{
		Out:      os.Stdout,
		Registry: *registry,
		HTTPS:    *https,
		Binary:   *bin,
	})
	if err != nil {
		os.Exit(1)
	}
}
