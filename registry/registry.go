// Package registry is everything of manifest-push that talks to a registry,
// through containerd's core/remotes: host, TLS and credential configuration,
// retries, resolving and verified fetching, copying children into the target
// repository, pushing the index and its tags, and inspecting.
package registry

import (
	"github.com/opencontainers/go-digest"
)

// HostOptions controls how registry hosts are reached. The zero value is
// useful: HTTPS with certificate verification, the standard certs.d
// locations, and credentials from the Docker config.
type HostOptions struct {
	// PlainHTTP speaks plain HTTP to every host.
	PlainHTTP bool
	// Insecure skips TLS certificate verification. Never implied, not even
	// for loopback hosts.
	Insecure bool
	// CertsDir is a certs.d directory (HOST[:PORT]/ca.crt, *.cert/*.key,
	// hosts.toml). Empty means /etc/containerd/certs.d and /etc/docker/certs.d.
	CertsDir string
	// Username and Password apply to the target's host only. Empty means
	// credentials come from the Docker config.
	Username string
	Password string
	// DockerConfig is a Docker config directory or config.json file. Empty
	// means $DOCKER_CONFIG, or ~/.docker.
	DockerConfig string
}

// PushOptions controls Push. The zero value is useful.
type PushOptions struct {
	HostOptions
	// Type overrides the spec's type (auto, oci, docker); empty keeps it.
	Type string
	// IgnoreMissing skips sources the registry says do not exist.
	IgnoreMissing bool
	// DryRun resolves and builds the index, and writes nothing.
	DryRun bool
	// Force writes even when every tag already points at the index.
	Force bool
	// StrictPlatform turns platform warnings into errors.
	StrictPlatform bool
	// Jobs bounds concurrent requests. Zero means DefaultJobs.
	Jobs int
	// Progress, when set, hears how far the blobs of each source are in
	// being brought into the target repository (see Progress). It is
	// called from the push's goroutines, one call at a time, and should
	// return quickly. Nil means no reports.
	Progress func(Progress)
}

// DefaultJobs is the concurrency used when PushOptions.Jobs is zero. A
// push is a few waves of small requests, each costing one round trip when
// it fits in the limit: 64 serves a typical index in one wave per step (32
// entries' manifests, their configs, the two blob mounts of each, their
// manifests), while staying a polite number of connections to one registry.
const DefaultJobs = 64

// Tag statuses reported in TagResult.Status.
const (
	TagUpdated     = "updated"
	TagUnchanged   = "unchanged"
	TagWouldUpdate = "would update"
	TagNotUpdated  = "not updated"
)

// Result is the outcome of one Push.
type Result struct {
	Target    string        `json:"target"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	MediaType string        `json:"mediaType"`
	// Changed is set when the push wrote something; with DryRun, when a
	// push would.
	Changed   bool             `json:"changed"`
	DryRun    bool             `json:"dryRun"`
	Tags      []TagResult      `json:"tags"`
	Manifests []ManifestResult `json:"manifests"`
	Warnings  []string         `json:"warnings"`
	// Index is the index document that was (or, with DryRun, would be)
	// pushed.
	Index []byte `json:"-"`
}

// TagResult is what happened to one tag. Previous is the digest the tag
// pointed at before the push, empty when it did not exist.
type TagResult struct {
	Tag      string        `json:"tag"`
	Status   string        `json:"status"`
	Previous digest.Digest `json:"previous,omitempty"`
}

// ManifestResult is one entry of the pushed index.
type ManifestResult struct {
	Source    string        `json:"source"`
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	Size      int64         `json:"size"`
	Platform  string        `json:"platform,omitempty"`
	// Copied is set when this push wrote the manifest into the target
	// repository (its blobs mounted, its bytes PUT by digest). A manifest
	// from the target repository itself is not copied, nor is anything when
	// every tag points at the index already. When some tag exists already
	// (or with Force), each child is looked for first and only the missing
	// ones are copied; into a target none of whose tags exists, every child
	// is copied without looking (see write.go).
	Copied bool `json:"copied"`
}

// Inspection describes a manifest or an index in a registry.
type Inspection struct {
	Ref         string            `json:"ref"`
	Digest      digest.Digest     `json:"digest"`
	MediaType   string            `json:"mediaType"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Manifests are an index's entries; for a single manifest, one entry
	// describing it, with the platform read from its config.
	Manifests []InspectEntry `json:"manifests"`
	// Raw is the manifest or index document.
	Raw []byte `json:"-"`
}

// InspectEntry is one entry of an inspected index.
type InspectEntry struct {
	Digest      digest.Digest     `json:"digest"`
	MediaType   string            `json:"mediaType"`
	Size        int64             `json:"size"`
	Platform    string            `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}
