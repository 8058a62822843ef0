package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Build turns resolved sources into the index to push. It applies the
// platform rules P1–P6 and the media type rules of docs/rules.md, and
// returns every problem it finds, joined.
func Build(in Input, opts Options) (*Plan, error) {
	sources := in.Sources
	typ := in.Type
	if typ == "" {
		typ = spec.TypeAuto
	}

	b := &builder{strict: opts.StrictPlatform, names: opts.Names}
	for i := range sources {
		src := &sources[i]
		if src.Missing {
			b.warnings = append(b.warnings, at(src.Pos)+fmt.Sprintf("%s not found; left out (ignoring missing sources)", src.Name()))
			continue
		}
		switch {
		case content.IsManifest(src.Descriptor.MediaType):
			b.addManifest(src)
		case content.IsIndex(src.Descriptor.MediaType):
			b.addIndex(src)
		default:
			b.fail(src, ErrMediaType, "%s is a %q, not an image manifest or an index", src.Name(), src.Descriptor.MediaType)
		}
	}
	if len(in.Select) > 0 && len(b.errs) == 0 {
		b.selectPlatforms(in.Select)
	}
	if in.Current != nil && len(b.errs) == 0 {
		b.merge(in.Current)
	}
	if len(in.Remove) > 0 && len(b.errs) == 0 {
		b.remove(in.Remove)
	}
	if opts.DropAttestations {
		b.attestations = nil
	}
	if len(b.images) == 0 && len(b.errs) == 0 {
		// Sources all missing are the caller's to report (they are not
		// bad input); what is left here is an update that removes all.
		b.errs = append(b.errs, &spec.Error{Msg: fmt.Sprintf("no entries left: %s takes out every platform; an index needs at least one", b.names.Of(spec.OptionRemove)), Err: ErrEmpty})
	}
	b.checkDuplicates()
	if typ == spec.TypeAuto && in.Current != nil && in.Current.Descriptor.MediaType == ocispec.MediaTypeImageIndex {
		typ = spec.TypeOCI // an update keeps an OCI index an OCI index
	}
	_, specCreated := in.Annotations[ocispec.AnnotationCreated]
	if in.Current != nil && len(in.Annotations) == 0 {
		in.Annotations = in.Current.IndexAnnotations
	}
	if in.Current != nil && in.ArtifactType == "" && in.Subject == nil {
		in.ArtifactType, in.Subject = in.Current.IndexArtifactType, in.Current.IndexSubject
	}
	artifact := in.ArtifactType != "" || in.Subject != nil

	annotated := len(in.Annotations) > 0
	hasOCI := false
	for _, e := range b.images {
		annotated = annotated || len(e.Descriptor.Annotations) > 0
		hasOCI = hasOCI || e.Descriptor.MediaType == ocispec.MediaTypeImageManifest
	}
	if err := spec.CheckType(typ); err != nil {
		b.errs = append(b.errs, &spec.Error{Msg: err.Error(), Err: ErrMediaType})
	}
	mediaType := content.MediaTypeDockerManifestList
	switch typ {
	case spec.TypeOCI:
		mediaType = ocispec.MediaTypeImageIndex
	case spec.TypeAuto:
		if hasOCI || annotated || artifact {
			mediaType = ocispec.MediaTypeImageIndex
		}
	case spec.TypeDocker:
		if artifact {
			b.errs = append(b.errs, &spec.Error{Msg: fmt.Sprintf("an artifact index (an artifactType or a subject) needs an OCI index, but %s is docker: use %s %s (or auto), or leave out the artifact type and the subject",
				b.names.Of(spec.OptionType), b.names.Of(spec.OptionType), spec.TypeOCI), Err: ErrMediaType})
		}
		if err := spec.CheckAnnotations(typ, b.names.Of(spec.OptionType)); err != nil && annotated {
			b.errs = append(b.errs, &spec.Error{Msg: err.Error(), Err: ErrMediaType})
		}
		for _, e := range b.images {
			if e.Descriptor.MediaType == ocispec.MediaTypeImageManifest {
				b.fail(e.Source, ErrMediaType, "%s is an OCI manifest, which a Docker manifest list cannot hold: use %s %s", e.Source.Name(), b.names.Of(spec.OptionType), spec.TypeOCI)
			}
		}
	}
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}

	entries := b.images
	if mediaType == ocispec.MediaTypeImageIndex {
		entries = append(entries, b.attestations...)
	} else if len(b.attestations) > 0 {
		b.warnings = append(b.warnings, fmt.Sprintf("%d attestation manifest(s) left out: a Docker manifest list cannot carry them (use %s %s to keep them)", len(b.attestations), b.names.Of(spec.OptionType), spec.TypeOCI))
	}

	if in.Created != nil && !specCreated {
		in.Annotations = b.created(mediaType, in.Annotations, *in.Created)
	}

	descs := make([]ocispec.Descriptor, len(entries))
	features := make([][]string, len(entries))
	for i, e := range entries {
		descs[i] = e.Descriptor
		if e.Source != nil && !e.Attestation && !e.Kept {
			features[i] = e.Source.Features
		}
	}
	if mediaType == ocispec.MediaTypeImageIndex {
		b.dropFeatures(entries)
	}
	idx, err := content.EncodeIndexWith(mediaType, descs, content.IndexFields{Annotations: in.Annotations, ArtifactType: in.ArtifactType, Subject: in.Subject, Features: features})
	if err != nil {
		return nil, err
	}
	p := &Plan{Bytes: idx.Bytes, Descriptor: idx.Descriptor, Entries: entries, Warnings: b.warnings}
	if mediaType == ocispec.MediaTypeImageIndex {
		p.ArtifactType, p.Subject = in.ArtifactType, in.Subject
	}
	return p, nil
}

// created returns the index annotations with org.opencontainers.image.created
// set to t (RFC 3339, UTC) for an OCI index: the time a reproducible build
// gives (Input.Created), over one an updated index had. A Docker manifest
// list carries no annotations: it is left as it is, with a warning.
func (b *builder) created(mediaType string, annotations map[string]string, t time.Time) map[string]string {
	if mediaType != ocispec.MediaTypeImageIndex {
		b.warnings = append(b.warnings, fmt.Sprintf("%s is not recorded: a Docker manifest list carries no annotations, so it has no %s (use %s %s to record it)",
			b.names.Of(spec.OptionCreated), ocispec.AnnotationCreated, b.names.Of(spec.OptionType), spec.TypeOCI))
		return annotations
	}
	out := cloneMap(annotations)
	if out == nil {
		out = map[string]string{}
	}
	out[ocispec.AnnotationCreated] = t.UTC().Format(time.RFC3339)
	return out
}

// dropFeatures warns, once per source, that an OCI index leaves out the
// features its spec gives: the OCI image index's platform has no features
// field (image-spec 1.1 removed the reserved one), only a Docker manifest
// list's has.
func (b *builder) dropFeatures(entries []Entry) {
	seen := map[*Source]bool{}
	for _, e := range entries {
		if e.Source == nil || e.Attestation || e.Kept || len(e.Source.Features) == 0 || seen[e.Source] {
			continue
		}
		seen[e.Source] = true
		b.warnings = append(b.warnings, at(e.Source.Pos)+fmt.Sprintf("%s: features %s left out: an OCI index's platform has no features field; use %s %s (type: docker) to keep them in a Docker manifest list",
			e.Source.Name(), strings.Join(e.Source.Features, ","), b.names.Of(spec.OptionType), spec.TypeDocker))
	}
}

type builder struct {
	strict       bool
	names        spec.Names
	images       []Entry
	attestations []Entry
	warnings     []string
	errs         []error
}

func (b *builder) fail(src *Source, sentinel error, format string, args ...any) {
	b.errs = append(b.errs, &spec.Error{Pos: src.Pos, Msg: fmt.Sprintf(format, args...), Err: sentinel})
}

// warnOrFail records a warning, the message followed by then (what the
// index does about it), or, when strict platform checks are on, an error,
// the message followed by fix (what to do instead).
func (b *builder) warnOrFail(src *Source, sentinel error, then, fix, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if b.strict {
		b.fail(src, sentinel, "%s", msg+fix)
		return
	}
	b.warnings = append(b.warnings, msg+then)
}

// addManifest applies P1–P3 to an image manifest source.
func (b *builder) addManifest(src *Source) {
	var p ocispec.Platform
	if src.Platform != nil {
		p = clonePlatform(*src.Platform)
	}
	cfg := ocispec.Platform{}
	if src.Config != nil {
		cfg = b.fromRegistry(src, "image config", *src.Config)
	}
	specGave := p.OS != "" || p.Architecture != ""
	if p.OS == "" {
		p.OS = cfg.OS
	}
	if p.Architecture == "" {
		p.Architecture = cfg.Architecture
		if p.Variant == "" {
			p.Variant = cfg.Variant
		}
	}
	if p.OS == "" || p.Architecture == "" {
		b.fail(src, ErrMissingPlatform, "%s: no os and architecture: neither the spec nor the image config gives them; give it one: platform: in its spec entry, or %s", src.Name(), b.names.Of(spec.OptionSourcePlatforms))
		return
	}
	norm, err := platform.Normalize(p)
	if err != nil {
		b.fail(src, err, "%s: %v", src.Name(), err)
		return
	}
	p = norm

	if specGave && src.Config != nil && cfg.OS != "" && cfg.Architecture != "" {
		if platform.SameCPU(p, cfg) {
			// P3: what the spec leaves empty comes from the config.
			if p.Variant == "" {
				p.Variant = cfg.Variant
			}
		} else {
			// P2: the spec wins.
			b.warnOrFail(src, ErrPlatformMismatch, "; the index uses the spec's platform",
				fmt.Sprintf("; %[1]s refuses a mismatch: correct the spec's platform or rebuild the image for it (without %[1]s the spec's platform wins, with a warning)", b.names.Of(spec.OptionStrictPlatform)),
				"%s: image config says %s, spec says %s", src.Name(), platform.Format(cfg), platform.Format(p))
		}
		if p.OS == cfg.OS && p.OSVersion != "" && cfg.OSVersion != "" && p.OSVersion != cfg.OSVersion {
			// P2 for os.version: the spec wins too.
			b.warnOrFail(src, ErrPlatformMismatch, "; the index uses the spec's",
				fmt.Sprintf("; %[1]s refuses a mismatch: correct the spec's os.version (without %[1]s the spec's wins, with a warning)", b.names.Of(spec.OptionStrictPlatform)),
				"%s: image config says os.version %s, spec says %s", src.Name(), cfg.OSVersion, p.OSVersion)
		}
	}
	if p.OS == cfg.OS {
		if p.OSVersion == "" {
			p.OSVersion = cfg.OSVersion
		}
		if len(p.OSFeatures) == 0 {
			p.OSFeatures = slices.Clone(cfg.OSFeatures)
		}
	}
	d := src.Descriptor
	b.images = append(b.images, Entry{
		Source: src,
		Descriptor: ocispec.Descriptor{
			MediaType:    d.MediaType,
			Digest:       d.Digest,
			Size:         d.Size,
			Platform:     &p,
			ArtifactType: d.ArtifactType,
			Annotations:  cloneMap(src.Annotations),
		},
	})
}

// fromRegistry normalises a platform read from a registry (P3): a value a
// spec would be refused for is left out, with a warning naming the source
// and what it came from.
func (b *builder) fromRegistry(src *Source, what string, p ocispec.Platform) ocispec.Platform {
	norm, problems := platform.NormalizeConfig(p)
	for _, err := range problems {
		b.warnings = append(b.warnings, fmt.Sprintf("%s: the %s's %v; left out of the index", src.Name(), what, err))
	}
	return norm
}

// split sorts an index's children into image entries (platforms
// normalised, P3) and attestation manifests; any other entry is left out
// with a warning.
func (b *builder) split(src *Source) (images, attestations []ocispec.Descriptor) {
	for _, c := range src.Children {
		switch {
		case content.IsAttestation(c):
			attestations = append(attestations, c)
		case content.IsManifest(c.MediaType) && c.Platform != nil:
			p := b.fromRegistry(src, "entry "+c.Digest.String(), *c.Platform)
			c.Platform = &p
			images = append(images, c)
		default:
			b.warnings = append(b.warnings, fmt.Sprintf("%s: %s entry %s has no platform and is not an attestation; left out",
				src.Name(), c.MediaType, c.Digest))
		}
	}
	return images, attestations
}

// addIndex applies P4 to an index source.
func (b *builder) addIndex(src *Source) {
	images, attestations := b.split(src)
	want := src.Platform
	var chosen []ocispec.Descriptor
	if want == nil || (want.OS == "" && want.Architecture == "") {
		chosen = images
	} else {
		var matches []ocispec.Descriptor
		for _, c := range images {
			if platform.Matches(*want, *c.Platform) {
				matches = append(matches, c)
			}
		}
		switch len(matches) {
		case 1:
			chosen = matches
		case 0:
			b.fail(src, ErrNoPlatformMatch, "%s is an index with no entry for %s; it has: %s",
				src.Name(), platform.Format(*want), formatPlatforms(images))
			return
		default:
			if inner := innerOf(src, matches); len(inner) > 1 {
				b.failNested(src, []string{platform.Format(*want)}, inner)
				return
			}
			b.fail(src, ErrNoPlatformMatch, "%s has %d entries for %s (%s): give the variant or os.version to choose one",
				src.Name(), len(matches), platform.Format(*want), formatPlatforms(matches))
			return
		}
	}
	if len(chosen) == 0 {
		b.fail(src, ErrNoPlatformMatch, "%s is an index with no image entries", src.Name())
		return
	}
	for _, c := range chosen {
		p := *c.Platform // normalised by addIndex
		if want != nil {
			p = platform.FillFrom(*want, p)
		}
		annotations := cloneMap(c.Annotations)
		for k, v := range src.Annotations {
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[k] = v
		}
		b.images = append(b.images, Entry{
			Source: src,
			Descriptor: ocispec.Descriptor{
				MediaType:   c.MediaType,
				Digest:      c.Digest,
				Size:        c.Size,
				Platform:    &p,
				Annotations: annotations,
			},
		})
		for _, a := range attestations {
			if content.AttestationOf(a) != c.Digest {
				continue
			}
			a.Annotations = cloneMap(a.Annotations)
			if a.Platform != nil {
				ap := clonePlatform(*a.Platform)
				a.Platform = &ap
			}
			b.attestations = append(b.attestations, Entry{Source: src, Descriptor: a, Attestation: true})
		}
	}
}

// maxNamed is how many sources a duplicate message names before it counts
// the rest.
const maxNamed = 4

// checkDuplicates applies P5 over every image entry, in one pass over each
// platform and each digest (not each pair): an entry whose platform and
// digest an earlier entry has already is dropped silently (listing an
// existing index and an image it holds is not a mistake); a platform given
// by different digests is one error naming them; a digest given for
// different platforms is one warning naming them. Attestations of dropped
// entries are dropped with them when they are the same manifests.
func (b *builder) checkDuplicates() {
	type group struct {
		first   int   // index into kept of the platform's first entry
		others  []int // later entries of the platform with other digests
		digests map[digest.Digest]bool
	}
	byPlatform := map[string]*group{}
	var order []string
	kept := make([]Entry, 0, len(b.images))
	for _, e := range b.images {
		key := platform.DuplicateKey(*e.Descriptor.Platform, e.Source.Features)
		g := byPlatform[key]
		if g == nil {
			byPlatform[key] = &group{first: len(kept), digests: map[digest.Digest]bool{e.Descriptor.Digest: true}}
			order = append(order, key)
			kept = append(kept, e)
			continue
		}
		if g.digests[e.Descriptor.Digest] {
			continue // the same image for the same platform: one entry (P5)
		}
		g.digests[e.Descriptor.Digest] = true
		g.others = append(g.others, len(kept))
		kept = append(kept, e)
	}
	// A source that nests indexes whose inner indexes give one platform
	// twice is one error naming them and every platform they share.
	type nesting struct {
		platforms []string
		inner     []digest.Digest
	}
	nested := map[*Source]*nesting{}
	var nestedOrder []*Source
	for _, key := range order {
		g := byPlatform[key]
		if len(g.others) == 0 {
			continue
		}
		first := kept[g.first]
		group := []Entry{first}
		for _, i := range g.others {
			group = append(group, kept[i])
		}
		if inner := innerOfEntries(group); len(inner) > 1 {
			n := nested[first.Source]
			if n == nil {
				n = &nesting{}
				nested[first.Source] = n
				nestedOrder = append(nestedOrder, first.Source)
			}
			n.platforms = append(n.platforms, platform.Format(*first.Descriptor.Platform))
			for _, d := range inner {
				if !slices.Contains(n.inner, d) {
					n.inner = append(n.inner, d)
				}
			}
			continue
		}
		names := make([]string, 0, len(group))
		for _, e := range group {
			names = append(names, describe(e))
		}
		b.fail(kept[g.others[0]].Source, spec.ErrDuplicatePlatform, "platform %s is given by %d different manifests: %s; each platform may appear once",
			platform.Format(*first.Descriptor.Platform), len(names), nameList(names))
	}
	for _, src := range nestedOrder {
		b.failNested(src, nested[src].platforms, nested[src].inner)
	}

	byDigest := map[digest.Digest][]int{}
	var digests []digest.Digest
	for i, e := range kept {
		d := e.Descriptor.Digest
		if _, ok := byDigest[d]; !ok {
			digests = append(digests, d)
		}
		byDigest[d] = append(byDigest[d], i)
	}
	for _, d := range digests {
		idx := byDigest[d]
		if len(idx) < 2 {
			continue
		}
		names := make([]string, 0, len(idx))
		for _, i := range idx {
			names = append(names, fmt.Sprintf("%s (%s)", kept[i].Source.Name(), platform.Format(*kept[i].Descriptor.Platform)))
		}
		b.warnOrFail(kept[idx[1]].Source, ErrDuplicateDigest, ": check the template", fmt.Sprintf(": check the template (%s)", b.names.Of(spec.OptionStrictPlatform)), "%s are the same manifest %s", nameList(names), d)
	}
	b.images = kept

	seen := map[digest.Digest]bool{}
	attestations := b.attestations[:0]
	for _, a := range b.attestations {
		if !seen[a.Descriptor.Digest] {
			seen[a.Descriptor.Digest] = true
			attestations = append(attestations, a)
		}
	}
	b.attestations = attestations
}

// merge makes the entries an update of cur, what the target tag holds
// (Input.Current): cur's image entries stay unless a source gives their
// platform, in which case the source's entry takes the place; the sources'
// other entries follow; then cur's attestations of the entries kept, then
// the sources' attestations.
func (b *builder) merge(cur *Source) {
	var current []ocispec.Descriptor
	var attestations []ocispec.Descriptor
	if content.IsIndex(cur.Descriptor.MediaType) {
		current, attestations = b.split(cur)
	} else {
		d := cur.Descriptor
		p := ocispec.Platform{}
		if cur.Config != nil {
			p = b.fromRegistry(cur, "image config", *cur.Config)
		}
		if p.OS == "" || p.Architecture == "" {
			b.fail(cur, ErrMissingPlatform, "%s is an image whose config gives no os and architecture: it cannot be kept as an entry; push without %s", cur.Name(), b.names.Of(spec.OptionAppend))
			return
		}
		d.Platform = &p
		current = append(current, d)
	}

	byPlatform := map[string]int{} // platform key → index into b.images
	for i, e := range b.images {
		if _, ok := byPlatform[platform.Key(*e.Descriptor.Platform)]; !ok {
			byPlatform[platform.Key(*e.Descriptor.Platform)] = i
		}
	}
	used := make([]bool, len(b.images))
	merged := make([]Entry, 0, len(current)+len(b.images))
	kept := map[digest.Digest]bool{}
	for _, c := range current {
		if i, ok := byPlatform[platform.Key(*c.Platform)]; ok {
			if !used[i] {
				used[i] = true
				merged = append(merged, b.images[i])
			}
			continue
		}
		kept[c.Digest] = true
		merged = append(merged, Entry{Source: cur, Descriptor: c, Kept: true})
	}
	for i, e := range b.images {
		if !used[i] {
			merged = append(merged, e)
		}
	}
	var atts []Entry
	for _, a := range attestations {
		if kept[content.AttestationOf(a)] {
			atts = append(atts, Entry{Source: cur, Descriptor: a, Attestation: true, Kept: true})
		}
	}
	b.images, b.attestations = merged, append(atts, b.attestations...)
}

// remove leaves out the entries of the platforms given, and their
// attestations; a platform no entry has is a warning.
func (b *builder) remove(ps []ocispec.Platform) {
	var images []Entry
	removed := map[digest.Digest]bool{}
	hit := make([]bool, len(ps))
	for _, e := range b.images {
		drop := false
		for i, p := range ps {
			if platform.Matches(p, *e.Descriptor.Platform) {
				hit[i], drop = true, true
			}
		}
		if drop {
			removed[e.Descriptor.Digest] = true
			continue
		}
		images = append(images, e)
	}
	for i, p := range ps {
		if !hit[i] {
			b.warnings = append(b.warnings, fmt.Sprintf("%s %s: the index has no entry of that platform; nothing removed for it", b.names.Of(spec.OptionRemove), platform.Format(p)))
		}
	}
	var attestations []Entry
	for _, a := range b.attestations {
		if !removed[content.AttestationOf(a.Descriptor)] {
			attestations = append(attestations, a)
		}
	}
	b.images, b.attestations = images, attestations
}

// selectPlatforms keeps the image entries whose platform one of want
// matches (every field a wanted platform gives must agree), with their
// attestations; a wanted platform that no entry has is an error listing
// what the sources give.
func (b *builder) selectPlatforms(want []ocispec.Platform) {
	var kept []Entry
	keptDigests := map[digest.Digest]bool{}
	for _, e := range b.images {
		for _, w := range want {
			if platform.Matches(w, *e.Descriptor.Platform) {
				kept = append(kept, e)
				keptDigests[e.Descriptor.Digest] = true
				break
			}
		}
	}
	for _, w := range want {
		found := false
		for _, e := range kept {
			if platform.Matches(w, *e.Descriptor.Platform) {
				found = true
				break
			}
		}
		if !found {
			descs := make([]ocispec.Descriptor, len(b.images))
			for i, e := range b.images {
				descs[i] = e.Descriptor
			}
			b.errs = append(b.errs, &spec.Error{
				Msg: fmt.Sprintf("%s: no source gives %s; they give: %s", b.names.Of(spec.OptionSelect), platform.Format(w), formatPlatforms(descs)),
				Err: ErrNoPlatformMatch,
			})
		}
	}
	var attestations []Entry
	for _, a := range b.attestations {
		if keptDigests[content.AttestationOf(a.Descriptor)] {
			attestations = append(attestations, a)
		}
	}
	b.images, b.attestations = kept, attestations
}

// innerOf gives the inner indexes of src that list ds, in order, each
// once; nil unless an inner index lists every one of them (src.Inner).
func innerOf(src *Source, ds []ocispec.Descriptor) []digest.Digest {
	var out []digest.Digest
	for _, d := range ds {
		in, ok := src.Inner[d.Digest]
		if !ok {
			return nil
		}
		if !slices.Contains(out, in) {
			out = append(out, in)
		}
	}
	return out
}

// innerOfEntries is innerOf for entries that one source gives; nil when
// they come from several sources.
func innerOfEntries(es []Entry) []digest.Digest {
	ds := make([]ocispec.Descriptor, len(es))
	for i, e := range es {
		if e.Source != es[0].Source || e.Kept {
			return nil
		}
		ds[i] = e.Descriptor
	}
	return innerOf(es[0].Source, ds)
}

// failNested refuses src, an index of indexes whose inner indexes each
// give the platforms named: flattened, they would give each platform more
// than once (rule P5). The way out is to name one inner index as the
// source; the message names them and how.
func (b *builder) failNested(src *Source, platforms []string, inner []digest.Digest) {
	names := make([]string, len(inner))
	for i, d := range inner {
		names[i] = d.String()
	}
	verb := "both give"
	if len(inner) > 2 {
		verb = "each give"
	}
	b.fail(src, spec.ErrDuplicatePlatform, "source %s is an index of indexes: its inner indexes %s %s %s, and an index gives each platform once (nested indexes are flattened): name one of its inner indexes as the source (%s)",
		src.Name(), andList(names), verb, andList(platforms), src.nameAt(inner[0]))
}

// andList joins names as "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// at is the "file:line:col: " prefix of a message about what pos names, or
// nothing when the position is unknown (a source given by flag).
func at(pos spec.Pos) string {
	if pos.File == "" {
		return ""
	}
	return pos.String() + ": "
}

// describe names an entry's source and where it is given.
func describe(e Entry) string {
	if e.Source.Pos.File == "" {
		return fmt.Sprintf("%s (%s)", e.Source.Name(), e.Descriptor.Digest)
	}
	return fmt.Sprintf("%s (%s, %s)", e.Source.Name(), e.Descriptor.Digest, e.Source.Pos)
}

// nameList joins names, naming at most maxNamed and counting the rest.
func nameList(names []string) string {
	if len(names) <= maxNamed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxNamed], ", "), len(names)-maxNamed)
}

func formatPlatforms(ds []ocispec.Descriptor) string {
	if len(ds) == 0 {
		return "no platforms"
	}
	names := make([]string, 0, len(ds))
	for _, d := range ds {
		if d.Platform != nil {
			names = append(names, platform.Format(*d.Platform))
		}
	}
	return strings.Join(names, ", ")
}

func clonePlatform(p ocispec.Platform) ocispec.Platform {
	p.OSFeatures = slices.Clone(p.OSFeatures)
	return p
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
