package publish

import (
	"errors"
	"testing"

	"github.com/manifest-push/manifest-push/registry"
)

func TestTagsErrorMessage(t *testing.T) {
	t.Parallel()
	err := &TagsError{
		Target:     "reg.example/img",
		Digest:     "sha256:aaaa",
		Updated:    []TagResult{{Tag: "1.0", Status: TagUpdated}},
		NotUpdated: []TagResult{{Tag: "1", Status: TagNotUpdated, Previous: "sha256:bbbb"}, {Tag: "latest", Status: TagNotUpdated}},
		Err:        &registry.Error{Method: "PUT", URL: "https://reg.example/v2/img/manifests/1", StatusCode: 503},
	}
	want := "pushing reg.example/img@sha256:aaaa: PUT https://reg.example/v2/img/manifests/1: 503 Service Unavailable; updated: 1.0; not updated: 1 (still sha256:bbbb) latest (did not exist)"
	if err.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", err, want)
	}
	var e *registry.Error
	if !errors.As(err, &e) || e.StatusCode != 503 {
		t.Error("the cause does not unwrap")
	}
}
