package library

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/integration/internal/tokenauth"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Example is the library's main use, run for real: a program builds one
// registry.Client for its run and pushes two specs with it, on the embedded
// registry behind a token server. The client keeps one token cache, so the
// token server is asked once for both pushes; a rerun of both changes
// nothing and needs no new token either.
func Example() {
	ctx := context.Background()
	ts, err := tokenauth.StartTokenServer(tokenauth.TokenOptions{Username: "ci", Password: "s3cret"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ts.Close()
	reg, err := registrytest.Start(registrytest.Options{Token: ts.RegistryAuth()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	seed := &http.Client{Transport: ts.Transport(reg.Transport())}
	for _, arch := range []string{"amd64", "arm64"} {
		img := imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: arch}}
		if _, err := imagetest.PushImage(ctx, seed, reg.URL(), "build/hello", "1.0-"+arch, img); err != nil {
			fmt.Println(err)
			return
		}
	}
	ts.Reset()

	specs := make([]*spec.Spec, 2)
	for i, tags := range []string{"[latest]", "[stable]"} {
		yaml := strings.NewReplacer("REG", reg.Host(), "TAGS", tags).Replace(`image: REG/hello:1.0
tags: TAGS
manifests:
  - image: REG/build/hello:1.0-amd64
    platform: {os: linux, architecture: amd64}
  - image: REG/build/hello:1.0-arm64
    platform: {os: linux, architecture: arm64}
`)
		if specs[i], err = spec.Load(fmt.Sprintf("hello-%d.yaml", i), strings.NewReader(yaml), spec.LoadOptions{}); err != nil {
			fmt.Println(err)
			return
		}
	}

	client := registry.NewClient(registry.Options{
		PlainHTTP:   true,
		Credentials: registry.HostCredentials("ci", "s3cret", nil, reg.Host()),
	})
	for range 2 {
		for _, s := range specs {
			res, err := publish.Push(ctx, client, s, publish.Options{})
			if err != nil {
				fmt.Println(err)
				return
			}
			for _, t := range res.Tags {
				fmt.Printf("%s %s; ", t.Tag, t.Status)
			}
			fmt.Println(res.MediaType, res.Digest)
		}
	}
	fmt.Println("token requests:", ts.Hits())
	// Output:
	// 1.0 updated; latest updated; application/vnd.docker.distribution.manifest.list.v2+json sha256:a8f31a8b967b0a650a3ccd8173a0c973f3a7ae0120dd47c4c4d4cf1ba1f8b4da
	// 1.0 unchanged; stable updated; application/vnd.docker.distribution.manifest.list.v2+json sha256:a8f31a8b967b0a650a3ccd8173a0c973f3a7ae0120dd47c4c4d4cf1ba1f8b4da
	// 1.0 unchanged; latest unchanged; application/vnd.docker.distribution.manifest.list.v2+json sha256:a8f31a8b967b0a650a3ccd8173a0c973f3a7ae0120dd47c4c4d4cf1ba1f8b4da
	// 1.0 unchanged; stable unchanged; application/vnd.docker.distribution.manifest.list.v2+json sha256:a8f31a8b967b0a650a3ccd8173a0c973f3a7ae0120dd47c4c4d4cf1ba1f8b4da
	// token requests: 1
}
