package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/manifest-push/manifest-push/content"
	"github.com/manifest-push/manifest-push/platform"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrDamaged: Verify found the image damaged (Verification.Problems says
// how).
var ErrDamaged = errors.New("damaged")

// VerifyOptions controls Verify. The zero value checks the manifests only.
type VerifyOptions struct {
	// Blobs also checks that every config and layer blob of every entry is
	// in the repository (non-distributable layers excepted).
	Blobs bool
	// Signed also checks that the manifest (an index: it and every
	// manifest of its graph) has a signature in the repository: cosign's
	// sha256-<hex>.sig tag, or an OCI referrer of cosign's signature or a
	// sigstore bundle type (see IsSignature). Each unsigned one is a
	// problem.
	Signed bool
}

// Verification is what Verify found.
type Verification struct {
	Ref       string        `json:"ref"`
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	// Entries are the descriptors checked (an index's entries, nested
	// indexes' included, a manifest listed twice counted twice; a single
	// manifest: itself).
	Entries int `json:"entries"`
	// Blobs are the blobs checked, with VerifyOptions.Blobs.
	Blobs int `json:"blobs"`
	// Signed are the manifests found signed, with VerifyOptions.Signed;
	// Unsigned names each manifest found without a signature
	// (REPOSITORY@DIGEST).
	Signed   int      `json:"signed,omitempty"`
	Unsigned []string `json:"unsigned,omitempty"`
	// Problems are the damage found: each names what is missing or wrong.
	Problems []string `json:"problems"`
	// Repair says how to mend the damage found, when a push can: a rerun
	// of the push that published the index copies missing entries (with
	// their blobs) back from their sources (docs/rules.md, "Reruns heal").
	Repair string `json:"repair,omitempty"`
	// Notes are what is worth knowing and is no damage: an entry whose
	// platform says other than its config (rule P2 lets the index win).
	Notes []string `json:"notes"`
}

// Whole reports whether no problem was found.
func (v *Verification) Whole() bool { return len(v.Problems) == 0 && len(v.Unsigned) == 0 }

// Verify checks that the image ref names is whole in its repository: every
// entry of the index exists there by digest with the size and media type
// its descriptor gives (every descriptor is checked, not every distinct
// digest: an index may list one manifest twice, and the second descriptor
// may lie); each image's config platform agrees with each descriptor of it
// (a disagreement is a note, as rule P2 lets the index say otherwise);
// every attestation refers to an entry the index lists; with Blobs, every
// config and layer blob is there too. It returns the Verification and,
// when something is damaged, an error wrapping ErrDamaged; any other error
// means it could not check.
func Verify(ctx context.Context, reg Registry, ref string, opts VerifyOptions) (*Verification, error) {
	ctx, named, r, rd, doc, err := open(ctx, reg, ref)
	if err != nil {
		return nil, err
	}
	v := &Verification{Ref: named.String(), Digest: doc.Desc.Digest, MediaType: doc.Desc.MediaType, Problems: []string{}, Notes: []string{}}
	ck := &checker{rd: rd, r: r, opts: opts, v: v, root: doc, read: map[digest.Digest]*manifestRead{}, listed: map[digest.Digest][]ocispec.Descriptor{}}
	visited, err := walk(ctx, []node{{at: ck.rd.at(r), desc: doc.Desc}}, ck.visit)
	if errors.Is(err, errTooDeep) || errors.Is(err, errTooLarge) {
		ck.problem("%v", err)
		err = nil
	}
	if err == nil {
		err = ck.descriptors(ctx, visited)
	}
	if err == nil && opts.Signed {
		err = ck.signatures(ctx, reg, visited)
	}
	if err != nil {
		return v, err
	}
	if !v.Whole() {
		if ck.missing.Load() {
			v.Repair = "run the push that published it again (the same from-spec or from-args command): a rerun copies the missing manifests back from their sources"
		}
		if len(v.Problems) == 0 {
			return v, fmt.Errorf("%s: %d manifest(s) unsigned: %w", named, len(v.Unsigned), ErrDamaged)
		}
		return v, fmt.Errorf("%s: %d problem(s) found: %w", named, len(v.Problems), ErrDamaged)
	}
	return v, nil
}

// checker is one Verify. The walk reads each distinct manifest of the
// graph once (the walk's bounds) and each distinct blob once; then every
// descriptor that lists a manifest is checked against what was read, so a
// manifest listed twice is checked twice, once per descriptor (an index may
// list one manifest twice, and the second descriptor may lie).
type checker struct {
	rd    *reader
	r     registry.Repo
	opts  VerifyOptions
	root  registry.Document
	blobs memo[bool]
	// missing is set when an entry is missing (a rerun of the push copies
	// it back).
	missing atomic.Bool
	mu      sync.Mutex
	v       *Verification
	// read is what the walk read for each manifest digest (under mu).
	read map[digest.Digest]*manifestRead
	// listed are the entries of each index visited, by the index's digest
	// (under mu).
	listed map[digest.Digest][]ocispec.Descriptor
}

// manifestRead is the outcome of reading one manifest by digest.
type manifestRead struct {
	doc registry.Document
	// err is registry.ErrNotFound or registry.ErrDigestMismatch (any other
	// failure ends the walk).
	err error
	// config is an image manifest's config descriptor; its MediaType is
	// empty for an index, or a manifest that did not parse.
	config ocispec.Descriptor
}

func (ck *checker) problem(format string, args ...any) {
	ck.mu.Lock()
	defer ck.mu.Unlock()
	ck.v.Problems = append(ck.v.Problems, fmt.Sprintf(format, args...))
}

func (ck *checker) note(format string, args ...any) {
	ck.mu.Lock()
	defer ck.mu.Unlock()
	ck.v.Notes = append(ck.v.Notes, fmt.Sprintf(format, args...))
}

// visit reads one manifest of the graph (the one Verify was given, or an
// entry of an index) and remembers what it found for the descriptor
// checks. An index's entries are its successors (and its attestations
// must refer to entries it lists); an image's blobs are checked with
// VerifyOptions.Blobs. The descriptor that led here is not checked here:
// the walk meets each digest once; descriptors checks every one.
func (ck *checker) visit(ctx context.Context, n node) ([]node, error) {
	d := n.desc
	doc := ck.root
	if n.depth > 0 {
		var err error
		doc, err = ck.rd.byDigest(ctx, ck.rd.at(ck.r), d.Digest)
		if err != nil && !errors.Is(err, registry.ErrNotFound) && !errors.Is(err, registry.ErrDigestMismatch) {
			return nil, fmt.Errorf("reading entry %s: %w", d.Digest, err)
		}
		ck.mu.Lock()
		ck.read[d.Digest] = &manifestRead{doc: doc, err: err}
		ck.mu.Unlock()
		if err != nil {
			return nil, nil
		}
	}
	if content.IsIndex(doc.Desc.MediaType) {
		return ck.index(doc)
	}
	if n.depth == 0 {
		ck.mu.Lock()
		ck.v.Entries++
		ck.mu.Unlock()
	}
	m, err := content.SuccessorsOf(doc)
	if err != nil {
		ck.problem("%s is not an image manifest: %v", d.Digest, err)
		return nil, nil
	}
	if n.depth > 0 {
		ck.mu.Lock()
		ck.read[d.Digest].config = *m.Config
		ck.mu.Unlock()
	}
	return nil, ck.blobsOf(ctx, d, m)
}

// index lists an index's entries as successors, remembers them for the
// descriptor checks, and checks that each attestation refers to an entry
// it lists.
func (ck *checker) index(doc registry.Document) ([]node, error) {
	idx, err := content.SuccessorsOf(doc)
	if err != nil {
		ck.problem("%s is not an index: %v", doc.Desc.Digest, err)
		return nil, nil
	}
	ck.mu.Lock()
	ck.listed[doc.Desc.Digest] = idx.Manifests
	ck.mu.Unlock()
	listed := map[digest.Digest]bool{}
	for _, d := range idx.Manifests {
		listed[d.Digest] = true
	}
	next := make([]node, 0, len(idx.Manifests))
	for _, d := range idx.Manifests {
		if of := content.AttestationOf(d); of != "" && !listed[of] {
			ck.problem("attestation %s refers to %s, which the index does not list", d.Digest, of)
		}
		next = append(next, node{at: ck.rd.at(ck.r), desc: d})
	}
	return next, nil
}

// listing is one descriptor of an index: the pos-th entry of parent.
type listing struct {
	desc   ocispec.Descriptor
	parent digest.Digest
	pos    int
}

// descriptors checks every entry of every index the walk visited (in the
// order the walk met the indexes, each index's entries in order) against
// what was read for its digest: that it is there, with the size and media
// type the entry gives, and that an image's config platform agrees with
// the entry's (a disagreement is a note: rule P2 lets the index say
// otherwise). An entry the walk did not read (it stopped at its bounds) is
// not checked.
func (ck *checker) descriptors(ctx context.Context, visited []node) error {
	var all []listing
	times := map[digest.Digest]int{}
	for _, n := range visited {
		for i, d := range ck.listed[n.desc.Digest] {
			if ck.read[d.Digest] == nil {
				continue
			}
			all = append(all, listing{desc: d, parent: n.desc.Digest, pos: i + 1})
			times[d.Digest]++
		}
	}
	platforms, err := ck.configPlatforms(ctx, all)
	if err != nil {
		return err
	}
	ck.v.Entries += len(all)
	for _, l := range all {
		d, got := l.desc, ck.read[l.desc.Digest]
		// at names the entry among others of its digest.
		at := ""
		if times[d.Digest] > 1 {
			at = fmt.Sprintf(", #%d in index %s", l.pos, l.parent)
		}
		name := d.Digest.String()
		if d.Platform != nil {
			name += " (" + platform.Format(*d.Platform) + ")"
		}
		name += at
		switch {
		case errors.Is(got.err, registry.ErrNotFound):
			ck.missing.Store(true)
			ck.problem("entry %s is missing from %s", name, ck.r)
			continue
		case got.err != nil:
			ck.problem("entry %s: %v", name, got.err)
			continue
		}
		if got.doc.Desc.Size != d.Size || got.doc.Desc.MediaType != d.MediaType {
			ck.problem("entry %s: the index says %d bytes of %s, the registry holds %d bytes of %s", name, d.Size, d.MediaType, got.doc.Desc.Size, got.doc.Desc.MediaType)
		}
		if cfg := platforms[d.Digest]; cfg != nil && needsPlatform(d) {
			have, _ := platform.NormalizeConfig(*cfg)
			want, _ := platform.NormalizeConfig(*d.Platform)
			if have.OS != want.OS || have.Architecture != want.Architecture {
				ck.note("entry %s%s is %s in the index, %s in its config (the index wins, rule P2)", d.Digest, at, platform.Format(want), platform.Format(have))
			}
		}
	}
	return nil
}

// needsPlatform reports whether entry d's platform is checked against its
// image's config: it gives one, and is no attestation.
func needsPlatform(d ocispec.Descriptor) bool {
	return d.Platform != nil && !content.IsAttestation(d)
}

// configPlatforms reads, concurrently, the config platform of each image
// that an entry of ls gives a platform for, by manifest digest. A missing
// config is a problem (and has no platform); any other failure is
// returned.
func (ck *checker) configPlatforms(ctx context.Context, ls []listing) (map[digest.Digest]*ocispec.Platform, error) {
	configs := map[digest.Digest]ocispec.Descriptor{}
	for _, l := range ls {
		got := ck.read[l.desc.Digest]
		if got.err == nil && got.config.MediaType != "" && needsPlatform(l.desc) {
			configs[l.desc.Digest] = got.config
		}
	}
	var mu sync.Mutex
	out := map[digest.Digest]*ocispec.Platform{}
	var errs []error
	var wg sync.WaitGroup
	for m, cfg := range configs {
		wg.Go(func() {
			p, err := ck.rd.platform(ctx, ck.rd.at(ck.r), cfg)
			switch {
			case errors.Is(err, registry.ErrNotFound):
				ck.problem("the config %s of %s is missing from %s", cfg.Digest, m, ck.r)
			case err != nil:
				mu.Lock()
				errs = append(errs, fmt.Errorf("reading the config of %s: %w", m, err))
				mu.Unlock()
			default:
				mu.Lock()
				out[m] = p
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// blobsOf checks, with VerifyOptions.Blobs, that the config and layers of
// image manifest d are in the repository.
func (ck *checker) blobsOf(ctx context.Context, d ocispec.Descriptor, m content.Successors) error {
	if !ck.opts.Blobs {
		return nil
	}
	blobs := m.Blobs()
	var wg sync.WaitGroup
	errs := make([]error, len(blobs))
	for i, b := range blobs {
		if content.NonDistributable(b.MediaType) || b.Digest == "" {
			continue
		}
		wg.Go(func() {
			first := false
			ok, err := ck.blobs.do(ctx, b.Digest, func() (bool, error) {
				first = true
				return ck.rd.reg.HasBlob(ctx, ck.r, b.Digest)
			})
			switch {
			case err != nil:
				errs[i] = err
			case !first:
				// checked for another manifest already
			case !ok:
				ck.problem("blob %s (%s of %s) is missing from %s", b.Digest, b.MediaType, d.Digest, ck.r)
				fallthrough
			default:
				ck.mu.Lock()
				ck.v.Blobs++
				ck.mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// signatures checks that every manifest the walk read (the root and each
// manifest of its graph, once each) has a signature in the repository.
func (ck *checker) signatures(ctx context.Context, reg Registry, visited []node) error {
	var ds []digest.Digest
	seen := map[digest.Digest]bool{}
	for _, n := range visited {
		if !seen[n.desc.Digest] {
			seen[n.desc.Digest] = true
			ds = append(ds, n.desc.Digest)
		}
	}
	found, err := signed(ctx, reg, ck.r, ds)
	if err != nil {
		return err
	}
	for i, d := range ds {
		if found[i] {
			ck.v.Signed++
			continue
		}
		ck.v.Unsigned = append(ck.v.Unsigned, fmt.Sprintf("%s@%s", ck.r, d))
	}
	return nil
}
