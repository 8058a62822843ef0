package imagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ManifestAccept is the Accept header value naming the four manifest media
// types (OCI index and manifest, Docker list and manifest).
const ManifestAccept = ocispec.MediaTypeImageIndex + ", " + ocispec.MediaTypeImageManifest + ", " +
	MediaTypeDockerManifestList + ", " + MediaTypeDockerManifest

// PushBlob uploads content to repo (POST, then PUT with the digest) and
// returns its descriptor with mediaType.
func PushBlob(ctx context.Context, client *http.Client, baseURL, repo, mediaType string, content []byte) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(content), Size: int64(len(content))}
	loc, err := startUpload(ctx, client, baseURL, repo)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	putURL, err := withDigest(loc, desc.Digest)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, putURL, bytes.NewReader(content))
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if _, err := do(client, req, http.StatusCreated); err != nil {
		return ocispec.Descriptor{}, err
	}
	return desc, nil
}

// pushBlobStream uploads what write produces, without holding it: POST, one
// streamed PATCH, then PUT with the digest computed on the way.
func pushBlobStream(ctx context.Context, client *http.Client, baseURL, repo, mediaType string, write func(io.Writer) error) (ocispec.Descriptor, error) {
	loc, err := startUpload(ctx, client, baseURL, repo)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	pr, pw := io.Pipe()
	digester := digest.Canonical.Digester()
	counter := &countWriter{}
	go func() {
		pw.CloseWithError(write(io.MultiWriter(pw, digester.Hash(), counter)))
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, loc, pr)
	if err != nil {
		pr.CloseWithError(err)
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := do(client, req, http.StatusAccepted)
	// Unblock the writer whatever happened (a no-op after a full read).
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	next, err := resolveLocation(req.URL, resp.Header.Get("Location"))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digester.Digest(), Size: counter.n}
	putURL, err := withDigest(next, desc.Digest)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPut, putURL, http.NoBody)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: %w", err)
	}
	if _, err := do(client, req, http.StatusCreated); err != nil {
		return ocispec.Descriptor{}, err
	}
	return desc, nil
}

func startUpload(ctx context.Context, client *http.Client, baseURL, repo string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v2/"+repo+"/blobs/uploads/", http.NoBody)
	if err != nil {
		return "", fmt.Errorf("imagetest: %w", err)
	}
	resp, err := do(client, req, http.StatusAccepted)
	if err != nil {
		return "", err
	}
	return resolveLocation(req.URL, resp.Header.Get("Location"))
}

// Mount asks the registry to mount blob dgst from repository from into repo
// (POST ?mount=&from=). It reports true for 201 Created (mounted) and false
// for 202 Accepted (the registry opened an upload session instead, which is
// cancelled here).
func Mount(ctx context.Context, client *http.Client, baseURL, repo, from string, dgst digest.Digest) (bool, error) {
	q := url.Values{"mount": {dgst.String()}, "from": {from}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v2/"+repo+"/blobs/uploads/?"+q.Encode(), http.NoBody)
	if err != nil {
		return false, fmt.Errorf("imagetest: %w", err)
	}
	resp, err := do(client, req, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return false, err
	}
	if resp.StatusCode == http.StatusCreated {
		return true, nil
	}
	loc, err := resolveLocation(req.URL, resp.Header.Get("Location"))
	if err != nil {
		return false, err
	}
	cancel, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc, http.NoBody)
	if err != nil {
		return false, fmt.Errorf("imagetest: %w", err)
	}
	if _, err := do(client, cancel, http.StatusNoContent); err != nil {
		return false, err
	}
	return false, nil
}

// PushManifest PUTs body as a manifest of mediaType to repo under ref (a tag
// or, when ref is empty, the body's digest) and returns its descriptor.
func PushManifest(ctx context.Context, client *http.Client, baseURL, repo, ref, mediaType string, body []byte) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(body), Size: int64(len(body))}
	if ref == "" {
		ref = desc.Digest.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, manifestURL(baseURL, repo, ref), bytes.NewReader(body))
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: %w", err)
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := do(client, req, http.StatusCreated)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != desc.Digest.String() {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: PUT %s: registry says %s, body is %s: %w", req.URL, got, desc.Digest, ErrDigestMismatch)
	}
	return desc, nil
}

// GetManifest reads a manifest or index by tag or digest, accepting the four
// manifest media types. It returns the Content-Type, the exact bytes and
// their digest (computed from the bytes; when ref is a digest, the bytes are
// verified against it).
func GetManifest(ctx context.Context, client *http.Client, baseURL, repo, ref string) (mediaType string, body []byte, dgst digest.Digest, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, manifestURL(baseURL, repo, ref), http.NoBody)
	if err != nil {
		return "", nil, "", fmt.Errorf("imagetest: %w", err)
	}
	req.Header.Set("Accept", ManifestAccept)
	resp, err := do(client, req, http.StatusOK)
	if err != nil {
		return "", nil, "", err
	}
	body = resp.body
	dgst = digest.FromBytes(body)
	if want, perr := digest.Parse(ref); perr == nil && want != dgst {
		return "", nil, "", fmt.Errorf("imagetest: GET %s: body is %s: %w", req.URL, dgst, ErrDigestMismatch)
	}
	return resp.Header.Get("Content-Type"), body, dgst, nil
}

// HeadManifest asks for a manifest's descriptor by tag or digest (HEAD). A
// missing manifest gives an error wrapping ErrNotFound.
func HeadManifest(ctx context.Context, client *http.Client, baseURL, repo, ref string) (ocispec.Descriptor, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, manifestURL(baseURL, repo, ref), http.NoBody)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: %w", err)
	}
	req.Header.Set("Accept", ManifestAccept)
	resp, err := do(client, req, http.StatusOK)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	dgst, err := digest.Parse(resp.Header.Get("Docker-Content-Digest"))
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: HEAD %s: Docker-Content-Digest: %w", req.URL, err)
	}
	size, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("imagetest: HEAD %s: Content-Length: %w", req.URL, err)
	}
	return ocispec.Descriptor{MediaType: resp.Header.Get("Content-Type"), Digest: dgst, Size: size}, nil
}

// GetBlob reads a blob and verifies it against dgst.
func GetBlob(ctx context.Context, client *http.Client, baseURL, repo string, dgst digest.Digest) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/v2/"+repo+"/blobs/"+dgst.String(), http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("imagetest: %w", err)
	}
	resp, err := do(client, req, http.StatusOK)
	if err != nil {
		return nil, err
	}
	if got := digest.FromBytes(resp.body); got != dgst {
		return nil, fmt.Errorf("imagetest: GET %s: body is %s: %w", req.URL, got, ErrDigestMismatch)
	}
	return resp.body, nil
}

// BlobExists reports whether repo holds blob dgst (HEAD).
func BlobExists(ctx context.Context, client *http.Client, baseURL, repo string, dgst digest.Digest) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, baseURL+"/v2/"+repo+"/blobs/"+dgst.String(), http.NoBody)
	if err != nil {
		return false, fmt.Errorf("imagetest: %w", err)
	}
	resp, err := do(client, req, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusOK, nil
}

// Tags lists repo's tags, following pagination. An unknown repository gives
// an error wrapping ErrNotFound.
func Tags(ctx context.Context, client *http.Client, baseURL, repo string) ([]string, error) {
	next := baseURL + "/v2/" + repo + "/tags/list"
	var tags []string
	for next != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, http.NoBody)
		if err != nil {
			return nil, fmt.Errorf("imagetest: %w", err)
		}
		resp, err := do(client, req, http.StatusOK)
		if err != nil {
			return nil, err
		}
		var page struct {
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(resp.body, &page); err != nil {
			return nil, fmt.Errorf("imagetest: GET %s: %w", req.URL, err)
		}
		tags = append(tags, page.Tags...)
		next = ""
		if link := resp.Header.Get("Link"); link != "" {
			// Link: </v2/repo/tags/list?last=x&n=y>; rel="next"
			start, end := strings.Index(link, "<"), strings.Index(link, ">")
			if start < 0 || end < start {
				return nil, fmt.Errorf("imagetest: GET %s: bad Link header %q", req.URL, link)
			}
			if next, err = resolveLocation(req.URL, link[start+1:end]); err != nil {
				return nil, err
			}
		}
	}
	return tags, nil
}

// WithBasicAuth returns a client like client (nil: a new one) whose requests
// carry basic-auth credentials user:password. The original is unchanged.
func WithBasicAuth(client *http.Client, user, password string) *http.Client {
	var c http.Client
	if client != nil {
		c = *client
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = basicAuthTransport{next: next, user: user, password: password}
	return &c
}

type basicAuthTransport struct {
	next           http.RoundTripper
	user, password string
}

func (t basicAuthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.SetBasicAuth(t.user, t.password)
	return t.next.RoundTrip(req)
}

func manifestURL(baseURL, repo, ref string) string {
	return baseURL + "/v2/" + repo + "/manifests/" + ref
}

// response is an answer whose body has been read in full.
type response struct {
	*http.Response
	body []byte
}

// do sends req, reads the whole answer and checks its status is one of want.
func do(client *http.Client, req *http.Request, want ...int) (*response, error) {
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("imagetest: %w", err)
	}
	defer resp.Body.Close() //nolint:errcheck // read in full below; a close error adds nothing
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("imagetest: %s %s: read body: %w", req.Method, req.URL, err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return &response{Response: resp, body: body}, nil
		}
	}
	const max = 512
	if len(body) > max {
		body = body[:max]
	}
	return nil, &HTTPError{Method: req.Method, URL: req.URL.String(), Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
}

// resolveLocation resolves a Location header against the request URL.
func resolveLocation(base *url.URL, loc string) (string, error) {
	if loc == "" {
		return "", fmt.Errorf("imagetest: %s: no Location header", base)
	}
	u, err := base.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("imagetest: Location %q: %w", loc, err)
	}
	return u.String(), nil
}

// withDigest adds the digest query parameter to an upload URL.
func withDigest(loc string, dgst digest.Digest) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("imagetest: upload URL %q: %w", loc, err)
	}
	q := u.Query()
	q.Set("digest", dgst.String())
	u.RawQuery = q.Encode()
	return u.String(), nil
}
