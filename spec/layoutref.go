package spec

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/manifest-push/manifest-push/internal/suggest"
	"github.com/opencontainers/go-digest"
)

// LayoutPrefix starts a source that is an OCI image layout rather than a
// registry reference: oci-layout:PATH[:TAG|@DIGEST].
const LayoutPrefix = "oci-layout:"

// LayoutRef is a source read from an OCI image layout: a directory, or a
// tar archive of one (as docker buildx --output type=oci writes it).
type LayoutRef struct {
	// Path is the layout's path. A relative path in a spec file is made
	// relative to the spec file's directory when it is loaded; one given
	// by from-args stays relative to the working directory.
	Path string
	// Tag names the image by its tag in the layout's index.json (the
	// org.opencontainers.image.ref.name annotation); empty when not given.
	Tag string
	// Digest names the image by digest; empty when not given. At most one
	// of Tag and Digest is set; with neither, the layout must hold exactly
	// one image or index.
	Digest digest.Digest
}

// String renders the source as it is written: oci-layout:PATH[:TAG|@DIGEST]
// ("" for nil).
func (r *LayoutRef) String() string {
	if r == nil {
		return ""
	}
	s := LayoutPrefix + r.Path
	switch {
	case r.Digest != "":
		s += "@" + r.Digest.String()
	case r.Tag != "":
		s += ":" + r.Tag
	}
	return s
}

// Ref is what names the image inside the layout: the digest, the tag, or
// "" for the layout's only image.
func (r LayoutRef) Ref() string {
	if r.Digest != "" {
		return r.Digest.String()
	}
	return r.Tag
}

// IsLayout reports whether a source is written as an OCI layout source.
func IsLayout(src string) bool { return strings.HasPrefix(src, LayoutPrefix) }

// ParseLayoutRef parses oci-layout:PATH[:TAG|@DIGEST]. The last "@" followed
// by ALGORITHM: (sha256:, sha384: or sha512:) starts the digest, which must
// then be valid; otherwise the first ":" after the prefix ends PATH and
// starts the tag. So PATH cannot hold ":" (as in skopeo's oci: transport)
// but may hold "@". A relative PATH is joined to base when base is not
// empty.
func ParseLayoutRef(src, base string) (*LayoutRef, error) {
	rest, ok := strings.CutPrefix(src, LayoutPrefix)
	if !ok {
		return nil, fmt.Errorf("%s is not an OCI layout source: write oci-layout:PATH[:TAG|@DIGEST]", suggest.Quote(src))
	}
	r := &LayoutRef{}
	if i := strings.LastIndex(rest, "@"); i >= 0 && isDigestLike(rest[i+1:]) {
		d, err := digest.Parse(rest[i+1:])
		if err != nil {
			return nil, fmt.Errorf("%s: invalid digest %s (%v): write oci-layout:PATH@sha256:<64 hex digits>", suggest.Quote(src), suggest.Quote(rest[i+1:]), err)
		}
		r.Digest, rest = d, rest[:i]
	}
	if p, tag, ok := strings.Cut(rest, ":"); ok {
		if r.Digest != "" {
			return nil, fmt.Errorf("%s: give a tag or a digest, not both: write oci-layout:PATH:TAG or oci-layout:PATH@DIGEST", suggest.Quote(src))
		}
		if err := checkTag(tag); err != nil {
			return nil, fmt.Errorf("%s: %v (the first \":\" after oci-layout:PATH starts the tag; a PATH cannot hold \":\")", suggest.Quote(src), err)
		}
		rest, r.Tag = p, tag
	}
	if rest == "" {
		return nil, fmt.Errorf("%s: no path: write oci-layout:PATH[:TAG|@DIGEST], e.g. oci-layout:./build/oci.tar", suggest.Quote(src))
	}
	r.Path = rest
	if base != "" && !filepath.IsAbs(r.Path) {
		r.Path = filepath.Join(base, r.Path)
	}
	return r, nil
}

// isDigestLike reports whether s starts as a digest of a known algorithm
// does.
func isDigestLike(s string) bool {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA384, digest.SHA512} {
		if strings.HasPrefix(s, alg.String()+":") {
			return true
		}
	}
	return false
}
