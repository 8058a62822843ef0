package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ErrInsecureRedirect: a registry redirected a request from HTTPS to plain
// HTTP, named a plain-HTTP token server, or answered an upload with a
// plain-HTTP Location, for a host the user did not make plain HTTP.
// Following it would send the request, and with it credentials or a token,
// in clear.
var ErrInsecureRedirect = errors.New("refused a downgrade to plain HTTP")

// maxRedirects bounds the redirects one request follows.
const maxRedirects = 10

// MaxTokenResponse is the largest token server answer read (tokens are a
// few KiB; a larger answer is refused, not decoded).
const MaxTokenResponse = 1 << 20

// origin is a URL's scheme, host name and port (the scheme's default port
// when it gives none): the unit credentials belong to.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// plainAllowed reports whether the user made host (HOST[:PORT]) plain
// HTTP, so that a redirect or token realm into plain HTTP is theirs.
func (h *hosts) plainAllowed(host string) bool {
	return h.opts.PlainHTTP || matchHost(h.opts.PlainHTTPHosts, host)
}

// checkRedirect is the redirect policy of every registry client: at most
// maxRedirects; never from HTTPS to plain HTTP unless the user made the
// new host plain HTTP; and no credentials (Authorization, Cookie) on a
// redirect whose origin (scheme, host or port) differs from the first
// request's. The Go client alone keeps them on a redirect to the same host
// name on another port.
func (h *hosts) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	prev := via[len(via)-1]
	if prev.URL.Scheme == "https" && req.URL.Scheme != "https" && !h.plainAllowed(req.URL.Host) {
		return fmt.Errorf("%w: %s redirected to %s", ErrInsecureRedirect, redactURL(prev.URL), redactURL(req.URL))
	}
	if origin(req.URL) != origin(via[0].URL) {
		req.Header.Del("Authorization")
		req.Header.Del("Cookie")
		req.Header.Del("Proxy-Authorization")
	}
	return nil
}

// checkLocation refuses an upload Location (loc) given in answer to a
// request to from over HTTPS that is plain HTTP, unless the user made
// loc's host plain HTTP.
func (h *hosts) checkLocation(from, loc *url.URL) error {
	if from.Scheme == "https" && loc.Scheme != "https" && !h.plainAllowed(loc.Host) {
		return fmt.Errorf("%w: %s answered with the upload location %s "+
			"(a registry behind a TLS front that does not tell it the scheme, such as X-Forwarded-Proto, answers so)",
			ErrInsecureRedirect, redactURL(from), redactURL(loc))
	}
	return nil
}

// checkChallenge refuses a challenge from a registry reached over HTTPS
// whose token realm is plain HTTP (the credentials would be sent to it in
// clear), unless the user made the realm's host plain HTTP.
func (h *hosts) checkChallenge(resp *http.Response) error {
	if resp.Request == nil || resp.Request.URL.Scheme != "https" {
		return nil
	}
	for _, c := range resp.Header.Values("WWW-Authenticate") {
		if scheme, _, _ := strings.Cut(strings.TrimSpace(c), " "); !strings.EqualFold(scheme, "bearer") {
			continue // a Basic realm is a name, not a server
		}
		realm := challengeParam(c, "realm")
		if realm == "" {
			continue
		}
		u, err := url.Parse(realm)
		if err != nil {
			return fmt.Errorf("the registry's token realm %q does not parse: %w", realm, err)
		}
		if u.Scheme != "https" && !h.plainAllowed(u.Host) {
			return fmt.Errorf("%w: %s names the token server %s", ErrInsecureRedirect, redactURL(resp.Request.URL), redactURL(u))
		}
	}
	return nil
}

// challengeParam finds a parameter of a WWW-Authenticate challenge
// (Bearer realm="…",service="…").
func challengeParam(challenge, name string) string {
	_, params, _ := strings.Cut(challenge, " ")
	for params != "" {
		params = strings.TrimLeft(params, " ,")
		key, rest, ok := strings.Cut(params, "=")
		if !ok {
			return ""
		}
		var value string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return ""
			}
			value, params = rest[1:1+end], rest[2+end:]
		} else {
			value, params, _ = strings.Cut(rest, ",")
		}
		if strings.EqualFold(strings.TrimSpace(key), name) {
			return value
		}
	}
	return ""
}

// tokenFetchKey marks the context of the authorizer's calls, whose
// requests are token fetches.
type tokenFetchKey struct{}

// capTransport refuses a token server answer larger than MaxTokenResponse
// (the decoder that reads it has no bound of its own): a declared length
// over the cap fails at once, and a body that runs over it fails its read.
type capTransport struct {
	base http.RoundTripper
}

func (t *capTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || req.Context().Value(tokenFetchKey{}) == nil {
		return resp, err
	}
	if resp.ContentLength > MaxTokenResponse {
		resp.Body.Close()
		return nil, fmt.Errorf("token server %s answered %d bytes, more than %d: refused", redactURL(req.URL), resp.ContentLength, MaxTokenResponse)
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: MaxTokenResponse, what: "token server " + redactURL(req.URL)}
	return resp, nil
}

// cappedBody fails a read past its allowance.
type cappedBody struct {
	io.ReadCloser
	left int64
	what string
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the cap: an answer that ends here is whole.
		var one [1]byte
		if n, err := b.ReadCloser.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%s answered more than %d bytes: refused", b.what, MaxTokenResponse)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// withTokenFetch marks ctx as the authorizer's (see capTransport).
func withTokenFetch(ctx context.Context) context.Context {
	return context.WithValue(ctx, tokenFetchKey{}, true)
}
