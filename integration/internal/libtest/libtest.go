// Package libtest runs manifest-push's library the way a Go program
// embedding it does, for tests that make one call with one client: it
// builds a registry.Client from the options and calls the use case.
package libtest

import (
	"context"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/registry"
	"github.com/manifest-push/manifest-push/spec"
)

// Options are a client's options and a push's, and credentials for the
// target's registry host only (the CLI's --username and --password).
type Options struct {
	ClientOptions
	PushOptions
	Username, Password string
}

// ClientOptions and PushOptions name the two option structs, so that both
// can be embedded in Options.
type (
	ClientOptions = registry.Options
	PushOptions   = publish.Options
)

// Client builds the client o describes for a run whose targets are on the
// registry hosts given.
func (o Options) Client(targets ...string) *registry.Client {
	c := o.ClientOptions
	if o.Username != "" || o.Password != "" {
		c.Credentials = registry.HostCredentials(o.Username, o.Password, registry.DockerCredentials(c.DockerConfig), targets...)
	}
	return registry.NewClient(c)
}

// Push pushes s with a client of its own.
func Push(ctx context.Context, s *spec.Spec, o Options) (*publish.Result, error) {
	var targets []string
	if s != nil && s.Target != nil {
		targets = append(targets, reference.Domain(s.Target))
	}
	return publish.Push(ctx, o.Client(targets...), s, o.PushOptions)
}

// Inspect inspects ref with a client of its own.
func Inspect(ctx context.Context, ref string, o registry.Options) (*publish.Inspection, error) {
	return publish.Inspect(ctx, registry.NewClient(o), ref, publish.InspectOptions{})
}
