// Command selfimage publishes manifest-push's own multi-platform image with
// manifest-push (make image REGISTRY=host:port): five static linux builds,
// one image each, assembled by the freshly built manifest-push.
//
//	cd integration && go run ./cmd/selfimage -registry HOST:PORT [-https] [-repo manifest-push] [-version V] [-tags T,...]
//
// A release version v1.2.3 is published as :1.2.3, :1.2, :1 and :latest;
// a pre-release or any other version only as itself.
//
// Without -registry (or $REGISTRY) it rehearses on a throw-away embedded
// registry. The push is anonymous: for a registry that needs credentials,
// build with the Dockerfile or rehearse here and copy the result.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/manifest-push/manifest-push/integration/internal/selfimage"
	"github.com/manifest-push/manifest-push/platform"
)

func main() {
	registry := flag.String("registry", os.Getenv("REGISTRY"), "registry host:port to publish to (default $REGISTRY; empty: a throw-away embedded registry)")
	https := flag.Bool("https", false, "speak HTTPS to the registry (default: plain HTTP)")
	repo := flag.String("repo", "manifest-push", "repository")
	version := flag.String("version", "", "version to stamp and tag (default: git describe --tags --always --dirty)")
	tags := flag.String("tags", "", "extra tags, comma-separated (default: MAJOR.MINOR, MAJOR and latest for a release version vMAJOR.MINOR.PATCH, none otherwise)")
	plats := flag.String("platforms", "", "linux platforms, comma-separated (default: linux/amd64,linux/arm64,linux/arm/v7,linux/ppc64le,linux/s390x)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "selfimage: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	opts := selfimage.Options{
		Out:      os.Stdout,
		Registry: *registry,
		HTTPS:    *https,
		Repo:     *repo,
		Version:  *version,
	}
	if *tags != "" {
		opts.Tags = split(*tags)
	}
	if *plats != "" {
		for _, s := range split(*plats) {
			p, err := platform.Parse(s)
			if err != nil {
				fmt.Fprintf(os.Stderr, "selfimage: -platforms: %v\n", err)
				os.Exit(2)
			}
			opts.Platforms = append(opts.Platforms, p)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := selfimage.Run(ctx, opts); err != nil {
		fmt.Fprintf(os.Stderr, "\nselfimage: %v\n", err)
		os.Exit(1)
	}
}

// split splits a comma-separated list, dropping empty items; "" gives an
// empty, non-nil list.
func split(s string) []string {
	out := []string{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
