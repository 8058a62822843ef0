package spec

import (
	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/internal/suggest"

	"errors"
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/manifest-push/manifest-push/platform"
)

// FromArgsName is the Name of a spec built by FromArgs.
const FromArgsName = "from-args"

// Args are the from-args flags.
type Args struct {
	// Platforms are os/arch[/variant][:os.version] strings. Each element may
	// hold several, comma-separated (the flag may be repeated or given a
	// list).
	Platforms []string
	// Template is the source reference template with OS, ARCH, VARIANT and
	// OSVERSION placeholders.
	Template string
	// Sources are source references given as arguments, instead of a
	// Template: images or indexes, by tag or digest, whose platforms come
	// from their configs (or an index's entries). Platforms, when given,
	// then select among them (Request.Select).
	Sources []string
	// SourcePlatforms (--desc-platform) give the Sources their platforms,
	// the Nth for the Nth source, as a spec entry's platform does (rule
	// P1: for a source whose config gives none, rule P2 otherwise). Empty
	// means the configs give them.
	SourcePlatforms []string
	// Target is the target reference.
	Target string
	// Tags are the extra tags. Each element may hold several,
	// comma-separated.
	Tags []string
	// Annotations are key=value index annotations (split at the first =).
	Annotations []string
	// Type is TypeAuto, TypeOCI, TypeDocker or empty.
	Type IndexType
	// Append is --append (Request.Append): with it, no source at all is valid
	// when Remove is given.
	Append bool
	// Remove are --remove platforms (Request.Remove), each element possibly a
	// comma-separated list.
	Remove []string
	// Require are --require platforms (Request.Require), each element possibly
	// a comma-separated list; StagingTag is --staging-tag.
	Require    []string
	StagingTag string
	// Mirrors are --mirror targets (Request.Mirrors).
	Mirrors []string
	// ByDigest is --by-digest (Request.ByDigest).
	ByDigest bool
	// ArtifactType is --artifact-type and Subject --subject (Spec's).
	ArtifactType string
	Subject      string
}

// argNames call the options that Validate's messages name by the
// from-args flags that set them.
var argNames = Names{
	OptionAppend:     "--append",
	OptionRemove:     "--remove",
	OptionSelect:     "--platforms",
	OptionRequire:    "--require",
	OptionStagingTag: "--staging-tag",
	OptionByDigest:   "--by-digest",
}

// FromArgs builds and validates a spec from from-args flags. The spec's
// Name is "from-args"; every problem is reported, joined, as *Error values
// whose message starts with the flag ("--platforms: ...") and which wrap
// ErrInvalidSpec.
//
// With a Template, each platform gives one entry, in order, whose source is
// the template expanded for it (see Expand). A template without a
// placeholder given more than one platform, two platforms that expand to
// the same source, and the same platform given twice are errors. With
// Sources instead, each source gives one entry without a platform, and the
// platforms given become Request.Select.
func FromArgs(a Args) (*Spec, Request, error) {
	var errs []error
	fail := func(flag string, err error, format string, args ...any) {
		errs = append(errs, &Error{Msg: flag + ": " + fmt.Sprintf(format, args...), Err: err})
	}
	s := &Spec{Name: FromArgsName}

	if err := CheckType(a.Type); err != nil {
		fail("--type", nil, "%v", err)
	} else {
		s.Type = a.Type
	}

	if strings.TrimSpace(a.Target) == "" {
		fail("--target", nil, "missing: give the reference to push, e.g. --target registry.example.com/hello:1.0")
	} else if t, err := parseTarget(a.Target); err != nil {
		fail("--target", nil, "%v", err)
	} else {
		s.Target = t
	}

	seenTags := map[string]bool{}
	if s.Target != nil {
		seenTags[s.Target.Tag()] = true
	}
	for _, t := range splitList(a.Tags) {
		if t == "" {
			fail("--tags", nil, "empty tag in the list: remove the extra comma")
			continue
		}
		if err := checkTag(t); err != nil {
			fail("--tags", nil, "%v", err)
			continue
		}
		if !seenTags[t] {
			seenTags[t] = true
			s.Tags = append(s.Tags, t)
		}
	}

	for _, kv := range a.Annotations {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			fail("--annotations", nil, "%s has no \"=\": write key=value", suggest.Quote(kv))
			continue
		case k == "":
			fail("--annotations", nil, "%s has an empty key: write key=value", suggest.Quote(kv))
			continue
		}
		if _, dup := s.Annotations[k]; dup {
			fail("--annotations", nil, "%s is given twice: give each key once", suggest.Quote(k))
			continue
		}
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[k] = v
	}
	if err := CheckAnnotations(s.Type, "--type"); err != nil && len(s.Annotations) > 0 {
		fail("--annotations", nil, "%v", err)
	}

	if t := strings.TrimSpace(a.ArtifactType); t != "" {
		if err := CheckArtifactType(t); err != nil {
			fail("--artifact-type", nil, "%v", err)
		} else if err := CheckArtifact(s.Type, "--type"); err != nil {
			fail("--artifact-type", nil, "%v", err)
		} else {
			s.ArtifactType = t
		}
	}
	if ref := strings.TrimSpace(a.Subject); ref != "" {
		if sub, err := ParseSubject(ref); err != nil {
			fail("--subject", nil, "%v", err)
		} else if err := CheckArtifact(s.Type, "--type"); err != nil {
			fail("--subject", nil, "%v", err)
		} else {
			s.Subject = sub
		}
	}

	var plats []ocispec.Platform
	seenPlats := map[string]string{} // platform.Key → as given
	for _, ps := range splitList(a.Platforms) {
		if ps == "" {
			fail("--platforms", nil, "empty platform in the list: remove the extra comma")
			continue
		}
		p, err := platform.Parse(ps)
		if err != nil {
			fail("--platforms", err, "%v", err)
			continue
		}
		if first, dup := seenPlats[platform.Key(p)]; dup {
			fail("--platforms", ErrDuplicatePlatform, "%s and %s are the same platform: give each platform once", suggest.Quote(first), suggest.Quote(ps))
			continue
		}
		seenPlats[platform.Key(p)] = ps
		plats = append(plats, p)
	}
	req, err := ParseRequest(RequestArgs{Append: a.Append, Remove: a.Remove, Require: a.Require, StagingTag: a.StagingTag, Mirrors: a.Mirrors, ByDigest: a.ByDigest}, s.Target)
	if err != nil {
		errs = append(errs, err)
	}
	onlyRemove := a.Append && len(a.Remove) > 0 && len(a.Sources) == 0 && strings.TrimSpace(a.Template) == ""
	removeWithoutAppend := len(a.Remove) > 0 && !a.Append && len(a.Sources) == 0 && strings.TrimSpace(a.Template) == ""
	if removeWithoutAppend {
		// One error: the platforms and template a push would need are
		// beside the point when the user meant --append --remove.
		fail("--remove", nil, "with no sources, --remove needs --append: it takes platforms out of what the target holds (add --append), or give the sources to push without those platforms")
	}
	if len(splitList(a.Platforms)) == 0 && len(a.Sources) == 0 && !onlyRemove && !removeWithoutAppend {
		fail("--platforms", nil, "missing: give the platforms to assemble, e.g. --platforms linux/amd64,linux/arm64,linux/arm/v7")
	}

	switch {
	case len(a.Sources) > 0 && strings.TrimSpace(a.Template) != "":
		fail("--template", nil, "%s and source arguments (%s) both given: give the sources by template or as arguments, not both", suggest.Quote(a.Template), suggest.Quote(a.Sources[0]))
	case len(a.Sources) > 0:
		descPlats := a.SourcePlatforms
		if len(descPlats) > 0 && len(descPlats) != len(a.Sources) {
			fail("--desc-platform", nil, "given %d times for %d sources: give one per source argument, in the same order", len(descPlats), len(a.Sources))
			descPlats = nil
		}
		for i, src := range a.Sources {
			e, err := argSource(src)
			if err != nil {
				fail("source "+suggest.Quote(src), nil, "%v", err)
				continue
			}
			if len(descPlats) > 0 {
				p, err := platform.Parse(descPlats[i])
				if err != nil {
					fail("--desc-platform", err, "%v", err)
					continue
				}
				e.Platform = &p
			}
			s.Manifests = append(s.Manifests, e)
		}
		req.Select = plats
	case removeWithoutAppend:
	case onlyRemove:
		if len(plats) > 0 {
			fail("--platforms", nil, "given with no sources to choose from: give sources, or leave --platforms out")
		}
	case len(a.SourcePlatforms) > 0:
		fail("--desc-platform", nil, "gives the platforms of source arguments, and none is given: give the sources as arguments after the flags")
	case strings.TrimSpace(a.Template) == "":
		fail("--template", nil, "missing: give the source reference with placeholders, e.g. --template registry.example.com/hello:1.0-OS-ARCH-VARIANT, or the sources as arguments")
	case !hasPlaceholder(a.Template) && len(plats) > 1:
		fail("--template", nil, "%s has no placeholder (OS, ARCH, VARIANT, OSVERSION) but %d platforms are given: every platform would get the same image", suggest.Quote(a.Template), len(plats))
	default:
		sources := map[string]string{}
		for i, p := range plats {
			src := Expand(a.Template, p)
			e, err := argSource(src)
			if err != nil {
				fail("--template", nil, "for %s it gives %s: %v", platform.Format(p), suggest.Quote(src), err)
				continue
			}
			key := e.Source()
			if e.Image != nil {
				key = e.Image.String()
			}
			if prev, dup := sources[key]; dup {
				fail("--template", nil, "%s and %s both give %s: add the placeholders that tell them apart (e.g. VARIANT, OSVERSION)",
					prev, platform.Format(p), e.Source())
				continue
			}
			sources[key] = platform.Format(p)
			pp := plats[i]
			e.Platform = &pp
			s.Manifests = append(s.Manifests, e)
		}
	}

	if len(errs) > 0 {
		return nil, Request{}, errors.Join(errs...)
	}
	// What the flags passed is held to the rules of every spec, the same
	// check as for a loaded or hand-built one, naming the flags.
	if err := Check(s, req, argNames); err != nil {
		return nil, Request{}, err
	}
	return s, req, nil
}

// argSource parses a source given on the command line (an argument, or a
// template expanded): a registry reference, or oci-layout:PATH[:TAG|@DIGEST]
// with PATH relative to the working directory.
func argSource(src string) (Entry, error) {
	if IsLayout(src) {
		ref, err := ParseLayoutRef(src, "")
		return Entry{Layout: ref}, err
	}
	ref, err := parseSource(src)
	return Entry{Image: ref}, err
}

// ParseRemove parses --remove values (each possibly a comma-separated list)
// into normalised platforms; every value that does not parse is reported,
// joined, as an *Error starting with "--remove: " and wrapping
// ErrInvalidSpec. from-spec's --remove and FromArgs share it.
func ParseRemove(values []string) ([]ocispec.Platform, error) {
	var out []ocispec.Platform
	var errs []error
	for _, ps := range splitList(values) {
		if ps == "" {
			errs = append(errs, &Error{Msg: "--remove: empty platform in the list: remove the extra comma"})
			continue
		}
		p, err := platform.Parse(ps)
		if err != nil {
			errs = append(errs, &Error{Msg: fmt.Sprintf("--remove: %v", err), Err: err})
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// RequestArgs are the flags of a run's choices (Request), as given.
type RequestArgs struct {
	Append     bool
	Remove     []string // --remove, each possibly a comma-separated list
	Require    []string // --require, the same
	StagingTag string
	Mirrors    []string // --mirror references
	ByDigest   bool
}

// ParseRequest parses the flags of a run's choices into a Request:
// --remove and --require as platform lists, --staging-tag, --mirror
// (checked against target, which may be nil). Errors name the flag; the
// rules between them and with the spec are Check's.
func ParseRequest(a RequestArgs, target reference.NamedTagged) (Request, error) {
	r := Request{Append: a.Append, StagingTag: strings.TrimSpace(a.StagingTag), ByDigest: a.ByDigest}
	var errs []error
	var err error
	if r.Remove, err = ParseRemove(a.Remove); err != nil {
		errs = append(errs, err)
	}
	for _, ps := range splitList(a.Require) {
		if ps == "" {
			errs = append(errs, &Error{Msg: "--require: empty platform in the list: remove the extra comma"})
			continue
		}
		p, err := platform.Parse(ps)
		if err != nil {
			errs = append(errs, &Error{Msg: fmt.Sprintf("--require: %v", err), Err: err})
			continue
		}
		r.Require = append(r.Require, p)
	}
	for _, m := range a.Mirrors {
		ref, err := ParseMirror(strings.TrimSpace(m), target)
		if err != nil {
			errs = append(errs, &Error{Msg: fmt.Sprintf("--mirror: %v", err)})
			continue
		}
		r.Mirrors = append(r.Mirrors, ref)
	}
	return r, errors.Join(errs...)
}

// splitList splits each element at commas and trims spaces. An empty list
// gives nil; an empty item (",,") is kept, empty, for the caller to report.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		if strings.TrimSpace(s) == "" {
			continue
		}
		for _, item := range strings.Split(s, ",") {
			out = append(out, strings.TrimSpace(item))
		}
	}
	return out
}

// placeholders in the order they are tried at each position: OSVERSION
// before OS, so that it is never read as OS followed by VERSION.
var placeholders = [...]string{"OSVERSION", "VARIANT", "ARCH", "OS"}

func hasPlaceholder(t string) bool {
	for _, p := range placeholders {
		if strings.Contains(t, p) {
			return true
		}
	}
	return false
}

// isSeparator reports whether c is a separator that an empty VARIANT or
// OSVERSION takes away with it.
func isSeparator(c byte) bool { return c == '-' || c == '_' || c == '.' }

// Expand replaces the placeholders of template for p, in one pass.
//
// OS, ARCH, VARIANT and OSVERSION are replaced everywhere they occur, left
// to right, by p's os, architecture, variant and os.version; replaced text
// is never scanned again, and OSVERSION is never read as OS followed by
// "VERSION". An empty VARIANT or OSVERSION also removes one separator ("-",
// "_" or ".") of the template directly before it, so img-OS-ARCH-VARIANT
// gives img-linux-amd64 and img-linux-arm-v7. The variant is p's own: a
// platform without a variant (linux/arm) expands VARIANT to nothing, never
// to a default.
func Expand(template string, p ocispec.Platform) string {
	values := map[string]string{
		"OSVERSION": p.OSVersion,
		"VARIANT":   p.Variant,
		"ARCH":      p.Architecture,
		"OS":        p.OS,
	}
	out := make([]byte, 0, len(template))
	// literalEnd is the output length at which the last byte written is
	// template text rather than a replacement (-1: none).
	literalEnd := -1
	for i := 0; i < len(template); {
		matched := ""
		for _, ph := range placeholders {
			if strings.HasPrefix(template[i:], ph) {
				matched = ph
				break
			}
		}
		if matched == "" {
			out = append(out, template[i])
			literalEnd = len(out)
			i++
			continue
		}
		v := values[matched]
		if v == "" && (matched == "VARIANT" || matched == "OSVERSION") &&
			literalEnd == len(out) && len(out) > 0 && isSeparator(out[len(out)-1]) {
			out = out[:len(out)-1]
			literalEnd = -1
		}
		out = append(out, v...)
		i += len(matched)
	}
	return string(out)
}
