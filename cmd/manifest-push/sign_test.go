package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/registry"
)

// Credentials given by flag reach the signer in a private Docker config:
// for the targets' hosts (Docker Hub under the keys its clients look up),
// with an empty credential helper each so that they win over the
// credential store, which stays for the other hosts; only this user can
// read it.
func TestSignerEnvFlagCredentials(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credsStore":"desktop","credHelpers":{"gcr.io":"gcr","reg.test:5000":"old"},"auths":{"other.test":{"auth":"eDp5"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &globals{hosts: registry.Options{DockerConfig: dir}, username: "ci", password: "s3cret"}
	env, tmp, err := signerEnv(g, []string{"docker.io", "reg.test:5000"}, []string{"docker.io/acme/app", "reg.test:5000/team/app", "gcr.io/acme/app"})
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if !slices.Contains(env, "DOCKER_CONFIG="+tmp) || slices.ContainsFunc(env, func(kv string) bool { return strings.Contains(kv, "s3cret") }) {
		t.Errorf("environment: want DOCKER_CONFIG=%s and no password", tmp)
	}
	for path, want := range map[string]os.FileMode{tmp: 0o700, filepath.Join(tmp, "config.json"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %o", path, fi.Mode().Perm(), err, want)
		}
	}
	data, err := os.ReadFile(filepath.Join(tmp, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		CredsStore  string                       `json:"credsStore"`
		CredHelpers map[string]string            `json:"credHelpers"`
		Auths       map[string]map[string]string `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("ci:s3cret"))
	for _, k := range []string{"docker.io/acme/app", "index.docker.io/acme/app", "reg.test:5000/team/app"} {
		if h, ok := cfg.CredHelpers[k]; !ok || h != "" {
			t.Errorf("credHelpers[%q] = %q (%v), want the file itself (\"\"), which answers none for the repository", k, h, ok)
		}
	}
	if _, ok := cfg.CredHelpers["gcr.io/acme/app"]; ok {
		t.Errorf("a repository of a host the flags are not for got a helper entry")
	}
	for _, k := range []string{"docker.io", "https://index.docker.io/v1/", "index.docker.io", "reg.test:5000"} {
		if cfg.Auths[k]["auth"] != auth {
			t.Errorf("auths[%q] = %v, want the flag's credentials", k, cfg.Auths[k])
		}
		if h, ok := cfg.CredHelpers[k]; !ok || h != "" {
			t.Errorf("credHelpers[%q] = %q (%v), want the file itself (\"\")", k, h, ok)
		}
	}
	if cfg.CredsStore != "desktop" || cfg.CredHelpers["gcr.io"] != "gcr" || cfg.Auths["other.test"]["auth"] != "eDp5" {
		t.Errorf("the other hosts' credentials changed: %s", data)
	}
}
