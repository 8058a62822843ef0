package spec

import ocispec "github.com/opencontainers/image-spec/specs-go/v1"

// Args are the from-args flags.
type Args struct {
	// Platforms are os/arch[/variant][:os.version] strings.
	Platforms []string
	// Template is the source reference template with OS, ARCH, VARIANT and
	// OSVERSION placeholders.
	Template string
	// Target is the target reference.
	Target string
	// Tags are the extra tags.
	Tags []string
	// Annotations are key=value index annotations (split at the first =).
	Annotations []string
	// Type is TypeAuto, TypeOCI, TypeDocker or empty.
	Type string
}

// FromArgs builds and validates a spec from from-args flags.
func FromArgs(a Args) (*Spec, error) {
	panic("TODO")
}

// Expand replaces the placeholders of template for p, in one pass.
func Expand(template string, p ocispec.Platform) string {
	panic("TODO")
}
