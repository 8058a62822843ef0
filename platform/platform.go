// Package platform parses, normalises, validates and formats the platforms
// that entries of a multi-platform image carry (os/arch[/variant][:os.version]).
// It is pure value code over github.com/containerd/platforms.
package platform

import (
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Parse parses "os/arch[/variant][:os.version]", normalises aliases
// (x86_64→amd64, aarch64→arm64, armhf→arm/v7, i386→386) and rejects an
// unknown os or architecture with an error listing the known ones.
func Parse(s string) (ocispec.Platform, error) {
	panic("TODO")
}

// Normalize returns p with its aliases normalised. Empty fields stay empty
// (a spec may leave os and architecture to the image config); a set os or
// architecture that is unknown is an error listing the known ones.
func Normalize(p ocispec.Platform) (ocispec.Platform, error) {
	panic("TODO")
}

// Format renders p as os/arch[/variant][:os.version].
func Format(p ocispec.Platform) string {
	panic("TODO")
}

// Equal reports whether a and b are the same platform once normalised,
// including os.version and os.features (order-insensitive).
func Equal(a, b ocispec.Platform) bool {
	panic("TODO")
}
