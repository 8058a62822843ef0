// Package platform parses, normalises, validates and formats the platforms
// that entries of a multi-platform image carry (os/arch[/variant][:os.version]).
//
// It is pure value code that follows github.com/containerd/platforms'
// normalisation (the rules containerd and docker use to pick an image), with
// two differences that keep results predictable:
//
//   - nothing is ever filled from the running machine: an empty field stays
//     empty (containerd fills runtime.GOOS and the host's CPU variant);
//   - Normalize never adds or drops a variant on its own. It canonicalises
//     the spelling ("7" → "v7", "v8.0" → "v8") but "linux/arm" stays without
//     a variant and "linux/arm64/v8" keeps its "v8", so an index says what its
//     spec said. Only aliases that name a variant set one: armhf is arm/v7 and
//     armel is arm/v6.
//
// Equal and Key compare with containerd's defaults: arm without a variant is
// arm/v7, arm64 without one is arm64/v8, amd64 without one is amd64/v1.
package platform

import (
	"github.com/manifest-push/manifest-push/internal/suggest"

	"errors"
	"fmt"
	"slices"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// knownOS is the operating system list of Go's go/build/syslist.go, which
// containerd uses too, plus "wasi": the os of Docker's Wasm workloads
// (docker run --platform wasi/wasm, docker buildx --platform wasi/wasm),
// which containerd's platform matcher compares as any other name.
var knownOS = [...]string{
	"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos",
	"ios", "js", "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris",
	"wasi", "wasip1", "windows", "zos",
}

// knownArch is the architecture list of Go's go/build/syslist.go, which
// containerd uses too, sorted.
var knownArch = [...]string{
	"386", "amd64", "amd64p32", "arm", "arm64", "arm64be", "armbe", "loong64",
	"mips", "mips64", "mips64le", "mips64p32", "mips64p32le", "mipsle", "ppc",
	"ppc64", "ppc64le", "riscv", "riscv64", "s390", "s390x", "sparc",
	"sparc64", "wasm",
}

// KnownOS returns the operating systems that Normalize accepts, sorted. The
// caller owns the returned slice.
func KnownOS() []string { return slices.Clone(knownOS[:]) }

// KnownArchitectures returns the architectures that Normalize accepts,
// sorted. The caller owns the returned slice.
func KnownArchitectures() []string { return slices.Clone(knownArch[:]) }

// Parse parses "os/arch[/variant][:os.version]", normalises aliases
// (x86_64→amd64, aarch64→arm64, armhf→arm/v7, i386→386) and rejects an
// unknown os or architecture with an error listing the known ones.
//
// os and arch are required. Surrounding spaces are trimmed; os, arch and
// variant are case-insensitive. Parse(Format(p)) gives p back for every p
// that Parse returns.
func Parse(s string) (ocispec.Platform, error) {
	in := strings.TrimSpace(s)
	var p ocispec.Platform
	rest := in
	if i := strings.IndexByte(in, ':'); i >= 0 {
		rest, p.OSVersion = in[:i], in[i+1:]
		if p.OSVersion == "" {
			return ocispec.Platform{}, fmt.Errorf("%q: empty os.version after ':': %w (want os/arch[/variant][:os.version])", s, ErrInvalid)
		}
	}
	parts := strings.Split(rest, "/")
	switch {
	case rest == "":
		return ocispec.Platform{}, fmt.Errorf("%q: %w: empty (want os/arch[/variant][:os.version], e.g. linux/arm64)", s, ErrInvalid)
	case len(parts) == 1:
		example := "linux"
		if os, err := NormalizeOS(parts[0]); err == nil {
			example = os
		}
		return ocispec.Platform{}, fmt.Errorf("%q: %w: no architecture (want os/arch[/variant][:os.version], e.g. %s/amd64)", s, ErrInvalid, example)
	case len(parts) > 3:
		return ocispec.Platform{}, fmt.Errorf("%q: %w: too many '/' (want os/arch[/variant][:os.version])", s, ErrInvalid)
	}
	p.OS, p.Architecture = parts[0], parts[1]
	if len(parts) == 3 {
		p.Variant = parts[2]
		if p.Variant == "" {
			return ocispec.Platform{}, fmt.Errorf("%q: %w: empty variant after '/' (want os/arch[/variant][:os.version])", s, ErrInvalid)
		}
	}
	if p.OS == "" || p.Architecture == "" {
		return ocispec.Platform{}, fmt.Errorf("%q: %w: empty os or architecture (want os/arch[/variant][:os.version], e.g. linux/arm64)", s, ErrInvalid)
	}
	n, err := Normalize(p)
	if err != nil {
		if len(parts) == 2 && errors.Is(err, ErrUnknownArch) {
			if joined, ok := variantJoined(p); ok {
				return ocispec.Platform{}, fmt.Errorf("%w %s (did you mean %q? the variant goes after a '/')", ErrUnknownArch, suggest.Quote(p.Architecture), Format(joined))
			}
		}
		return ocispec.Platform{}, err
	}
	return n, nil
}

// variantJoined reads an architecture written with its variant, such as
// armv7 or arm64v8 (docker's image names spell them so), as the platform
// with the variant apart, when that is a known one.
func variantJoined(p ocispec.Platform) (ocispec.Platform, bool) {
	arch := strings.ToLower(p.Architecture)
	i := strings.LastIndex(arch, "v")
	if i <= 0 || i == len(arch)-1 {
		return ocispec.Platform{}, false
	}
	for _, c := range arch[i+1:] {
		if c < '0' || c > '9' {
			return ocispec.Platform{}, false
		}
	}
	q := p
	q.Architecture, q.Variant = arch[:i], arch[i:]
	n, err := Normalize(q)
	if err != nil {
		return ocispec.Platform{}, false
	}
	return n, true
}

// Normalize returns p with its aliases normalised. Empty fields stay empty
// (a spec may leave os and architecture to the image config); a set os or
// architecture that is unknown is an error listing the known ones. A variant
// without an architecture is an error, and so is an alias that names a
// variant (armhf, armel) given with a different one.
//
// os.version and os.features are checked for characters (no spaces, control
// characters, '/', ':' or ',') but kept as they are; the returned os.features
// is a copy.
func Normalize(p ocispec.Platform) (ocispec.Platform, error) {
	out := ocispec.Platform{OSVersion: p.OSVersion}
	var err error
	if out.OS, err = NormalizeOS(p.OS); err != nil {
		return ocispec.Platform{}, err
	}
	if out.Architecture, out.Variant, err = NormalizeArch(p.Architecture, p.Variant); err != nil {
		return ocispec.Platform{}, err
	}
	if p.OSVersion != "" {
		if err := checkWord("os.version", p.OSVersion); err != nil {
			return ocispec.Platform{}, err
		}
	}
	for _, f := range p.OSFeatures {
		if err := checkWord("os.features item", f); err != nil {
			return ocispec.Platform{}, err
		}
	}
	out.OSFeatures = slices.Clone(p.OSFeatures)
	return out, nil
}

// NormalizeConfig normalises a platform read from a registry (an image
// config, an index entry) by the same rules as Normalize, field by field:
// a field that Normalize would refuse is left out of the result, and one
// error per field left out says why. A variant that is refused leaves the
// architecture; an architecture that is refused takes its variant with it.
func NormalizeConfig(p ocispec.Platform) (ocispec.Platform, []error) {
	var out ocispec.Platform
	var errs []error
	if os, err := NormalizeOS(p.OS); err != nil {
		errs = append(errs, fmt.Errorf("os: %w", err))
	} else {
		out.OS = os
	}
	switch a, v, err := NormalizeArch(p.Architecture, p.Variant); {
	case err == nil:
		out.Architecture, out.Variant = a, v
	default:
		if a, _, err2 := NormalizeArch(p.Architecture, ""); err2 == nil && p.Architecture != "" {
			out.Architecture = a
			errs = append(errs, fmt.Errorf("variant: %w", err))
		} else {
			errs = append(errs, fmt.Errorf("architecture: %w", err))
		}
	}
	if p.OSVersion != "" {
		if err := checkWord("os.version", p.OSVersion); err != nil {
			errs = append(errs, err)
		} else {
			out.OSVersion = p.OSVersion
		}
	}
	for _, f := range p.OSFeatures {
		if err := checkWord("os.features item", f); err != nil {
			errs = append(errs, err)
			continue
		}
		out.OSFeatures = append(out.OSFeatures, f)
	}
	return out, errs
}

// NormalizeOS returns the canonical name of an operating system: lower case,
// "macos" → "darwin". An empty os stays empty; an unknown one is an error
// wrapping ErrUnknownOS that suggests the nearest known one and lists them
// all.
func NormalizeOS(os string) (string, error) {
	if os == "" {
		return "", nil
	}
	n := strings.ToLower(os)
	if n == "macos" {
		n = "darwin"
	}
	if !slices.Contains(knownOS[:], n) {
		return "", unknown(ErrUnknownOS, os, n, knownOS[:], nil)
	}
	return n, nil
}

// archAlias is an architecture alias: the canonical architecture it means
// and the variant it names ("" when none).
type archAlias struct{ alias, arch, variant string }

// archAliases are the architecture aliases, sorted by alias.
var archAliases = [...]archAlias{
	{"aarch64", "arm64", ""},
	{"armel", "arm", "v6"},
	{"armhf", "arm", "v7"},
	{"i386", "386", ""},
	{"i486", "386", ""},
	{"i586", "386", ""},
	{"i686", "386", ""},
	{"x64", "amd64", ""},
	{"x86", "386", ""},
	{"x86-64", "amd64", ""},
	{"x86_64", "amd64", ""},
}

func lookupAlias(a string) (archAlias, bool) {
	for _, al := range archAliases {
		if al.alias == a {
			return al, true
		}
	}
	return archAlias{}, false
}

// NormalizeArch returns the canonical architecture and variant: lower case,
// aliases resolved (x86_64 → amd64, aarch64 → arm64, i386/i686 → 386,
// armhf → arm v7, armel → arm v6) and the variant's spelling canonicalised
// for arm, arm64 and amd64 ("7" → "v7", "8"/"v8.0" → "v8", "9.0" → "v9").
// It never adds a variant that neither the variant nor the alias names and
// never drops one.
//
// An empty arch stays empty, but then variant must be empty too. An unknown
// arch is an error wrapping ErrUnknownArch that suggests the nearest known
// one and lists them all.
func NormalizeArch(arch, variant string) (string, string, error) {
	if arch == "" {
		if variant != "" {
			return "", "", fmt.Errorf("variant %s without an architecture: %w; give the architecture too", suggest.Quote(variant), ErrInvalid)
		}
		return "", "", nil
	}
	a := strings.ToLower(arch)
	v := strings.ToLower(variant)
	if v != "" {
		if err := checkWord("variant", variant); err != nil {
			return "", "", err
		}
	}
	if al, ok := lookupAlias(a); ok {
		a = al.arch
		if al.variant != "" {
			if v != "" && canonicalVariant(a, v) != al.variant {
				return "", "", fmt.Errorf("architecture %s means %s/%s but variant %s is given: %w; drop the variant or write architecture %s",
					suggest.Quote(arch), al.arch, al.variant, suggest.Quote(variant), ErrInvalid, al.arch)
			}
			v = al.variant
		}
	}
	if !slices.Contains(knownArch[:], a) {
		if v == "" {
			if j, ok := variantJoined(ocispec.Platform{OS: "linux", Architecture: a}); ok {
				return "", "", fmt.Errorf("%w %s (did you mean architecture %q with variant %q? the variant is a field of its own)", ErrUnknownArch, suggest.Quote(arch), j.Architecture, j.Variant)
			}
		}
		return "", "", unknown(ErrUnknownArch, arch, a, knownArch[:], archAliases[:])
	}
	return a, canonicalVariant(a, v), nil
}

// canonicalVariant canonicalises the spelling of a variant of arch
// (lower-case input), never adding or dropping one.
func canonicalVariant(arch, v string) string {
	switch arch {
	case "arm":
		switch v {
		case "5", "6", "7", "8":
			return "v" + v
		}
	case "arm64":
		switch v {
		case "8", "v8.0", "8.0":
			return "v8"
		case "9", "9.0", "v9.0":
			return "v9"
		}
	case "amd64":
		switch v {
		case "1", "2", "3", "4":
			return "v" + v
		}
	}
	return v
}

// defaultVariant is the variant that an empty one means, as containerd
// compares platforms.
func defaultVariant(arch string) string {
	switch arch {
	case "arm":
		return "v7"
	case "arm64":
		return "v8"
	case "amd64":
		return "v1"
	}
	return ""
}

// Format renders p as os/arch[/variant][:os.version], as given (it does not
// normalise). os.features and features are not part of the text.
func Format(p ocispec.Platform) string {
	var b strings.Builder
	b.WriteString(p.OS)
	b.WriteByte('/')
	b.WriteString(p.Architecture)
	if p.Variant != "" {
		b.WriteByte('/')
		b.WriteString(p.Variant)
	}
	if p.OSVersion != "" {
		b.WriteByte(':')
		b.WriteString(p.OSVersion)
	}
	return b.String()
}

// Equal reports whether a and b are the same platform once normalised,
// including os.version and os.features (order-insensitive). A variant left
// out equals the default one (arm = arm/v7, arm64 = arm64/v8,
// amd64 = amd64/v1), as containerd matches them.
func Equal(a, b ocispec.Platform) bool {
	return Key(a) == Key(b)
}

// Key returns a string that is equal for two platforms exactly when Equal
// reports them equal, for use as a map key when looking for duplicates. It
// is meant for comparison only; its format may change.
func Key(p ocispec.Platform) string {
	os, arch, variant := strings.ToLower(p.OS), strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	if n, err := NormalizeOS(p.OS); err == nil {
		os = n
	}
	if a, v, err := NormalizeArch(p.Architecture, p.Variant); err == nil {
		arch, variant = a, v
	}
	if variant == "" {
		variant = defaultVariant(arch)
	}
	var b strings.Builder
	for _, s := range []string{os, arch, variant, p.OSVersion} {
		b.WriteString(quote(s))
		b.WriteByte(' ')
	}
	b.WriteString(setKey(p.OSFeatures))
	return b.String()
}

// setKey renders a set of strings canonically: sorted, without duplicates.
func setKey(s []string) string {
	c := slices.Clone(s)
	slices.Sort(c)
	c = slices.Compact(c)
	var b strings.Builder
	b.WriteByte('[')
	for i, f := range c {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(f))
	}
	b.WriteByte(']')
	return b.String()
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// checkWord rejects values that cannot be part of a platform string: empty
// ones, and those with spaces, control characters, '/' or ':'.
func checkWord(what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s: %w", what, ErrInvalid)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '/' || r == ':' || r == ',' {
			return fmt.Errorf("%s %s: %w: it may not contain spaces, control characters, '/', ':' or ','", what, suggest.Quote(s), ErrInvalid)
		}
	}
	return nil
}
