package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// A registry profile makes the proxy answer as one vendor's registry is
// documented or reported to, in front of a real registry: each behaviour
// of the README's "Registries" section that the reference registry does
// not have. That section's table cites the public source of each. A profile is
// a FaultFunc with the state it needs; switch it on with SetFault (or
// Chain it with a test's own faults), and Close it when done.
type Profile struct {
	// Name is the registry it emulates.
	Name string
	// Fault is the behaviour, for SetFault.
	Fault FaultFunc
	// CDN, when the profile redirects blob reads to another host, is the
	// proxy on that host (in front of the same upstream): its Requests
	// show what reached it.
	CDN *Proxy

	mu       sync.Mutex
	pulls    int // manifest GETs counted against the pull budget
	left     int // pulls left; negative: no limit
	closers  []func()
	upstream string
	client   *http.Client
}

// Close stops what the profile started (a CDN host, a web site).
func (p *Profile) Close() {
	for _, c := range p.closers {
		c()
	}
}

// Pulls returns the manifest GETs counted so far (Docker Hub's pull
// budget counts every manifest GET, never a HEAD).
func (p *Profile) Pulls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pulls
}

// SetPullsLeft sets how many manifest GETs are left before the pull limit
// answers 429 with Retry-After: 3600; negative means no limit.
func (p *Profile) SetPullsLeft(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.left = n
}

// ProfileOptions configures a profile. The zero value is the registry's
// default behaviour with every repository existing and no tag immutable.
type ProfileOptions struct {
	// Upstream is the base URL of the registry behind the proxy, and
	// Client a client for it: the profile looks tags up there (immutable
	// tags, tag-read lag).
	Upstream string
	Client   *http.Client

	// Repositories, when not nil, are the repositories that exist (ECR:
	// full names; Harbor: project names, the first path component); a write
	// to any other is refused as that registry refuses it.
	Repositories []string

	// ImmutableTags makes every existing tag immutable: a PUT of a manifest
	// under a tag that exists is refused, even with the same digest (ECR).
	ImmutableTags bool

	// PutImagePerSecond, when positive, throttles manifest PUTs to that
	// many per second (ECR's PutImage quota); the others get 429.
	PutImagePerSecond int

	// Throttle, when positive, answers that many requests (the first ones)
	// with the registry's own 429 (Docker Hub: plain text; GHCR: the wait
	// only in the body).
	Throttle int

	// AllowedArtifactTypes, when not nil, is the allow-list of artifact
	// types (a manifest's artifactType, else its config's media type) of
	// GitLab and Quay; a manifest of another type is refused with 400
	// "unknown media type".
	AllowedArtifactTypes []string

	// Challenge, when set, is the registry's Bearer challenge
	// (`Bearer realm="…",service="…"`): a 401 the profile answers carries
	// it, with the scopes the refused request needed and
	// error="insufficient_scope", as a registry behind a token server
	// does. Empty means a 401 without a challenge.
	Challenge string

	// Lag is how long after a blob or manifest is written into a
	// repository a manifest that refers to it is refused with
	// MANIFEST_BLOB_UNKNOWN (replication lag). TagLag is how long a tag
	// read still answers the tag's previous value after a write.
	Lag, TagLag time.Duration
}

var (
	manifestPath  = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
	blobPath      = regexp.MustCompile(`^/v2/(.+)/blobs/(sha256:[0-9a-f]+)$`)
	uploadPath    = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/([^/]*)$`)
	referrersPath = regexp.MustCompile(`^/v2/(.+)/referrers/([^/]+)$`)
	repoOfPath    = regexp.MustCompile(`^/v2/(.+)/(?:manifests|blobs|referrers|tags)/`)
	tagSchema     = regexp.MustCompile(`^sha256-([0-9a-f]{64})$`)
)

// repoOf is the repository a /v2/ path names, "" for /v2/ itself.
func repoOf(path string) string {
	if m := repoOfPath.FindStringSubmatch(path); m != nil {
		return m[1]
	}
	return ""
}

func isDigestRef(ref string) bool { return strings.HasPrefix(ref, "sha256:") }

// registryError answers status with a registry error body.
func registryError(status int, code, message string) Action {
	body, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": code, "message": message}}})
	return Respond(status, http.Header{"Content-Type": {"application/json; charset=utf-8"}}, string(body))
}

// dropMount forwards a mount request as a plain upload start: the
// registry opens an upload session (202) instead of mounting.
func dropMount(r *http.Request) (Action, bool) {
	if r.Method != http.MethodPost || !uploadPath.MatchString(r.URL.Path) || r.URL.Query().Get("mount") == "" {
		return Action{}, false
	}
	return Action{Rewrite: func(u *url.URL) {
		q := u.Query()
		q.Del("mount")
		q.Del("from")
		u.RawQuery = q.Encode()
	}}, true
}

// relativeLocation makes an upload's Location a path (and query) only.
func relativeLocation(resp *http.Response) error {
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil && u.IsAbs() {
			u.Scheme, u.Host = "", ""
			resp.Header.Set("Location", u.String())
		}
	}
	return nil
}

func newProfile(name string, o ProfileOptions) *Profile {
	p := &Profile{Name: name, left: -1, upstream: o.Upstream, client: o.Client}
	if p.client == nil {
		p.client = http.DefaultClient
	}
	return p
}

// manifestAccept is every manifest media type, for tag look-ups.
const manifestAccept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " +
	"application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"

// lookup asks the upstream where repo:ref points ("" when it does not
// exist).
func (p *Profile) lookup(ctx context.Context, repo, ref string) string {
	if p.upstream == "" {
		panic("proxy: the profile " + p.Name + " needs ProfileOptions.Upstream")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, p.upstream+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		return ""
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := p.client.Do(req)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// immutable answers a tag PUT over an existing tag with refuse, when on.
func (p *Profile) immutable(r *http.Request, on bool, refuse func(repo, tag string) Action) (Action, bool) {
	if !on || r.Method != http.MethodPut {
		return Action{}, false
	}
	m := manifestPath.FindStringSubmatch(r.URL.Path)
	if m == nil || isDigestRef(m[2]) {
		return Action{}, false
	}
	if p.lookup(r.Context(), m[1], m[2]) == "" {
		return Action{}, false
	}
	return refuse(m[1], m[2]), true
}

// ECR emulates Amazon ECR: a mount is answered 202 with an upload session
// and nothing mounted; a PATCH is answered 201; with ImmutableTags, a PUT
// over an existing tag is 400 TAG_INVALID even for the same digest; a
// write into a repository not in Repositories is 404 NAME_UNKNOWN (ECR
// creates no repository on push); manifest PUTs beyond PutImagePerSecond
// are throttled with 429 and no Retry-After.
func ECR(o ProfileOptions) *Profile {
	p := newProfile("ECR", o)
	var mu sync.Mutex
	var puts []time.Time
	p.Fault = func(r *http.Request, _ int) Action {
		repo := repoOf(r.URL.Path)
		if r.Method != http.MethodGet && r.Method != http.MethodHead && o.Repositories != nil && repo != "" && !slices.Contains(o.Repositories, repo) {
			return registryError(http.StatusNotFound, "NAME_UNKNOWN",
				fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '123456789012'", repo))
		}
		if a, ok := dropMount(r); ok {
			return a
		}
		if r.Method == http.MethodPatch {
			return Action{ModifyResponse: func(resp *http.Response) error {
				if resp.StatusCode == http.StatusAccepted {
					resp.StatusCode, resp.Status = http.StatusCreated, "201 Created"
				}
				return nil
			}}
		}
		if a, ok := p.immutable(r, o.ImmutableTags, func(repo, tag string) Action {
			return registryError(http.StatusBadRequest, "TAG_INVALID", fmt.Sprintf(
				"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", tag, repo))
		}); ok {
			return a
		}
		if o.PutImagePerSecond > 0 && r.Method == http.MethodPut && manifestPath.MatchString(r.URL.Path) {
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			puts = slices.DeleteFunc(puts, func(t time.Time) bool { return now.Sub(t) >= time.Second })
			if len(puts) >= o.PutImagePerSecond {
				return registryError(http.StatusTooManyRequests, "TOOMANYREQUESTS", "Rate exceeded")
			}
			puts = append(puts, now)
		}
		return Pass()
	}
	return p
}

// GHCR emulates GitHub's container registry: the referrers API answers 303
// to a page on another site (github.com), which answers 404; the first
// Throttle requests get 429 with the wait only in the body
// ("retry-after: 10ms").
func GHCR(o ProfileOptions) *Profile {
	p := newProfile("GHCR", o)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<!DOCTYPE html><html><body>Page not found</body></html>")
	}))
	p.closers = append(p.closers, site.Close)
	var mu sync.Mutex
	throttled := 0
	p.Fault = func(r *http.Request, _ int) Action {
		mu.Lock()
		if throttled < o.Throttle {
			throttled++
			mu.Unlock()
			return registryError(http.StatusTooManyRequests, "TOOMANYREQUESTS", "retry-after: 10ms, allowed: 44000/minute")
		}
		mu.Unlock()
		if m := referrersPath.FindStringSubmatch(r.URL.Path); m != nil {
			loc := site.URL + "/-/v2/packages/container/package/" + url.PathEscape(m[1]+"/referrers/sha256")
			return Respond(http.StatusSeeOther, http.Header{"Location": {loc}, "Content-Type": {"text/html; charset=utf-8"}}, "")
		}
		return Pass()
	}
	return p
}

// DockerHub emulates Docker Hub: blob reads are redirected (307) to a CDN
// on another host (p.CDN, a proxy in front of the same upstream, reaching
// it with ProfileOptions.Client's transport); every
// manifest GET counts against the pull budget (SetPullsLeft), and an
// exhausted budget answers 429 with Retry-After: 3600; the first Throttle
// requests get the abuse limiter's plain-text 429; with ImmutableTags, a
// PUT over an existing tag is 403.
func DockerHub(o ProfileOptions) (*Profile, error) {
	p := newProfile("Docker Hub", o)
	if o.Upstream == "" {
		return nil, fmt.Errorf("proxy: the Docker Hub profile needs ProfileOptions.Upstream")
	}
	// The CDN reaches the registry's storage with access of its own (Docker
	// Hub's blob URLs are signed): o.Client's transport, when given.
	var cdnOpts Options
	if o.Client != nil {
		cdnOpts.Transport = o.Client.Transport
	}
	cdn, err := Start(o.Upstream, cdnOpts)
	if err != nil {
		return nil, err
	}
	p.CDN = cdn
	p.closers = append(p.closers, cdn.Close)
	throttled := 0
	p.Fault = func(r *http.Request, _ int) Action {
		p.mu.Lock()
		if throttled < o.Throttle {
			throttled++
			p.mu.Unlock()
			return Respond(http.StatusTooManyRequests, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, "Too Many Requests (HAP429).\n")
		}
		if r.Method == http.MethodGet && manifestPath.MatchString(r.URL.Path) {
			if p.left == 0 {
				p.mu.Unlock()
				a := registryError(http.StatusTooManyRequests, "TOOMANYREQUESTS",
					"You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit")
				a.Header.Set("Retry-After", "3600")
				return a
			}
			p.pulls++
			if p.left > 0 {
				p.left--
			}
		}
		p.mu.Unlock()
		if r.Method == http.MethodGet && blobPath.MatchString(r.URL.Path) {
			return Respond(http.StatusTemporaryRedirect, http.Header{"Location": {cdn.URL() + r.URL.Path}}, "")
		}
		if a, ok := p.immutable(r, o.ImmutableTags, func(repo, tag string) Action {
			return registryError(http.StatusForbidden, "DENIED", fmt.Sprintf("tag %s is immutable and cannot be overwritten", tag))
		}); ok {
			return a
		}
		return Pass()
	}
	return p, nil
}

// artifactType is a manifest's artifactType, else its config's media
// type; "" for an index or what does not parse.
func artifactType(body []byte) string {
	var m struct {
		ArtifactType string `json:"artifactType"`
		Config       struct {
			MediaType string `json:"mediaType"`
		} `json:"config"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	return m.Config.MediaType
}

// allowList refuses a manifest PUT whose artifact type is not in allowed
// with 400 "unknown media type" (GitLab, Quay).
func allowList(r *http.Request, allowed []string) (Action, bool) {
	if allowed == nil || r.Method != http.MethodPut || !manifestPath.MatchString(r.URL.Path) {
		return Action{}, false
	}
	return Action{Inspect: func(body []byte) Action {
		t := artifactType(body)
		if t == "" || slices.Contains(allowed, t) {
			return Pass()
		}
		return registryError(http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid: unknown media type: "+t)
	}}, true
}

// ImageConfigTypes are the config media types of images, which every
// allow-list takes.
var ImageConfigTypes = []string{"application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json"}

// project is the part of a repository name a registry's permissions
// follow: the first n path components.
func project(repo string, n int) string {
	parts := strings.SplitN(repo, "/", n+1)
	return strings.Join(parts[:min(n, len(parts))], "/")
}

// GitLab emulates GitLab's container registry: a mount from another
// project (group/project, the first two path components) is 401; a read
// of manifests/sha256-<hex> (the referrers tag schema) answers the
// manifest of that digest; with AllowedArtifactTypes, a manifest of
// another type is 400 "unknown media type". It has no referrers API (the
// reference registry behind it answers 404).
func GitLab(o ProfileOptions) *Profile {
	p := newProfile("GitLab", o)
	p.Fault = func(r *http.Request, _ int) Action {
		if r.Method == http.MethodPost && uploadPath.MatchString(r.URL.Path) {
			if from := r.URL.Query().Get("from"); from != "" && project(from, 2) != project(repoOf(r.URL.Path), 2) {
				a := registryError(http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
				if o.Challenge != "" {
					a.Header.Set("WWW-Authenticate", fmt.Sprintf(`%s,scope="repository:%s:pull,push repository:%s:pull",error="insufficient_scope"`,
						o.Challenge, repoOf(r.URL.Path), from))
				}
				return a
			}
		}
		if m := manifestPath.FindStringSubmatch(r.URL.Path); m != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			if t := tagSchema.FindStringSubmatch(m[2]); t != nil {
				return Action{Rewrite: func(u *url.URL) { u.Path = "/v2/" + m[1] + "/manifests/sha256:" + t[1] }}
			}
		}
		if a, ok := allowList(r, o.AllowedArtifactTypes); ok {
			return a
		}
		return Pass()
	}
	return p
}

// ArtifactRegistry emulates Google Artifact Registry: no chunked upload
// (a PATCH is 405; uploads are a POST then one PUT) and upload Locations
// that are relative.
func ArtifactRegistry(o ProfileOptions) *Profile {
	p := newProfile("Artifact Registry", o)
	p.Fault = func(r *http.Request, _ int) Action {
		if r.Method == http.MethodPatch {
			return registryError(http.StatusMethodNotAllowed, "UNSUPPORTED", "chunked upload is not supported: use a monolithic upload")
		}
		if uploadPath.MatchString(r.URL.Path) {
			return Action{ModifyResponse: relativeLocation}
		}
		return Pass()
	}
	return p
}

// Harbor emulates Harbor: a write into a project not in Repositories, and
// a mount from another project, are 401 "project P not found"; with
// ImmutableTags, a PUT over an existing tag is 412.
func Harbor(o ProfileOptions) *Profile {
	p := newProfile("Harbor", o)
	notFound := func(project string) Action {
		return registryError(http.StatusUnauthorized, "UNAUTHORIZED", fmt.Sprintf("project %s not found: project %s not found", project, project))
	}
	p.Fault = func(r *http.Request, _ int) Action {
		repo := repoOf(r.URL.Path)
		write := r.Method != http.MethodGet && r.Method != http.MethodHead
		if write && o.Repositories != nil && repo != "" && !slices.Contains(o.Repositories, project(repo, 1)) {
			return notFound(project(repo, 1))
		}
		if r.Method == http.MethodPost && uploadPath.MatchString(r.URL.Path) {
			if from := r.URL.Query().Get("from"); from != "" && project(from, 1) != project(repo, 1) {
				return notFound(project(from, 1))
			}
		}
		if a, ok := p.immutable(r, o.ImmutableTags, func(repo, tag string) Action {
			return registryError(http.StatusPreconditionFailed, "PRECONDITION",
				fmt.Sprintf("Failed to process request due to '%s:%s' configured as immutable.", repo, tag))
		}); ok {
			return a
		}
		return Pass()
	}
	return p
}

// Quay emulates Quay: a mount is answered 202 with an upload session;
// Range headers of uploads lack "bytes="; the referrers API (of the
// registry behind, which must have one) answers 404 for a subject with no
// referrers; with AllowedArtifactTypes, a manifest of another type is 400
// "unknown media type".
func Quay(o ProfileOptions) *Profile {
	p := newProfile("Quay", o)
	p.Fault = func(r *http.Request, _ int) Action {
		if a, ok := allowList(r, o.AllowedArtifactTypes); ok {
			return a
		}
		a, _ := dropMount(r)
		if uploadPath.MatchString(r.URL.Path) {
			a.ModifyResponse = func(resp *http.Response) error {
				if v := resp.Header.Get("Range"); v != "" {
					resp.Header.Set("Range", strings.TrimPrefix(v, "bytes="))
				}
				return nil
			}
			return a
		}
		if r.Method == http.MethodGet && referrersPath.MatchString(r.URL.Path) {
			return Action{ModifyResponse: emptyReferrersAre404}
		}
		return a
	}
	return p
}

// emptyReferrersAre404 turns a referrers answer that lists nothing into a
// 404.
func emptyReferrersAre404(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxInspect))
	if err != nil {
		return err
	}
	resp.Body.Close()
	var idx struct {
		Manifests []json.RawMessage `json:"manifests"`
	}
	if json.Unmarshal(body, &idx) == nil && len(idx.Manifests) == 0 {
		body = []byte(`{"errors":[{"code":"NOT_FOUND","message":"not found"}]}`)
		resp.StatusCode, resp.Status = http.StatusNotFound, "404 Not Found"
		resp.Header.Set("Content-Type", "application/json")
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", fmt.Sprint(len(body)))
	return nil
}

// Gitea emulates Gitea and Forgejo: upload Locations are relative, and a
// PATCH without Content-Range is 400.
func Gitea(o ProfileOptions) *Profile {
	p := newProfile("Gitea", o)
	p.Fault = func(r *http.Request, _ int) Action {
		if r.Method == http.MethodPatch && r.Header.Get("Content-Range") == "" {
			return registryError(http.StatusBadRequest, "BLOB_UPLOAD_INVALID", "Content-Range header is required")
		}
		if uploadPath.MatchString(r.URL.Path) {
			return Action{ModifyResponse: relativeLocation}
		}
		return Pass()
	}
	return p
}

// Lagging emulates a registry that replicates behind its front (Docker
// Hub, GHCR, geo-replicated registries, Nexus): a manifest that refers to
// a blob or manifest written into the repository less than Lag ago is
// refused with 400 MANIFEST_BLOB_UNKNOWN; a tag read less than TagLag
// after the tag was written still answers what the tag held before (404
// if nothing). Lag and TagLag may each be zero.
func Lagging(o ProfileOptions) *Profile {
	p := newProfile("replication lag", o)
	type write struct {
		at     time.Time
		digest string
	}
	var mu sync.Mutex
	written := map[string]time.Time{} // repo + "@" + digest → when
	tags := map[string][]write{}      // repo + ":" + tag → history, oldest first
	wrote := func(repo, digest string) {
		mu.Lock()
		written[repo+"@"+digest] = time.Now()
		mu.Unlock()
	}
	onCreated := func(repo, digest string) func(*http.Response) error {
		return func(resp *http.Response) error {
			if resp.StatusCode == http.StatusCreated {
				d := digest
				if d == "" {
					d = resp.Header.Get("Docker-Content-Digest")
				}
				wrote(repo, d)
			}
			return nil
		}
	}
	p.Fault = func(r *http.Request, _ int) Action {
		path := r.URL.Path
		if m := uploadPath.FindStringSubmatch(path); m != nil {
			d := r.URL.Query().Get("digest")
			if r.Method == http.MethodPost {
				d = r.URL.Query().Get("mount")
			}
			if d != "" && (r.Method == http.MethodPut || r.Method == http.MethodPost) {
				return Action{ModifyResponse: onCreated(m[1], d)}
			}
			return Pass()
		}
		m := manifestPath.FindStringSubmatch(path)
		if m == nil {
			return Pass()
		}
		repo, ref := m[1], m[2]
		switch r.Method {
		case http.MethodPut:
			var before string
			if !isDigestRef(ref) && o.TagLag > 0 {
				before = p.lookup(r.Context(), repo, ref)
			}
			return Action{Inspect: func(body []byte) Action {
				if o.Lag > 0 {
					mu.Lock()
					var young []string
					for _, d := range referencedDigests(body) {
						if at, ok := written[repo+"@"+d]; ok && time.Since(at) < o.Lag {
							young = append(young, d)
						}
					}
					mu.Unlock()
					if len(young) > 0 {
						return registryError(http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry: "+young[0])
					}
				}
				return Action{ModifyResponse: func(resp *http.Response) error {
					if resp.StatusCode != http.StatusCreated {
						return nil
					}
					d := resp.Header.Get("Docker-Content-Digest")
					wrote(repo, d)
					if !isDigestRef(ref) && o.TagLag > 0 {
						mu.Lock()
						h := tags[repo+":"+ref]
						if len(h) == 0 {
							h = append(h, write{digest: before}) // what it held before, since ever
						}
						tags[repo+":"+ref] = append(h, write{at: time.Now(), digest: d})
						mu.Unlock()
					}
					return nil
				}}
			}}
		case http.MethodGet, http.MethodHead:
			if isDigestRef(ref) || o.TagLag <= 0 {
				return Pass()
			}
			mu.Lock()
			h := tags[repo+":"+ref]
			mu.Unlock()
			if len(h) == 0 {
				return Pass()
			}
			// The newest value written at least TagLag ago is what a read
			// sees.
			seen := h[0]
			for _, w := range h[1:] {
				if time.Since(w.at) >= o.TagLag {
					seen = w
				}
			}
			if seen == h[len(h)-1] {
				return Pass()
			}
			if seen.digest == "" {
				return registryError(http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			}
			return Action{Rewrite: func(u *url.URL) { u.Path = "/v2/" + repo + "/manifests/" + seen.digest }}
		}
		return Pass()
	}
	return p
}

// referencedDigests lists the digests a manifest or index refers to: its
// config, layers, manifests and subject.
func referencedDigests(body []byte) []string {
	type desc struct {
		Digest string `json:"digest"`
	}
	var m struct {
		Config    *desc  `json:"config"`
		Layers    []desc `json:"layers"`
		Manifests []desc `json:"manifests"`
		Subject   *desc  `json:"subject"`
	}
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	var out []string
	if m.Config != nil {
		out = append(out, m.Config.Digest)
	}
	for _, d := range append(m.Layers, m.Manifests...) {
		out = append(out, d.Digest)
	}
	if m.Subject != nil {
		out = append(out, m.Subject.Digest)
	}
	return out
}

// Docker manifest media types, which an OCI-only registry refuses.
const (
	dockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// OCIOnly emulates a registry that takes OCI manifests only (zot without
// its Docker compatibility): a manifest PUT whose Content-Type is a Docker
// manifest or manifest list is answered 415 with a MANIFEST_INVALID error
// whose detail names the media type, as zot answers it. Everything else
// passes.
func OCIOnly(o ProfileOptions) *Profile {
	p := newProfile("OCI only", o)
	p.Fault = func(r *http.Request, _ int) Action {
		if r.Method != http.MethodPut || !manifestPath.MatchString(r.URL.Path) {
			return Pass()
		}
		mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
		mt = strings.TrimSpace(mt)
		if mt != dockerManifest && mt != dockerManifestList {
			return Pass()
		}
		body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{
			"code": "MANIFEST_INVALID", "message": "manifest invalid", "detail": map[string]string{"mediaType": mt},
		}}})
		return Respond(http.StatusUnsupportedMediaType, http.Header{"Content-Type": {"application/json; charset=utf-8"}}, string(body))
	}
	return p
}
