// Package ggcrtest runs go-containerregistry's registry (pkg/registry)
// in-process, with the OCI referrers API on: the second registry
// implementation of the tests. Unlike distribution it answers
// GET /v2/<name>/referrers/<digest>, and it does not mount blobs across
// repositories (a mount request gets an upload session).
package ggcrtest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Registry is a running go-containerregistry registry, in memory.
type Registry struct {
	server *httptest.Server
}

// Start starts a registry on 127.0.0.1 over plain HTTP.
func Start() *Registry {
	h := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	return &Registry{server: httptest.NewServer(h)}
}

// URL is the registry's base URL, http://127.0.0.1:PORT.
func (r *Registry) URL() string { return r.server.URL }

// Host is 127.0.0.1:PORT.
func (r *Registry) Host() string { return strings.TrimPrefix(r.server.URL, "http://") }

// Client talks to the registry directly.
func (r *Registry) Client() *http.Client { return r.server.Client() }

// Close stops the registry.
func (r *Registry) Close() { r.server.Close() }
