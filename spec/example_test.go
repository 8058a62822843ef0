package spec_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/spec"
)

func ExampleLoad() {
	const helloarch = `
image: ${REGISTRY}/helloarch:1.0
tags: [latest]
manifests:
  - image: ${REGISTRY}/helloarch:1.0-linux-amd64
    platform: {os: linux, architecture: x86_64}
  - image: ${REGISTRY}/helloarch:1.0-linux-arm-v7
    platform: {os: linux, architecture: arm, variant: v7}
  - image: ${REGISTRY}/helloarch:1.0-windows
    platform:
      os: windows
      architecture: amd64
      osversion: 10.0.17763.6189
`
	env := func(name string) (string, bool) {
		if name == "REGISTRY" {
			return "registry.example.com", true
		}
		return "", false
	}
	s, err := spec.Load("helloarch.yaml", strings.NewReader(helloarch), spec.LoadOptions{LookupEnv: env})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("target:", s.Target, "tags:", s.Tags)
	for _, e := range s.Manifests {
		fmt.Printf("line %d: %s from %s\n", e.Pos.Line, platform.Format(*e.Platform), e.Image)
	}

	// Every problem of a file is reported, each with its position.
	_, err = spec.Load("typo.yaml", strings.NewReader("image: hello\nmanifests:\n  - image: hello-amd64\n    platform: {os: linux, architecure: amd64}\n  -\n"), spec.LoadOptions{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, spec.ErrInvalidSpec))
	// Output:
	// target: registry.example.com/helloarch:1.0 tags: [latest]
	// line 5: linux/amd64 from registry.example.com/helloarch:1.0-linux-amd64
	// line 7: linux/arm/v7 from registry.example.com/helloarch:1.0-linux-arm-v7
	// line 9: windows/amd64:10.0.17763.6189 from registry.example.com/helloarch:1.0-windows
	// typo.yaml:4:27: unknown key "architecure" in a platform (did you mean "architecture"?); known keys: os, architecture, variant, os.version, os.features, features
	// typo.yaml:5:4: empty item in "manifests": remove the lone "-" or give it image and platform
	// true
}

func ExampleFromArgs() {
	s, _, err := spec.FromArgs(spec.Args{
		Platforms: []string{"linux/amd64,linux/arm/v7", "linux/arm64"},
		Template:  "reg.example/img-OS-ARCH-VARIANT:1.2",
		Target:    "reg.example/img:1.2",
		Tags:      []string{"1,latest"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range s.Manifests {
		fmt.Println(platform.Format(*e.Platform), "<-", e.Image)
	}
	// Output:
	// linux/amd64 <- reg.example/img-linux-amd64:1.2
	// linux/arm/v7 <- reg.example/img-linux-arm-v7:1.2
	// linux/arm64 <- reg.example/img-linux-arm64:1.2
}

func ExampleExpand() {
	p, err := platform.Parse("windows/amd64:10.0.17763.6189")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec.Expand("img:OS-ARCH-VARIANT-OSVERSION", p))
	// Output:
	// img:windows-amd64-10.0.17763.6189
}
