package proxy_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	"github.com/manifest-push/manifest-push/integration/internal/testca"
)

// With PlainHTTP, the TLS proxy's port also answers plain HTTP, with that
// handler: https:// and http:// of one host:port reach two servers.
func TestPlainHTTPBesideTLS(t *testing.T) {
	t.Parallel()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	var plainHits atomic.Int32
	plain := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		plainHits.Add(1)
		_, _ = io.WriteString(w, "plain")
	})
	_, p := setup(t, registrytest.Options{}, proxy.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, PlainHTTP: plain})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientTLSConfig()}}
	if _, err := imagetest.PushImage(context.Background(), client, p.URL(), "hello", "v1", amd64); err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	resp, err := http.Get("http://" + p.Host() + "/v2/")
	if err != nil {
		t.Fatalf("over plain HTTP: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "plain" || plainHits.Load() != 1 {
		t.Errorf("plain HTTP answered %q (%v), %d hits, want the plain handler's", body, err, plainHits.Load())
	}
	n := p.Count()
	p.Close()
	if _, err := http.Get("http://" + p.Host() + "/v2/"); err == nil {
		t.Error("the plain port still answers after Close")
	}
	if p.Count() != n {
		t.Error("a plain-HTTP request was recorded as the proxy's")
	}
}

// The OCI-only profile refuses Docker manifests with zot's 415 and lets
// OCI ones through.
func TestOCIOnlyProfile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, p := setup(t, registrytest.Options{}, proxy.Options{})
	p.SetFault(proxy.OCIOnly(proxy.ProfileOptions{}).Fault)
	client := &http.Client{}
	if _, err := imagetest.PushImage(ctx, client, p.URL(), "hello", "oci", imagetest.Image{Platform: amd64.Platform, Format: imagetest.OCI}); err != nil {
		t.Fatalf("OCI image refused: %v", err)
	}
	_, err := imagetest.PushImage(ctx, client, p.URL(), "hello", "docker", imagetest.Image{Platform: amd64.Platform, Format: imagetest.Docker})
	var he *imagetest.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnsupportedMediaType ||
		!strings.Contains(he.Error(), `"detail":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}`) {
		t.Errorf("Docker image: %v, want 415 MANIFEST_INVALID naming the media type", err)
	}
}
