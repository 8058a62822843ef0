package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/manifest-push/manifest-push/plan"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/opencontainers/go-digest"
)

// Signing in the push (docs/rules.md, "Signing"): the children and the
// index are written by digest, then each artifact that has no signature
// yet is signed, and only then do tags move. The writer signs in putTags,
// before it moves any tag, so no tag ever names an index with an unsigned
// artifact.

// Signer signs one artifact, REPOSITORY@DIGEST, in its registry: a program
// the user configures (package sign runs one). A fake of it serves tests.
type Signer interface {
	// Sign signs artifact; its error says why it could not.
	Sign(ctx context.Context, artifact string) error
	// Argv is the command line Sign runs for artifact (a dry run prints
	// it).
	Argv(artifact string) []string
}

// Signing is what a push signs, and with what (Options.Signing).
type Signing struct {
	// Signer signs; required.
	Signer Signer
	// IndexOnly signs the index alone; zero signs the index and every
	// child (images, attestation manifests).
	IndexOnly bool
	// Jobs bounds how many signers run at once; zero means SignJobs.
	Jobs int
}

// SignJobs is how many signers run at once unless Signing.Jobs says.
const SignJobs = 4

// SignStatus is what a push did about one artifact's signature.
type SignStatus string

// Signature statuses reported in SignResult.Status.
const (
	// SignSigned: the signer ran and succeeded.
	SignSigned SignStatus = "signed"
	// SignFound: a signature was there already; no signer ran.
	SignFound SignStatus = "already signed"
	// SignWouldSign: a dry run would run the signer.
	SignWouldSign SignStatus = "would sign"
	// SignFailed: the signer failed; the artifact is unsigned.
	SignFailed SignStatus = "not signed"
)

// SignResult is what happened to one artifact's signature.
type SignResult struct {
	// Artifact is REPOSITORY@DIGEST.
	Artifact string        `json:"artifact"`
	Digest   digest.Digest `json:"digest"`
	Status   SignStatus    `json:"status"`
	// Command is the command line run (or, in a dry run, that would be);
	// empty when a signature was found.
	Command []string `json:"command,omitempty"`
}

// SignError is a signing step that left artifacts unsigned: no tag moved.
// Each failure is a *sign.Error (or whatever the Signer returned) naming
// its artifact.
type SignError struct {
	// Unsigned are the artifacts left unsigned, REPOSITORY@DIGEST.
	Unsigned []string
	Err      error
}

func (e *SignError) Error() string {
	return fmt.Sprintf("signing failed for %d artifacts, so no tag moved (a rerun signs what is unsigned, then moves the tags):\n%v", len(e.Unsigned), e.Err)
}

func (e *SignError) Unwrap() error { return e.Err }

// Signature artifact types (the media types cosign and sigstore give a
// signature kept as an OCI referrer), and the cosign tag suffix of one kept
// in the tag schema.
const (
	cosignSignatureType  = "application/vnd.dev.cosign.artifact.sig.v1+json"
	sigstoreBundlePrefix = "application/vnd.dev.sigstore.bundle"
	cosignSignatureTag   = ".sig"
)

// IsSignature reports whether r is a signature of its subject: cosign's
// sha256-<hex>.sig tag, an OCI referrer of cosign's signature artifact
// type, or a sigstore bundle.
func IsSignature(r registry.Referrer) bool {
	if r.Tag != "" {
		return strings.HasSuffix(r.Tag, cosignSignatureTag)
	}
	t := r.Desc.ArtifactType
	return t == cosignSignatureType || strings.HasPrefix(t, sigstoreBundlePrefix)
}

// signed reports, for each of ds, whether repository r holds a signature
// of it: one fresh read of how r keeps referrers (another job may have
// signed since the push began), then each artifact's referrers,
// concurrently.
func signed(ctx context.Context, reg Registry, r registry.Repo, ds []digest.Digest) ([]bool, error) {
	ctx = registry.WithReferrerScans(ctx)
	out := make([]bool, len(ds))
	err := fanOut(ctx, len(ds), func(ctx context.Context, i int) error {
		refs, err := reg.Referrers(ctx, r, ds[i])
		if err != nil {
			return fmt.Errorf("looking for a signature of %s@%s: %w", r, ds[i], err)
		}
		out[i] = slices.ContainsFunc(refs, IsSignature)
		return nil
	})
	return out, err
}

// artifacts are what signing covers for the index p: p, then (unless
// IndexOnly) every manifest it lists, each once.
func (s *Signing) artifacts(p *plan.Plan) []digest.Digest {
	out := []digest.Digest{p.Descriptor.Digest}
	if s.IndexOnly {
		return out
	}
	seen := map[digest.Digest]bool{p.Descriptor.Digest: true}
	for _, e := range p.Entries {
		if !seen[e.Descriptor.Digest] {
			seen[e.Descriptor.Digest] = true
			out = append(out, e.Descriptor.Digest)
		}
	}
	return out
}

// signatures is the writer's record of what it found signed or signed in
// its target, so that a later round (an update's merge, the gate's next
// look) asks again only about what is new.
type signatures struct {
	mu   sync.Mutex
	done map[digest.Digest]bool
	// spent is how long signing took so far (the settle times of an
	// update and of the gate leave it out: it is no registry lag).
	spent time.Duration
}

// took is how long signing took so far.
func (s *signatures) took() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spent
}

// sign makes sure every artifact of p is signed in the target: those with
// a signature already are left alone; the signer runs for the others
// (Signing.Jobs at a time). With dryRun it runs nothing and reports what it
// would run. A signer that fails leaves the others running; the failures
// are a *SignError. res.Signatures says what happened to each artifact.
// Without signing it does nothing.
func (w *writer) sign(ctx context.Context, res *Result, p *plan.Plan, dryRun bool) error {
	s := w.signing
	if s == nil {
		return nil
	}
	start := time.Now()
	defer func() {
		w.signs.mu.Lock()
		w.signs.spent += time.Since(start)
		w.signs.mu.Unlock()
	}()
	var ask []digest.Digest
	w.signs.mu.Lock()
	for _, d := range s.artifacts(p) {
		if !w.signs.done[d] {
			ask = append(ask, d)
		}
	}
	w.signs.mu.Unlock()
	if len(ask) == 0 {
		return nil
	}
	found, err := signed(ctx, w.reg(), w.target(), ask)
	if err != nil {
		return err
	}
	var todo []digest.Digest
	for i, d := range ask {
		if found[i] {
			w.record(res, SignResult{Artifact: w.artifact(d), Digest: d, Status: SignFound})
		} else {
			todo = append(todo, d)
		}
	}
	if dryRun {
		for _, d := range todo {
			a := w.artifact(d)
			res.setSignature(SignResult{Artifact: a, Digest: d, Status: SignWouldSign, Command: s.Signer.Argv(a)})
		}
		return nil
	}
	jobs := s.Jobs
	if jobs <= 0 {
		jobs = SignJobs
	}
	errs := make([]error, len(todo))
	results := make([]SignResult, len(todo))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, d := range todo {
		wg.Go(func() {
			a := w.artifact(d)
			results[i] = SignResult{Artifact: a, Digest: d, Status: SignSigned, Command: s.Signer.Argv(a)}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = fmt.Errorf("%s: %w", a, context.Cause(ctx))
				results[i].Status = SignFailed
				return
			}
			defer func() { <-sem }()
			if err := s.Signer.Sign(ctx, a); err != nil {
				errs[i] = fmt.Errorf("%s: %w", a, err)
				results[i].Status = SignFailed
			}
		})
	}
	wg.Wait()
	var unsigned []string
	for i, r := range results {
		if errs[i] != nil {
			unsigned = append(unsigned, r.Artifact)
			res.setSignature(r)
			continue
		}
		w.record(res, r)
	}
	if len(unsigned) > 0 {
		return &SignError{Unsigned: unsigned, Err: errors.Join(errs...)}
	}
	return nil
}

// record notes that r's artifact is signed in the target.
func (w *writer) record(res *Result, r SignResult) {
	w.signs.mu.Lock()
	w.signs.done[r.Digest] = true
	w.signs.mu.Unlock()
	res.setSignature(r)
}

// artifact names manifest d in the target: REPOSITORY@DIGEST.
func (w *writer) artifact(d digest.Digest) string {
	return w.target().String() + "@" + d.String()
}

// setSignature records r in res, replacing what an earlier round said of
// the same artifact (unless that round signed it: a later "already signed"
// finds this push's own signature).
func (res *Result) setSignature(r SignResult) {
	for i, old := range res.Signatures {
		if old.Digest == r.Digest {
			if old.Status == SignSigned && r.Status == SignFound {
				return
			}
			res.Signatures[i] = r
			return
		}
	}
	res.Signatures = append(res.Signatures, r)
}
