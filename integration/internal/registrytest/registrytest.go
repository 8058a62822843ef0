// Package registrytest runs the real CNCF distribution v3 registry (the code
// behind the registry:2 image) in-process, with in-memory storage, for tests,
// the demo and the benchmark.
//
// Each Start makes an independent registry with its own storage, listener,
// optional TLS certificate authority and optional htpasswd file; nothing is
// shared between registries and nothing global is changed (the registry's
// logrus output is routed to a private logger, see Options.Log).
package registrytest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// The htpasswd access controller, used when Options.Username is set.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	// The token access controller, used when Options.Token is set.
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	// The storage drivers: in memory (the default) and on disk (Options.Dir).
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"

	"github.com/manifest-push/manifest-push/integration/internal/testca"
)

// LogEnv is the environment variable that, set to 1, sends the registry's
// log to standard error when Options.Log is nil.
const LogEnv = "MP_REGISTRY_LOG"

// Realm is the basic-auth realm the registry announces when Options.Username
// is set.
const Realm = "manifest-push-test"

// Options configures a registry. The zero value is a plain-HTTP, read-write,
// unauthenticated registry on a random loopback port.
type Options struct {
	// Addr is the address to listen on. Empty means 127.0.0.1:0 (a free port).
	Addr string

	// TLS serves HTTPS with a certificate for 127.0.0.1, ::1 and localhost,
	// issued by a fresh test CA (see Registry.CA). False means plain HTTP.
	TLS bool

	// Username and Password turn on the htpasswd access controller with this
	// one user (bcrypt-hashed into a file created at start). An empty Username
	// means no authentication.
	Username, Password string

	// Token, when set, turns on distribution's token access controller
	// (bearer tokens, see TokenAuth). It takes the place of Username and
	// Password. Nil means no token authentication.
	Token *TokenAuth

	// ClientAuth, with TLS, makes the registry require a client certificate
	// issued by its CA (see Registry.CA and testca.CA.ClientCertificate).
	ClientAuth bool

	// Dir, when set, stores the registry's content on disk under this
	// directory (distribution's filesystem driver), so that a later registry
	// started on the same Dir sees it, for example a read-only one. Empty
	// means in memory: every registry starts empty and forgets on Close.
	Dir string

	// ReadOnly puts the registry in read-only maintenance mode: reads work,
	// every write is refused (405 Method Not Allowed, see the package tests).
	ReadOnly bool

	// ManifestURLsAllow are regular expressions for the URLs a foreign /
	// non-distributable layer may carry. Empty means distribution's default:
	// no URL is allowed, so a manifest with a foreign layer URL is refused.
	ManifestURLsAllow []string

	// RelativeURLs makes the registry answer with relative Location headers.
	// False means absolute URLs built from the request's Host.
	RelativeURLs bool

	// Log receives the registry's log lines (text format, info level). Nil
	// means discard them, unless the environment variable MP_REGISTRY_LOG is
	// "1", which means standard error.
	Log io.Writer

	// Configure, when set, is called on the configuration just before the
	// registry is built: the place for settings that have no option yet.
	Configure func(*configuration.Configuration)
}

// TokenAuth configures the token access controller: clients are sent to
// Realm for a token, which the registry accepts when it is issued by Issuer
// for Service and signed by a key whose certificate chains to RootCertPEM.
type TokenAuth struct {
	Realm, Service, Issuer string
	// RootCertPEM is the PEM bundle of trusted signing roots.
	RootCertPEM []byte
}

// Registry is a running registry. Close it when done.
type Registry struct {
	server *httptest.Server
	app    *handlers.App
	ca     *testca.CA
	// clientCert is presented by Client and Transport when ClientAuth is set.
	clientCert *tls.Certificate
	tmpDir     string
	opts       Options
	close      sync.Once
	baseURL    string
}

// Start builds and starts a registry.
func Start(opts Options) (*Registry, error) {
	r := &Registry{opts: opts}
	ok := false
	defer func() {
		if !ok {
			r.Close()
		}
	}()

	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("registrytest: secret: %w", err)
	}

	config := &configuration.Configuration{}
	config.Storage = configuration.Storage{
		"inmemory": configuration.Parameters{},
		"maintenance": configuration.Parameters{
			// The purger logs through the global logrus logger; it has nothing
			// to do in a short-lived in-memory registry anyway.
			"uploadpurging": map[any]any{"enabled": false},
			"readonly":      map[any]any{"enabled": opts.ReadOnly},
		},
	}
	if opts.Dir != "" {
		delete(config.Storage, "inmemory")
		config.Storage["filesystem"] = configuration.Parameters{"rootdirectory": opts.Dir}
	}
	config.HTTP.Secret = hex.EncodeToString(secret)
	config.HTTP.RelativeURLs = opts.RelativeURLs
	config.Validation.Manifests.URLs.Allow = append([]string(nil), opts.ManifestURLsAllow...)
	config.Log.Level = "info"

	if opts.Username != "" {
		dir, err := os.MkdirTemp("", "registrytest-")
		if err != nil {
			return nil, fmt.Errorf("registrytest: %w", err)
		}
		r.tmpDir = dir
		hash, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcrypt.MinCost)
		if err != nil {
			return nil, fmt.Errorf("registrytest: bcrypt: %w", err)
		}
		path := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(path, []byte(opts.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("registrytest: %w", err)
		}
		config.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": Realm, "path": path}}
	}
	if opts.Token != nil {
		if r.tmpDir == "" {
			dir, err := os.MkdirTemp("", "registrytest-")
			if err != nil {
				return nil, fmt.Errorf("registrytest: %w", err)
			}
			r.tmpDir = dir
		}
		bundle := filepath.Join(r.tmpDir, "token-roots.pem")
		if err := os.WriteFile(bundle, opts.Token.RootCertPEM, 0o600); err != nil {
			return nil, fmt.Errorf("registrytest: %w", err)
		}
		config.Auth = configuration.Auth{"token": configuration.Parameters{
			"realm":          opts.Token.Realm,
			"service":        opts.Token.Service,
			"issuer":         opts.Token.Issuer,
			"rootcertbundle": bundle,
		}}
	}
	if opts.Configure != nil {
		opts.Configure(config)
	}

	logger := newLogger(opts.Log)
	ctx := withLogger(context.Background(), logger)
	app, err := newApp(ctx, config)
	if err != nil {
		return nil, err
	}
	r.app = app

	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		app.ServeHTTP(w, req.WithContext(withLogger(req.Context(), logger)))
	})
	r.server = httptest.NewUnstartedServer(handler)
	// net/http reports TLS handshake failures (a client that does not trust
	// the CA: an expected case in tests) through this logger.
	r.server.Config.ErrorLog = log.New(logger.Logger.Out, "registrytest: ", 0)
	if opts.Addr != "" {
		ln, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			return nil, fmt.Errorf("registrytest: listen: %w", err)
		}
		_ = r.server.Listener.Close() // the default listener is replaced; its error is of no use
		r.server.Listener = ln
	}

	if opts.TLS {
		ca, err := testca.New()
		if err != nil {
			return nil, err
		}
		cert, err := ca.ServerCertificate()
		if err != nil {
			return nil, err
		}
		r.ca = ca
		r.server.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if opts.ClientAuth {
			r.server.TLS.ClientAuth = tls.RequireAndVerifyClientCert
			r.server.TLS.ClientCAs = ca.Pool()
			cc, err := ca.ClientCertificate("registrytest")
			if err != nil {
				return nil, err
			}
			r.clientCert = &cc
		}
		r.server.StartTLS()
	} else {
		r.server.Start()
	}
	r.baseURL = r.server.URL
	ok = true
	return r, nil
}

// newApp builds the distribution application, turning its configuration
// panics into errors.
func newApp(ctx context.Context, config *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("registrytest: configure registry: %v", p)
		}
	}()
	return handlers.NewApp(ctx, config), nil
}

// Close stops the server, waiting for requests in flight, and removes the
// temporary files. It is safe to call more than once.
func (r *Registry) Close() {
	r.close.Do(func() {
		if r.server != nil {
			r.server.Close()
		}
		if r.app != nil {
			_ = r.app.Shutdown() // in-memory storage: nothing to flush
		}
		if r.tmpDir != "" {
			_ = os.RemoveAll(r.tmpDir) // best effort: it is a temporary directory
		}
	})
}

// URL returns the base URL, "http://127.0.0.1:PORT" or "https://...".
func (r *Registry) URL() string { return r.baseURL }

// Host returns "127.0.0.1:PORT", the registry host as it appears in an image
// reference.
func (r *Registry) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(r.baseURL, "https://"), "http://")
}

// TLS reports whether the registry serves HTTPS.
func (r *Registry) TLS() bool { return r.ca != nil }

// CA returns the certificate authority that issued the server certificate,
// or nil for a plain-HTTP registry.
func (r *Registry) CA() *testca.CA { return r.ca }

// CACertPEM returns the PEM-encoded CA certificate (a certs.d ca.crt), or
// nil for a plain-HTTP registry.
func (r *Registry) CACertPEM() []byte {
	if r.ca == nil {
		return nil
	}
	return r.ca.CertPEM()
}

// Client returns a new HTTP client for this registry: it trusts the
// registry's CA (TLS), presents a client certificate (ClientAuth) and sends
// the configured credentials (basic auth). It does not share the default
// transport. With Token set it sends no credentials: such a registry is
// filled through another registry on the same Dir, or with a token.
func (r *Registry) Client() *http.Client {
	transport := r.Transport()
	var rt http.RoundTripper = transport
	if r.opts.Username != "" {
		rt = basicAuth{next: transport, user: r.opts.Username, pass: r.opts.Password}
	}
	return &http.Client{Transport: rt}
}

// Transport returns a new transport that trusts the registry's CA (and
// presents a client certificate when ClientAuth is set), without
// credentials.
func (r *Registry) Transport() *http.Transport {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if r.ca != nil {
		transport.TLSClientConfig = r.ca.ClientTLSConfig()
		if r.clientCert != nil {
			transport.TLSClientConfig.Certificates = []tls.Certificate{*r.clientCert}
		}
	}
	return transport
}

type basicAuth struct {
	next       http.RoundTripper
	user, pass string
}

func (b basicAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.SetBasicAuth(b.user, b.pass)
	return b.next.RoundTrip(req)
}

// newLogger makes the private logger the registry logs through.
func newLogger(w io.Writer) *logrus.Entry {
	l := logrus.New()
	l.SetFormatter(&logrus.TextFormatter{DisableColors: true})
	switch {
	case w != nil:
		l.SetOutput(w)
	case os.Getenv(LogEnv) == "1":
		l.SetOutput(os.Stderr)
	default:
		l.SetOutput(io.Discard)
		l.SetLevel(logrus.PanicLevel)
	}
	return logrus.NewEntry(l)
}

// loggerContext answers distribution's context logger key with a private
// logger. Distribution keeps that key in an internal package
// (internal/dcontext) and otherwise falls back to the global logrus logger,
// which the product under test also logs through; matching the key by type
// keeps the registry quiet without touching global state.
type loggerContext struct {
	context.Context
	logger *logrus.Entry
}

func withLogger(ctx context.Context, logger *logrus.Entry) context.Context {
	return loggerContext{Context: ctx, logger: logger}
}

const dcontextPkg = "github.com/distribution/distribution/v3/internal/dcontext"

func (c loggerContext) Value(key any) any {
	if t := reflect.TypeOf(key); t != nil && t.Name() == "loggerKey" && t.PkgPath() == dcontextPkg {
		return c.logger
	}
	return c.Context.Value(key)
}
