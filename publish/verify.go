package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

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
}

// Verification is what Verify found.
type Verification struct {
	Ref       string        `json:"ref"`
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	// Entries are the manifests checked (an index's entries, nested
	// indexes' included; a single manifest: itself).
	Entries int `json:"entries"`
	// Blobs are the blobs checked, with VerifyOptions.Blobs.
	Blobs int `json:"blobs"`
	// Problems are the damage found: each names what is missing or wrong.
	Problems []string `json:"problems"`
	// Notes are what is worth knowing and is no damage: an entry whose
	// platform says other than its config (rule P2 lets the index win).
	Notes []string `json:"notes"`
}

// Whole reports whether no problem was found.
func (v *Verification) Whole() bool { return len(v.Problems) == 0 }

// Verify checks that the image ref names is whole in its repository: every
// entry of the index exists there by digest with the size and media type
// its descriptor gives; each image's config platform agrees with its
// descriptor (a disagreement is a note, as rule P2 lets the index say
// otherwise); every attestation refers to an entry the index lists; with
// Blobs, every config and layer blob is there too. It returns the
// Verification and, when something is damaged, an error wrapping
// ErrDamaged; any other error means it could not check.
func Verify(ctx context.Context, reg Registry, ref string, opts VerifyOptions) (*Verification, error) {
	ctx, named, r, rd, doc, err := open(ctx, reg, ref)
	if err != nil {
		return nil, err
	}
	v := &Verification{Ref: named.String(), Digest: doc.Desc.Digest, MediaType: doc.Desc.MediaType, Problems: []string{}, Notes: []string{}}
	ck := &checker{rd: rd, r: r, opts: opts, v: v, root: doc}
	_, err = walk(ctx, []node{{repo: r, desc: doc.Desc}}, ck.visit)
	if errors.Is(err, errTooDeep) || errors.Is(err, errTooLarge) {
		ck.problem("%v", err)
		err = nil
	}
	if err != nil {
		return v, err
	}
	if !v.Whole() {
		return v, fmt.Errorf("%s: %d problem(s) found: %w", named, len(v.Problems), ErrDamaged)
	}
	return v, nil
}

// checker is one Verify: it visits each distinct manifest of the graph once
// (the walk's bounds), and each distinct blob once.
type checker struct {
	rd    *reader
	r     registry.Repo
	opts  VerifyOptions
	root  registry.Document
	blobs memo[bool]
	mu    sync.Mutex
	v     *Verification
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

// visit checks one manifest of the graph: the one Verify was given, or an
// entry of an index: it is there, with the size and media type its
// descriptor gives; an index's entries are its successors (and its
// attestations must refer to entries it lists); an image's config and
// blobs are checked.
func (ck *checker) visit(ctx context.Context, n node) ([]node, error) {
	d := n.desc
	doc := ck.root
	if n.depth > 0 {
		ck.mu.Lock()
		ck.v.Entries++
		ck.mu.Unlock()
		name := d.Digest.String()
		if d.Platform != nil {
			name += " (" + platform.Format(*d.Platform) + ")"
		}
		var err error
		doc, err = ck.rd.byDigest(ctx, ck.r, d.Digest)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			ck.problem("entry %s is missing from %s", name, ck.r)
			return nil, nil
		case errors.Is(err, registry.ErrDigestMismatch):
			ck.problem("entry %s: %v", name, err)
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("reading entry %s: %w", name, err)
		}
		if doc.Desc.Size != d.Size || doc.Desc.MediaType != d.MediaType {
			ck.problem("entry %s: the index says %d bytes of %s, the registry holds %d bytes of %s", name, d.Size, d.MediaType, doc.Desc.Size, doc.Desc.MediaType)
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
	return nil, ck.image(ctx, d, doc)
}

// index lists an index's entries as successors, and checks that each
// attestation refers to an entry it lists.
func (ck *checker) index(doc registry.Document) ([]node, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(doc.Data, &idx); err != nil {
		ck.problem("%s is not an index: %v", doc.Desc.Digest, err)
		return nil, nil
	}
	listed := map[digest.Digest]bool{}
	for _, d := range idx.Manifests {
		listed[d.Digest] = true
	}
	next := make([]node, 0, len(idx.Manifests))
	for _, d := range idx.Manifests {
		if of := content.AttestationOf(d); of != "" && !listed[of] {
			ck.problem("attestation %s refers to %s, which the index does not list", d.Digest, of)
		}
		next = append(next, node{repo: ck.r, desc: d})
	}
	return next, nil
}

// image checks an image manifest's config platform against d, and its
// blobs with VerifyOptions.Blobs.
func (ck *checker) image(ctx context.Context, d ocispec.Descriptor, doc registry.Document) error {
	var m ocispec.Manifest
	if err := json.Unmarshal(doc.Data, &m); err != nil {
		ck.problem("%s is not an image manifest: %v", d.Digest, err)
		return nil
	}
	if d.Platform != nil && !content.IsAttestation(d) && m.Config.MediaType != "" {
		cfg, err := ck.rd.platform(ctx, ck.r, m.Config)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			ck.problem("the config %s of %s is missing from %s", m.Config.Digest, d.Digest, ck.r)
		case err != nil:
			return fmt.Errorf("reading the config of %s: %w", d.Digest, err)
		default:
			have, _ := platform.NormalizeConfig(*cfg)
			want, _ := platform.NormalizeConfig(*d.Platform)
			if have.OS != want.OS || have.Architecture != want.Architecture {
				ck.note("entry %s is %s in the index, %s in its config (the index wins, rule P2)", d.Digest, platform.Format(want), platform.Format(have))
			}
		}
	}
	if !ck.opts.Blobs {
		return nil
	}
	blobs := append([]ocispec.Descriptor{m.Config}, m.Layers...)
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
