package publish_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ExamplePush pushes a two-platform index, with an extra tag, built from two
// images in another repository of the same registry. (It needs a registry,
// so it is compiled, not run here; integration/registrylib's Example runs
// the same call against the embedded registry and checks its output.)
func ExamplePush() {
	named := func(s string) reference.Named {
		n, err := reference.ParseNormalizedNamed(s)
		if err != nil {
			panic(err)
		}
		return reference.TagNameOnly(n)
	}
	s := &spec.Spec{
		Name:   "example",
		Target: named("registry.example.com/hello:1.0").(reference.NamedTagged),
		Tags:   []string{"latest"},
		Manifests: []spec.Entry{
			{Image: named("registry.example.com/build/hello:1.0-amd64"), Platform: &ocispec.Platform{OS: "linux", Architecture: "amd64"}},
			{Image: named("registry.example.com/build/hello:1.0-arm64"), Platform: &ocispec.Platform{OS: "linux", Architecture: "arm64"}},
		},
	}
	client := registry.NewClient(registry.Options{}) // one per run, shared by every push
	res, err := publish.Push(context.Background(), client, s, publish.Options{})
	var tagsErr *publish.TagsError
	switch {
	case errors.As(err, &tagsErr):
		fmt.Println("partly pushed:", tagsErr)
		return
	case errors.Is(err, registry.ErrNotFound):
		fmt.Println("a source is missing:", err)
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	for _, t := range res.Tags {
		fmt.Println(t.Tag, t.Status)
	}
	fmt.Println("Digest:", res.Digest, res.Size)
}
