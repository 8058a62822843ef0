package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
)

// tagParamPut is the repository, digest and tags of a manifest PUT by
// digest with the tag parameter of the distribution-spec
// (PUT /v2/<name>/manifests/<digest>?tag=A&tag=B); ok is false for any
// other request.
func tagParamPut(r *http.Request) (repo, dgst string, tags []string, ok bool) {
	if r.Method != http.MethodPut {
		return "", "", nil, false
	}
	m := manifestPath.FindStringSubmatch(r.URL.Path)
	if m == nil || !isDigestRef(m[2]) {
		return "", "", nil, false
	}
	tags = r.URL.Query()["tag"]
	return m[1], m[2], tags, len(tags) > 0
}

// TagParameter emulates a registry that implements the tag parameter of
// the distribution-spec: a PUT of a manifest by digest with
// ?tag=A&tag=B is forwarded by digest (without the parameter) and, when
// that is written, the same body is PUT under each tag to the upstream
// (with the request's Content-Type and Authorization); the answer carries
// one OCI-Tag header per tag applied. A tag the upstream refuses is not
// echoed. Every other request passes. It needs ProfileOptions.Upstream
// (and Client for a TLS upstream).
func TagParameter(o ProfileOptions) *Profile {
	p := newProfile("tag parameter", o)
	if p.upstream == "" {
		panic("proxy: the profile " + p.Name + " needs ProfileOptions.Upstream")
	}
	p.Fault = func(r *http.Request, _ int) Action {
		repo, _, tags, ok := tagParamPut(r)
		if !ok {
			return Pass()
		}
		header := http.Header{}
		for _, k := range []string{"Content-Type", "Authorization"} {
			if v := r.Header.Get(k); v != "" {
				header.Set(k, v)
			}
		}
		return Action{Inspect: func(body []byte) Action {
			return Action{
				Rewrite: func(u *url.URL) {
					q := u.Query()
					q.Del("tag")
					u.RawQuery = q.Encode()
				},
				ModifyResponse: func(resp *http.Response) error {
					if resp.StatusCode != http.StatusCreated {
						return nil
					}
					for _, t := range tags {
						if p.putTag(resp.Request, repo, t, header, body) {
							resp.Header.Add("OCI-Tag", t)
						}
					}
					return nil
				},
			}
		}}
	}
	return p
}

// putTag PUTs body under repo:tag to the upstream and reports whether the
// upstream wrote it.
func (p *Profile) putTag(in *http.Request, repo, tag string, header http.Header, body []byte) bool {
	req, err := http.NewRequestWithContext(in.Context(), http.MethodPut, p.upstream+"/v2/"+repo+"/manifests/"+url.PathEscape(tag), bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header = header.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body) // drained for reuse; the status says it all
	resp.Body.Close()
	return resp.StatusCode == http.StatusCreated
}

// TagParameterRefused emulates a registry that refuses the tag parameter:
// a manifest PUT by digest with ?tag= is answered 400 UNSUPPORTED, before
// the upstream sees it. Every other request passes.
func TagParameterRefused(o ProfileOptions) *Profile {
	p := newProfile("tag parameter refused", o)
	p.Fault = func(r *http.Request, _ int) Action {
		if _, _, _, ok := tagParamPut(r); !ok {
			return Pass()
		}
		return registryError(http.StatusBadRequest, "UNSUPPORTED", "the operation is unsupported: unknown query parameter tag")
	}
	return p
}
