package publish

import (
	"context"
	"errors"
	"fmt"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/spec"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ExamplePush pushes a two-platform index, with an extra tag, built from two
// images in another repository of the same registry, and pushes it again
// (nothing is written the second time). A program passes one
// registry.NewClient(registry.Options{}) for its whole run where this
// example passes an in-memory registry; integration/library's Example runs
// the same call against the embedded distribution registry.
func ExamplePush() {
	reg := newFake() // a program: registry.NewClient(registry.Options{})
	reg.image("registry.example.com/build/hello", "1.0-amd64", ocispec.Platform{OS: "linux", Architecture: "amd64"})
	reg.image("registry.example.com/build/hello", "1.0-arm64", ocispec.Platform{OS: "linux", Architecture: "arm64"})

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
	for range 2 {
		res, err := Push(context.Background(), reg, s, Options{})
		var tagsErr *TagsError
		switch {
		case errors.As(err, &tagsErr):
			fmt.Println("partly pushed:", tagsErr)
			return
		case err != nil:
			fmt.Println(err)
			return
		}
		for _, c := range res.Changes {
			fmt.Println(c.Change, c.Platform)
		}
		for _, t := range res.Tags {
			fmt.Println(res.Ref.Name()+":"+t.Tag, t.Status)
		}
		fmt.Println("Digest:", res.Digest, res.Size)
	}
	// Output:
	// added linux/amd64
	// added linux/arm64
	// registry.example.com/hello:1.0 updated
	// registry.example.com/hello:latest updated
	// Digest: sha256:35f987608272076b58cbc3f4d46c3bf6793006da70e4e5b2685e21e257322d8b 703
	// registry.example.com/hello:1.0 unchanged
	// registry.example.com/hello:latest unchanged
	// Digest: sha256:35f987608272076b58cbc3f4d46c3bf6793006da70e4e5b2685e21e257322d8b 703
}
