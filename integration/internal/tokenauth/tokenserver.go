// Package authtest holds the authentication parts the integration tests
// need beyond the registry itself: a token server for distribution's token
// access controller (bearer tokens signed with go-jose, as the Docker token
// protocol describes) and a docker-credential-* helper.
package tokenauth

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/integration/internal/testca"
)

// The service and issuer names the token server and the registry agree on.
const (
	Service = "mptest-registry"
	Issuer  = "mptest-token-issuer"
)

// Mint says what kind of token the server issues for one request.
type Mint int

const (
	// Valid tokens are accepted by the registry.
	Valid Mint = iota
	// Expired tokens expired an hour ago (beyond the registry's leeway),
	// though the answer says they are good for five minutes: the registry
	// rejects them with error="invalid_token".
	Expired
	// WrongIssuer tokens name an issuer the registry does not trust: it
	// rejects them with error="invalid_token".
	WrongIssuer
)

// TokenOptions configures a token server. The zero value grants every
// requested scope to anyone, anonymous clients included.
type TokenOptions struct {
	// Username and Password, when Username is set, are the only credentials
	// accepted (basic auth on GET, grant_type=password on POST); anything
	// else is 401.
	Username, Password string
	// RefreshToken, when set, is an identity token accepted with
	// grant_type=refresh_token (the token Docker stores as identitytoken),
	// as the account Username.
	RefreshToken string
	// Mint, when set, is asked for the kind of the n-th token (1-based).
	// Nil means Valid.
	Mint func(n int) Mint
}

// TokenRequest is the record of one request to the token server.
type TokenRequest struct {
	Method string
	// Grant is the grant type of a POST ("password", "refresh_token"), or
	// "basic" / "anonymous" for a GET.
	Grant   string
	Account string
	Scopes  []string
	// Token is the token issued, empty when the request was refused.
	Token string
}

// TokenServer issues bearer tokens for a registry started with its
// RegistryAuth.
type TokenServer struct {
	opts   TokenOptions
	server *httptest.Server
	ca     *testca.CA
	key    *ecdsa.PrivateKey
	x5c    []string

	mu       sync.Mutex
	requests []TokenRequest
}

// StartTokenServer starts a token server with a fresh signing CA.
func StartTokenServer(opts TokenOptions) (*TokenServer, error) {
	ca, err := testca.New()
	if err != nil {
		return nil, err
	}
	signer, err := ca.ServerCertificate("token-signer")
	if err != nil {
		return nil, err
	}
	key, ok := signer.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("authtest: signing key is %T, not ECDSA", signer.PrivateKey)
	}
	ts := &TokenServer{opts: opts, ca: ca, key: key}
	for _, der := range signer.Certificate {
		ts.x5c = append(ts.x5c, base64.StdEncoding.EncodeToString(der))
	}
	ts.server = httptest.NewServer(http.HandlerFunc(ts.serve))
	return ts, nil
}

// Close stops the server.
func (ts *TokenServer) Close() { ts.server.Close() }

// Realm is the token endpoint's URL.
func (ts *TokenServer) Realm() string { return ts.server.URL + "/token" }

// RegistryAuth is the registry option that makes a registry trust this
// server's tokens.
func (ts *TokenServer) RegistryAuth() *registrytest.TokenAuth {
	return &registrytest.TokenAuth{Realm: ts.Realm(), Service: Service, Issuer: Issuer, RootCertPEM: ts.ca.CertPEM()}
}

// Requests returns the requests served so far.
func (ts *TokenServer) Requests() []TokenRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]TokenRequest(nil), ts.requests...)
}

// Hits is the number of requests served so far.
func (ts *TokenServer) Hits() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.requests)
}

// Reset forgets the requests served so far.
func (ts *TokenServer) Reset() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.requests = nil
}

func (ts *TokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" {
		http.NotFound(w, r)
		return
	}
	rec := TokenRequest{Method: r.Method}
	var scopes []string
	var account, secret string
	switch r.Method {
	case http.MethodGet:
		scopes = r.URL.Query()["scope"]
		var ok bool
		if account, secret, ok = r.BasicAuth(); ok {
			rec.Grant = "basic"
		} else {
			rec.Grant = "anonymous"
		}
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		scopes = strings.Fields(r.PostForm.Get("scope"))
		rec.Grant = r.PostForm.Get("grant_type")
		switch rec.Grant {
		case "password":
			account, secret = r.PostForm.Get("username"), r.PostForm.Get("password")
		case "refresh_token":
			if ts.opts.RefreshToken == "" || r.PostForm.Get("refresh_token") != ts.opts.RefreshToken {
				secret = "\x00wrong"
			} else {
				account, secret = ts.opts.Username, ts.opts.Password
			}
		default:
			http.Error(w, "unsupported grant_type", http.StatusBadRequest)
			return
		}
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rec.Account, rec.Scopes = account, scopes
	if ts.opts.Username != "" && (account != ts.opts.Username || secret != ts.opts.Password) {
		ts.record(rec)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"wrong credentials"}]}`)
		return
	}
	ts.mu.Lock()
	n := len(ts.requests) + 1
	ts.mu.Unlock()
	kind := Valid
	if ts.opts.Mint != nil {
		kind = ts.opts.Mint(n)
	}
	tok, err := ts.mint(account, scopes, kind)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rec.Token = tok
	ts.record(rec)
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(map[string]any{
		"token": tok, "access_token": tok, "expires_in": 300, "issued_at": time.Now().UTC().Format(time.RFC3339),
	}); err != nil {
		return // the client went away
	}
}

func (ts *TokenServer) record(rec TokenRequest) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.requests = append(ts.requests, rec)
}

// resourceActions is an entry of the token's access claim.
type resourceActions struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// scopeRE parses "repository:NAME:ACTIONS"; a name may hold a port-less
// path only, so the last colon separates the actions.
var scopeRE = regexp.MustCompile(`^([a-z]+):(.+):([a-z*,]+)$`)

// Token mints a valid token granting scopes ("repository:NAME:pull,push"),
// without a request: for test set-up.
func (ts *TokenServer) Token(scopes ...string) (string, error) {
	return ts.mint("setup", scopes, Valid)
}

func (ts *TokenServer) mint(account string, scopes []string, kind Mint) (string, error) {
	var access []resourceActions
	for _, s := range scopes {
		for _, one := range strings.Fields(s) {
			m := scopeRE.FindStringSubmatch(one)
			if m == nil {
				continue
			}
			access = append(access, resourceActions{Type: m[1], Name: m[2], Actions: strings.Split(m[3], ",")})
		}
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ts.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("x5c", ts.x5c))
	if err != nil {
		return "", fmt.Errorf("authtest: signer: %w", err)
	}
	now := time.Now()
	issuer, exp := Issuer, now.Add(5*time.Minute)
	switch kind {
	case Expired:
		exp = now.Add(-time.Hour)
	case WrongIssuer:
		issuer = "someone-else"
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	claims := map[string]any{
		"iss": issuer, "sub": account, "aud": Service,
		"exp": exp.Unix(), "nbf": now.Add(-2 * time.Hour).Unix(), "iat": now.Unix(),
		"jti": hex.EncodeToString(id), "access": access,
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("authtest: sign: %w", err)
	}
	return tok, nil
}

// Transport wraps base so every registry request carries a token minted
// for its repository (pull and push, plus pull on a mount's source): for
// pushing test images into a token-protected registry.
func (ts *TokenServer) Transport(base http.RoundTripper) http.RoundTripper {
	return tokenTransport{ts: ts, base: base}
}

type tokenTransport struct {
	ts   *TokenServer
	base http.RoundTripper
}

var repoPathRE = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs|tags)/`)

func (t tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var scopes []string
	if m := repoPathRE.FindStringSubmatch(req.URL.Path); m != nil {
		scopes = append(scopes, "repository:"+m[1]+":pull,push")
	}
	if from := req.URL.Query().Get("from"); from != "" {
		scopes = append(scopes, "repository:"+from+":pull")
	}
	tok, err := t.ts.Token(scopes...)
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+tok)
	return t.base.RoundTrip(req)
}
