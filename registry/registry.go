// Package registry is everything of manifest-push that talks to a registry,
// through containerd's core/remotes: a long-lived Client holding host, TLS and
// credential configuration, the token cache, pooled connections, retries and
// one concurrency limit, and the primitive operations on it (read a manifest
// by tag or by digest with verification, read where a tag points, look for a
// manifest or a blob, bring a blob into a repository by mount or by stream,
// put a manifest, list referrers).
//
// Credentials go only to the registry's own host: never to a pull mirror of
// its hosts.toml elsewhere, never over plain HTTP to a host reached over
// HTTPS (a redirect, token realm or upload Location that downgrades is
// refused), never with a redirect to another origin. Writes, and every read
// of a repository the context pushes to (WithScope), go to the registry
// itself; mirrors serve the other reads.
//
// It knows nothing of specs or of what a push decides: the publish package
// does that, through these primitives.
package registry

import (
	"context"
	"github.com/manifest-push/manifest-push/content"
	"net/http"
	"slices"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/distribution/reference"
)

// Options configures a Client. The zero value is useful: HTTPS with
// certificate verification, the standard certs.d locations, credentials
// from the Docker config, DefaultJobs requests in flight and the default
// retry policy.
type Options struct {
	// PlainHTTP speaks plain HTTP to every host.
	PlainHTTP bool
	// Insecure skips TLS certificate verification. Never implied, not even
	// for loopback hosts.
	Insecure bool
	// PlainHTTPHosts are registry hosts spoken to in plain HTTP, each
	// HOST:PORT (that port only) or HOST (every port of it); every other
	// host keeps HTTPS. PlainHTTP makes it every host.
	PlainHTTPHosts []string
	// InsecureHosts are registry hosts whose TLS certificate is not
	// verified, named as PlainHTTPHosts are. Insecure makes it every host.
	InsecureHosts []string
	// Warn, when set, hears what the user should know about how a host is
	// spoken to and did not ask for by these options: a hosts.toml that
	// turns certificate verification off (skip_verify = true), which is
	// honoured. Nil means no reports.
	Warn func(msg string)
	// CertsDir is a certs.d directory (HOST[:PORT]/ca.crt, *.cert/*.key,
	// hosts.toml). Empty means /etc/containerd/certs.d and /etc/docker/certs.d.
	CertsDir string
	// DockerConfig is a Docker config directory or config.json file. Empty
	// means $DOCKER_CONFIG, or ~/.docker. It is read when Credentials is nil,
	// or when Credentials falls back to it (see HostCredentials).
	DockerConfig string
	// Credentials gives the user name and secret for a registry host (a
	// reference's domain, such as docker.io or localhost:5000). Nil means
	// the Docker config's (auths, credsStore, credHelpers, identity tokens).
	Credentials CredentialFunc
	// Transport is the HTTP transport under the client's retries and
	// logging. Nil means a clone of http.DefaultTransport with the TLS
	// settings of CertsDir and Insecure; a Transport given here carries its
	// own TLS settings, and CertsDir and Insecure do not change it.
	Transport http.RoundTripper
	// UserAgent is sent with every request. Empty means "manifest-push".
	UserAgent string
	// Retry is the retry policy for transient failures. Each zero field
	// takes its default (see RetryPolicy).
	Retry RetryPolicy
	// Jobs bounds the requests waiting for an answer, across every
	// operation of the client and every host. Zero means DefaultJobs, with
	// at most MaxHTTP1Requests to each host until it answers over HTTP/2;
	// a Jobs given bounds each host by itself too.
	Jobs int
}

// CredentialFunc gives the credentials for a registry host. An identity
// token (a refresh token, as `docker login` stores for some registries) is
// given as the secret with an empty user name. Empty user and secret mean
// anonymous.
type CredentialFunc func(host string) (user, secret string, err error)

// RetryPolicy says how transient failures (connection resets, timeouts, 408,
// 429, 500, 502, 503, 504) are retried: capped exponential backoff with
// jitter, or the Retry-After asked when it is longer (the backoff is a
// floor: a Retry-After of 0 or a date in the past waits the backoff). Each
// zero field means its default.
type RetryPolicy struct {
	// Attempts is the number of tries in all, the first included. Zero
	// means 5; 1 means no retries.
	Attempts int
	// Base is the first backoff; each retry doubles it, up to Max. Zero
	// means 200ms and 5s.
	Base, Max time.Duration
	// MaxRetryAfter is the longest Retry-After (header, or a hint in the
	// body) waited for; a registry asking for more (a limit that resets in
	// an hour) gets an error at once, saying when the limit resets, as does
	// one asking for more than is left of the context's deadline. Zero
	// means 30s.
	MaxRetryAfter time.Duration
}

// DefaultJobs is the number of requests in flight when Options.Jobs is
// zero: a push is a few waves of small requests, each costing one round
// trip when it fits. Over HTTP/2 (every large registry speaks it over TLS)
// requests share a few connections, and 512 lets an index of 256 entries
// take one wave per step (its configs, its two blob mounts each, its
// manifests); over HTTP/1.1 each request is a connection, and a host gets
// at most MaxHTTP1Requests of them.
const DefaultJobs = 512

// Repo is a repository: its registry name (a reference's domain, such as
// docker.io or localhost:5000) and its path on that registry.
type Repo struct {
	Domain string
	Path   string
}

// RepoOf is the repository of a reference.
func RepoOf(n reference.Named) Repo {
	return Repo{Domain: reference.Domain(n), Path: reference.Path(n)}
}

func (r Repo) String() string { return r.Domain + "/" + r.Path }

// Document is a manifest or an index whose bytes were verified against its
// digest (content.Document).
type Document = content.Document

// WithScope asks, for the requests made with ctx, a token scope on
// repository r: pull, or pull and push. A registry's token server is asked
// for every scope of the context at once, so that one token serves every
// repository an operation touches on it.
//
// A repository asked with push is one the operation writes into: every
// read of it made with ctx (its tags, its current index, what a write is
// checked against) goes to the registry itself, never to a pull mirror of
// its hosts.toml, which may serve a stale copy. Mirrors serve the reads of
// the other repositories (sources) only.
func WithScope(ctx context.Context, r Repo, push bool) context.Context {
	action := "pull"
	if push {
		action = "pull,push"
		ctx = WithTarget(ctx, r)
	}
	return docker.WithScope(ctx, "repository:"+r.Path+":"+action)
}

// WithTarget marks r as a repository the operation decides writes in
// (a dry run included, which asks no push scope): every read of it made
// with ctx goes to the registry itself, never to a pull mirror.
func WithTarget(ctx context.Context, r Repo) context.Context {
	if pushedTo(ctx, r) {
		return ctx
	}
	return context.WithValue(ctx, pushedKey{}, append(slices.Clip(pushedRepos(ctx)), r))
}

// pushedKey marks in a context the repositories WithScope was asked to
// push to ([]Repo).
type pushedKey struct{}

func pushedRepos(ctx context.Context) []Repo {
	rs, _ := ctx.Value(pushedKey{}).([]Repo)
	return rs
}

// pushedTo reports whether ctx was given a push scope on r (WithScope).
func pushedTo(ctx context.Context, r Repo) bool {
	return slices.Contains(pushedRepos(ctx), r)
}
