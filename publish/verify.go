package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/manifest-push/manifest-push/plan"
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
	ck := &checker{rd: rd, r: r, opts: opts, v: v}
	if plan.IsIndex(doc.Desc.MediaType) {
		err = ck.index(ctx, doc, 0)
	} else {
		err = ck.image(ctx, ocispec.Descriptor{MediaType: doc.Desc.MediaType, Digest: doc.Desc.Digest, Size: doc.Desc.Size}, doc)
	}
	if err != nil {
		return v, err
	}
	if !v.Whole() {
		return v, fmt.Errorf("%s: %d problem(s) found: %w", named, len(v.Problems), ErrDamaged)
	}
	return v, nil
}

type checker struct {
	rd   *reader
	r    registry.Repo
	opts VerifyOptions
	mu   sync.Mutex
	v    *Verification
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

// index checks an index's entries, concurrently.
func (ck *checker) index(ctx context.Context, doc registry.Document, depth int) error {
	if depth > maxNesting {
		ck.problem("%s: indexes nested more than %d deep", doc.Desc.Digest, maxNesting)
		return nil
	}
	var idx ocispec.Index
	if err := json.Unmarshal(doc.Data, &idx); err != nil {
		ck.problem("%s is not an index: %v", doc.Desc.Digest, err)
		return nil
	}
	listed := map[digest.Digest]bool{}
	for _, d := range idx.Manifests {
		listed[d.Digest] = true
	}
	var wg sync.WaitGroup
	errs := make([]error, len(idx.Manifests))
	for i, d := range idx.Manifests {
		if plan.IsAttestation(d) {
			if of := digest.Digest(d.Annotations[plan.AnnotationReferenceDigest]); !listed[of] {
				ck.problem("attestation %s refers to %s, which the index does not list", d.Digest, of)
			}
		}
		wg.Go(func() { errs[i] = ck.entry(ctx, d, depth) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// entry checks one descriptor: the manifest it names is there, with its
// size and media type; then, for an image, its config and blobs.
func (ck *checker) entry(ctx context.Context, d ocispec.Descriptor, depth int) error {
	ck.mu.Lock()
	ck.v.Entries++
	ck.mu.Unlock()
	name := d.Digest.String()
	if d.Platform != nil {
		name += " (" + platform.Format(*d.Platform) + ")"
	}
	doc, err := ck.rd.reg.ReadManifest(ctx, ck.r, d.Digest.String())
	switch {
	case errors.Is(err, registry.ErrNotFound):
		ck.problem("entry %s is missing from %s", name, ck.r)
		return nil
	case errors.Is(err, registry.ErrDigestMismatch):
		ck.problem("entry %s: %v", name, err)
		return nil
	case err != nil:
		return fmt.Errorf("reading entry %s: %w", name, err)
	}
	if doc.Desc.Size != d.Size || doc.Desc.MediaType != d.MediaType {
		ck.problem("entry %s: the index says %d bytes of %s, the registry holds %d bytes of %s", name, d.Size, d.MediaType, doc.Desc.Size, doc.Desc.MediaType)
	}
	if plan.IsIndex(doc.Desc.MediaType) {
		return ck.index(ctx, doc, depth+1)
	}
	return ck.image(ctx, d, doc)
}

// image checks an image manifest's config platform against d, and its
// blobs with VerifyOptions.Blobs.
func (ck *checker) image(ctx context.Context, d ocispec.Descriptor, doc registry.Document) error {
	var m ocispec.Manifest
	if err := json.Unmarshal(doc.Data, &m); err != nil {
		ck.problem("%s is not an image manifest: %v", d.Digest, err)
		return nil
	}
	if d.Platform != nil && !plan.IsAttestation(d) && m.Config.MediaType != "" {
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
		if nonDistributable(b.MediaType) || b.Digest == "" {
			continue
		}
		wg.Go(func() {
			ok, err := ck.rd.reg.HasBlob(ctx, ck.r, b.Digest)
			ck.mu.Lock()
			ck.v.Blobs++
			ck.mu.Unlock()
			switch {
			case err != nil:
				errs[i] = err
			case !ok:
				ck.problem("blob %s (%s of %s) is missing from %s", b.Digest, b.MediaType, d.Digest, ck.r)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
