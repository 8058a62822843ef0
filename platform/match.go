package platform

import (
	"slices"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DuplicateKey is the key of rule P5: two entries are the same platform
// exactly when their keys are equal. It is Key (os, architecture, variant
// with containerd's defaults, os.version, os.features as a set) and the
// platform's features (Docker manifest list v2.2's "features", as a set).
// The spec's offline check and the planner's check after the reads both
// use it, so a spec that passes one passes the other.
func DuplicateKey(p ocispec.Platform, features []string) string {
	return Key(p) + " " + setKey(features)
}

// Matches reports whether have is a platform that want asks for: every field
// want gives agrees with have once both are normalised; the fields want
// leaves empty match any value (linux/arm matches every arm variant,
// windows/amd64 every os.version). It is the one matcher of --platforms,
// --remove, inspect --platform and the platform of an index source
// (rule P4).
func Matches(want, have ocispec.Platform) bool {
	w, _ := NormalizeConfig(want)
	h, _ := NormalizeConfig(have)
	return Equal(FillFrom(w, h), h)
}

// FillFrom returns want with the fields it leaves empty taken from have: os
// and architecture; the variant when the two agree on the CPU; os.version
// and os.features when they agree on the os.
func FillFrom(want, have ocispec.Platform) ocispec.Platform {
	p := want
	p.OSFeatures = slices.Clone(want.OSFeatures)
	if p.OS == "" {
		p.OS = have.OS
	}
	if p.Architecture == "" {
		p.Architecture = have.Architecture
	}
	if p.Variant == "" && SameCPU(p, have) {
		p.Variant = have.Variant
	}
	if p.OSVersion == "" && p.OS == have.OS {
		p.OSVersion = have.OSVersion
	}
	if len(p.OSFeatures) == 0 && p.OS == have.OS {
		p.OSFeatures = slices.Clone(have.OSFeatures)
	}
	return p
}

// SameCPU reports whether two platforms agree on os and architecture, and
// on the variant when both give one.
func SameCPU(a, b ocispec.Platform) bool {
	x := ocispec.Platform{OS: a.OS, Architecture: a.Architecture, Variant: a.Variant}
	y := ocispec.Platform{OS: b.OS, Architecture: b.Architecture, Variant: b.Variant}
	if x.Variant == "" {
		x.Variant = y.Variant
	}
	if y.Variant == "" {
		y.Variant = x.Variant
	}
	return Equal(x, y)
}
