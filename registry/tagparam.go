package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/containerd/log"
)

// PutTagged writes doc into repository r under its digest and asks the
// registry to point tags at it in the same request, with the tag parameter
// of the distribution-spec (PUT /v2/<name>/manifests/<digest>?tag=A&tag=B).
// It returns the tags the registry confirmed (one OCI-Tag header each), in
// the order given. Tags not confirmed are the caller's to write one by one
// (PutManifest).
//
// What a registry does with the parameter is learned once per run, per
// registry host: the first PutTagged to a host sends it while the others to
// that host wait for its answer. When that answer confirms no tag (the
// registry ignored the parameter), or the registry refuses the PUT with a
// 4xx that is not about credentials, what the document refers to
// (MANIFEST_BLOB_UNKNOWN), a missing repository or a rate limit (the PUT is
// then sent again once, without the parameter), the host has no tag
// parameter: every later PutTagged to it is a plain PUT by digest that
// returns no tag. A registry that took the parameter and refuses it for
// one document later (an immutable tag) gets that document by digest only,
// and its tags are left to the caller. The retries and errors are those of
// PutManifest. A tag that is not a valid tag is an error, before any
// request.
func (c *Client) PutTagged(ctx context.Context, r Repo, doc Document, tags []string) ([]string, error) {
	if err := doc.Desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("writing %s: %w", r, err)
	}
	var ask []string
	for _, t := range tags {
		if !tagPattern.MatchString(t) {
			return nil, fmt.Errorf("writing %s@%s: %q is not a valid tag", r, doc.Desc.Digest, t)
		}
		if !slices.Contains(ask, t) {
			ask = append(ask, t)
		}
	}
	ref := doc.Desc.Digest.String()
	if len(ask) == 0 {
		return nil, c.PutManifest(ctx, r, ref, doc)
	}
	st := c.tagParamOf(r.Domain)
	switch st.mode.Load() {
	case tagParamNo:
		return nil, c.PutManifest(ctx, r, ref, doc)
	case tagParamYes:
		return c.putTagged(ctx, r, doc, ask)
	}
	// Unknown: one request to the host learns it; the others wait.
	select {
	case st.gate <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-st.gate }()
	switch st.mode.Load() { // learned while this one waited
	case tagParamNo:
		return nil, c.PutManifest(ctx, r, ref, doc)
	case tagParamYes:
		return c.putTagged(ctx, r, doc, ask)
	}
	h, err := c.putManifestQuery(ctx, r, ref, url.Values{"tag": ask}, doc)
	switch {
	case err == nil:
		got := confirmedTags(h, ask)
		if len(got) == 0 {
			st.mode.Store(tagParamNo)
			log.G(ctx).WithField("host", r.Domain).Debug("the registry ignores the tag parameter: tags are written one by one")
		} else {
			st.mode.Store(tagParamYes)
			log.G(ctx).WithField("host", r.Domain).WithField("tags", got).Debug("the registry takes the tag parameter")
		}
		return got, nil
	case refusesTagParam(err):
		st.mode.Store(tagParamNo)
		log.G(ctx).WithError(err).WithField("host", r.Domain).Debug("the registry refused the tag parameter: writing by digest, tags one by one")
		return nil, c.PutManifest(ctx, r, ref, doc)
	default:
		return nil, err // nothing learned: the next PutTagged asks again
	}
}

// putTagged writes doc with the tag parameter to a registry known to take
// it; a refusal (an immutable tag among them) writes it again by digest
// only, and leaves the tags to the caller.
func (c *Client) putTagged(ctx context.Context, r Repo, doc Document, tags []string) ([]string, error) {
	ref := doc.Desc.Digest.String()
	h, err := c.putManifestQuery(ctx, r, ref, url.Values{"tag": tags}, doc)
	if err != nil {
		if !refusesTagParam(err) {
			return nil, err
		}
		log.G(ctx).WithError(err).WithField("host", r.Domain).Debug("the registry refused the tags of this PUT: writing by digest, tags one by one")
		return nil, c.PutManifest(ctx, r, ref, doc)
	}
	return confirmedTags(h, tags), nil
}

// What a client knows of a registry host's tag parameter.
const (
	tagParamUnknown int32 = iota
	tagParamYes
	tagParamNo
)

// tagParam is what the client learned of one registry host's tag
// parameter (PutTagged): mode, and gate, held by the one request that
// learns it.
type tagParam struct {
	mode atomic.Int32
	gate chan struct{}
}

func (c *Client) tagParamOf(domain string) *tagParam {
	if v, ok := c.tagParams.Load(domain); ok {
		return v.(*tagParam)
	}
	v, _ := c.tagParams.LoadOrStore(domain, &tagParam{gate: make(chan struct{}, 1)})
	return v.(*tagParam)
}

// tagPattern is the tag grammar of the distribution-spec.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// confirmedTags lists the tags of asked that the answer's OCI-Tag headers
// confirm (one header value per tag; values joined by commas are read as
// well), in the order of asked.
func confirmedTags(h http.Header, asked []string) []string {
	echoed := map[string]bool{}
	for _, v := range h.Values("OCI-Tag") {
		for t := range strings.SplitSeq(v, ",") {
			echoed[strings.TrimSpace(t)] = true
		}
	}
	var got []string
	for _, t := range asked {
		if echoed[t] {
			got = append(got, t)
		}
	}
	return got
}

// refusesTagParam reports whether err, the answer to a manifest PUT with
// the tag parameter, may refuse the parameter: a 4xx other than a refusal
// of credentials (401, 403), MANIFEST_BLOB_UNKNOWN (retried already), a
// missing repository and a rate limit, which a PUT without the parameter
// would get as well.
func refusesTagParam(err error) bool {
	e, ok := errors.AsType[*Error](err)
	if !ok || e.StatusCode < 400 || e.StatusCode > 499 {
		return false
	}
	switch {
	case e.isUnauthorized(), IsBlobUnknown(err), missingRepository(e), e.StatusCode == http.StatusTooManyRequests:
		return false
	}
	return true
}
