package registry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestConfirmedTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header []string
		asked  []string
		want   []string
	}{
		{"none echoed", nil, []string{"a", "b"}, nil},
		{"one header per tag, in the order asked", []string{"b", "a"}, []string{"a", "b"}, []string{"a", "b"}},
		{"some echoed", []string{"b"}, []string{"a", "b", "c"}, []string{"b"}},
		{"joined by commas", []string{"a, c"}, []string{"a", "b", "c"}, []string{"a", "c"}},
		{"a tag not asked for is not confirmed", []string{"other", "a"}, []string{"a"}, []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for _, v := range tc.header {
				h.Add("OCI-Tag", v)
			}
			if diff := cmp.Diff(tc.want, confirmedTags(h, tc.asked)); diff != "" {
				t.Errorf("confirmed tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefusesTagParam(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"400 unknown parameter", 400, `{"errors":[{"code":"UNSUPPORTED","message":"unknown query parameter tag"}]}`, true},
		{"400 without a body", 400, "", true},
		{"400 tag invalid", 400, `{"errors":[{"code":"TAG_INVALID"}]}`, true},
		{"412 immutable", 412, `{"errors":[{"code":"PRECONDITION"}]}`, true},
		{"401", 401, `{"errors":[{"code":"UNAUTHORIZED"}]}`, false},
		{"403", 403, "", false},
		{"blob unknown", 400, `{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN"}]}`, false},
		{"no repository", 404, `{"errors":[{"code":"NAME_UNKNOWN"}]}`, false},
		{"rate limited", 429, "", false},
		{"500", 500, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, _ := url.Parse("https://reg.example/v2/img/manifests/sha256:00?tag=a")
			resp := &http.Response{StatusCode: tc.status, Request: &http.Request{Method: http.MethodPut, URL: u}}
			err := fmt.Errorf("writing: %w", responseError(resp, []byte(tc.body)))
			if got := refusesTagParam(err); got != tc.want {
				t.Errorf("refusesTagParam(%v) = %v, want %v", err, got, tc.want)
			}
		})
	}
	if refusesTagParam(fmt.Errorf("not a registry error")) {
		t.Error("an error that is not a registry's refuses the parameter")
	}
}

// TestPutTaggedRefusesBadTags: a tag outside the grammar is an error
// naming it (escaped) before any request: the host does not resolve, so a
// request would fail otherwise.
func TestPutTaggedRefusesBadTags(t *testing.T) {
	t.Parallel()
	c := NewClient(Options{DockerConfig: t.TempDir()})
	data := []byte(`{}`)
	doc := Document{Desc: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(data), Size: int64(len(data))}, Data: data}
	for _, tag := range []string{"", ".dot", "a/b", "x?tag=y", strings.Repeat("a", 129), "new\nline"} {
		_, err := c.PutTagged(context.Background(), Repo{Domain: "reg.invalid", Path: "img"}, doc, []string{"ok", tag})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q is not a valid tag", tag)) {
			t.Errorf("tag %q: %v", tag, err)
		}
	}
}
