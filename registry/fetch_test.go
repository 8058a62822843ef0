package registry

import (
	"testing"

	"github.com/opencontainers/go-digest"
)

// A registry that answers a read by sha512 digest with the sha256 digest
// of the same bytes (go-containerregistry's) is not a mismatch; a header
// that is the digest of other bytes is, whatever its algorithm.
func TestSameContent(t *testing.T) {
	data := []byte(`{"schemaVersion":2}`)
	got := digest.SHA512.FromBytes(data)
	for _, tc := range []struct {
		name   string
		header digest.Digest
		want   bool
	}{
		{"sha256 of the same bytes", digest.SHA256.FromBytes(data), true},
		{"sha256 of other bytes", digest.SHA256.FromBytes([]byte("other")), false},
		{"sha512 of other bytes", digest.SHA512.FromBytes([]byte("other")), false},
		{"not a digest", "sha256:nothex", false},
		{"an unknown algorithm", "md5:d41d8cd98f00b204e9800998ecf8427e", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ok := sameContent(tc.header, got, data); ok != tc.want {
				t.Errorf("sameContent(%s) = %v, want %v", tc.header, ok, tc.want)
			}
		})
	}
}
