package registrylib

import (
	"context"
	"fmt"
	"strings"

	"github.com/manifest-push/manifest-push/integration/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/libtest"
	"github.com/manifest-push/manifest-push/integration/registrytest"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Example is the library's main call, run for real: registry.Push publishes
// two images of a build repository as one index with an extra tag, on the
// embedded registry; the same push again changes nothing.
func Example() {
	ctx := context.Background()
	reg, err := registrytest.Start(registrytest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	for _, arch := range []string{"amd64", "arm64"} {
		img := imagetest.Image{Platform: ocispec.Platform{OS: "linux", Architecture: arch}}
		if _, err := imagetest.PushImage(ctx, reg.Client(), reg.URL(), "build/hello", "1.0-"+arch, img); err != nil {
			fmt.Println(err)
			return
		}
	}

	yaml := strings.ReplaceAll(`image: REG/hello:1.0
tags: [latest]
manifests:
  - image: REG/build/hello:1.0-amd64
    platform: {os: linux, architecture: amd64}
  - image: REG/build/hello:1.0-arm64
    platform: {os: linux, architecture: arm64}
`, "REG", reg.Host())
	s, err := spec.Load("hello.yaml", strings.NewReader(yaml), spec.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 2 {
		res, err := libtest.Push(ctx, s, libtest.Options{ClientOptions: registry.Options{PlainHTTP: true}})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, t := range res.Tags {
			fmt.Printf("%s %s; ", t.Tag, t.Status)
		}
		fmt.Println("changed:", res.Changed)
		fmt.Println(" ", res.MediaType, res.Digest)
		for _, m := range res.Manifests {
			fmt.Println(" ", m.Platform, m.Digest)
		}
	}
	// Output:
	// 1.0 updated; latest updated; changed: true
	//   application/vnd.docker.distribution.manifest.list.v2+json sha256:a8f31a8b967b0a650a3ccd8173a0c973f3a7ae0120dd47c4c4d4cf1ba1f8b4da
	//   linux/amd64 sha256:e8ccad1dd8509d9bf94df67de91bf8fb5c28f8e4a07ff2ce3576d9c4ab24d715
	//   linux/arm64 sha256:eb3c4b19c94b1cdb6ba4141b8269fe4304c05b0fb59d9ae7542cf26588a2c6c4
	// 1.0 unchanged; latest unchanged; changed: false
	//   application/vnd.docker.distribution.manifest.list.v2+json sha256:a8f31a8b967b0a650a3ccd8173a0c973f3a7ae0120dd47c4c4d4cf1ba1f8b4da
	//   linux/amd64 sha256:e8ccad1dd8509d9bf94df67de91bf8fb5c28f8e4a07ff2ce3576d9c4ab24d715
	//   linux/arm64 sha256:eb3c4b19c94b1cdb6ba4141b8269fe4304c05b0fb59d9ae7542cf26588a2c6c4
}
