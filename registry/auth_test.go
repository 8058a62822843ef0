package registry

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func writeDockerConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCredentials(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	dir := writeDockerConfig(t, `{"auths": {
		"reg.example": {"auth": "`+b64("cfguser:cfgpass")+`"},
		"other.example:5000": {"auth": "`+b64("other:pw")+`"},
		"https://index.docker.io/v1/": {"auth": "`+b64("hubuser:hubpass")+`"},
		"token.example": {"auth": "`+b64("<token>:")+`", "identitytoken": "idtok"}
	}}`)
	tests := []struct {
		name             string
		opts             Options
		target, registry string
		wantUser, wantPw string
	}{
		{"flags for the target", Options{Credentials: HostCredentials("u", "p", DockerCredentials(dir), "reg.example")}, "reg.example", "reg.example", "u", "p"},
		{"flags not for another registry", Options{Credentials: HostCredentials("u", "p", DockerCredentials(dir), "reg.example")}, "reg.example", "other.example:5000", "other", "pw"},
		{"docker config", Options{}, "reg.example", "reg.example", "cfguser", "cfgpass"},
		{"docker hub key", Options{}, "docker.io", "docker.io", "hubuser", "hubpass"},
		{"identity token", Options{}, "token.example", "token.example", "", "idtok"},
		{"nothing known", Options{}, "none.example", "none.example", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.DockerConfig = dir
			u, p, err := newCredentials(tc.opts).forRegistry(tc.registry)("ignored")
			if err != nil {
				t.Fatal(err)
			}
			if u != tc.wantUser || p != tc.wantPw {
				t.Errorf("got %q %q, want %q %q", u, p, tc.wantUser, tc.wantPw)
			}
		})
	}
}

func TestDockerConfigLocations(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte("envuser:envpass"))
	dir := writeDockerConfig(t, `{"auths": {"reg.example": {"auth": "`+b64+`"}}}`)

	t.Run("file path", func(t *testing.T) {
		u, _, err := newCredentials(Options{DockerConfig: filepath.Join(dir, "config.json")}).forRegistry("reg.example")("")
		if err != nil || u != "envuser" {
			t.Fatalf("got %q, %v", u, err)
		}
	})
	t.Run("DOCKER_CONFIG", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", dir)
		u, _, err := newCredentials(Options{}).forRegistry("reg.example")("")
		if err != nil || u != "envuser" {
			t.Fatalf("got %q, %v", u, err)
		}
	})
	t.Run("missing directory is empty", func(t *testing.T) {
		u, _, err := newCredentials(Options{DockerConfig: filepath.Join(dir, "nope")}).forRegistry("reg.example")("")
		if err != nil || u != "" {
			t.Fatalf("got %q, %v", u, err)
		}
	})
	t.Run("malformed file is an error", func(t *testing.T) {
		bad := writeDockerConfig(t, `{"auths": `)
		if _, _, err := newCredentials(Options{DockerConfig: bad}).forRegistry("reg.example")(""); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestRejectedToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, auth, challenge string
		want                  bool
	}{
		{"bearer rejected", "Bearer abc", `Bearer realm="https://auth.example/token",service="reg",error="invalid_token"`, true},
		{"bearer insufficient scope", "Bearer abc", `Bearer realm="https://auth.example/token",error="insufficient_scope"`, true},
		{"bearer challenge without error", "Bearer abc", `Bearer realm="https://auth.example/token",service="reg"`, false},
		{"no token sent", "", `Bearer realm="x",error="invalid_token"`, false},
		{"basic", "Basic YTpi", `Basic realm="reg"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodGet, "https://reg.example/v2/", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp := &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{"Www-Authenticate": {tc.challenge}}}
			if got := rejectedToken(req, resp); got != tc.want {
				t.Errorf("rejectedToken = %v, want %v", got, tc.want)
			}
		})
	}
}
