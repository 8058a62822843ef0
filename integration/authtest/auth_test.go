package authtest

import (
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/manifest-push/manifest-push/integration/internal/tokenauth"

	"github.com/manifest-push/manifest-push/integration/internal/clitest"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
)

const (
	user     = "alice"
	password = "pa55-w0rd-7c1e" // distinctive, so a grep finds it anywhere
)

// TestTokenCrossRepositoryPush: a push whose sources live in other
// repositories than the target works with one token for the combined
// scopes: pull on each source, pull and push on the target.
func TestTokenCrossRepositoryPush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{}, &tokenauth.TokenOptions{Username: user, Password: password})
	args := e.TwoPlatforms()
	r := e.Run(bin, clitest.RunOptions{Stdin: password}, append(args, "--plain-http", "--username", user, "--password-stdin")...)
	clitest.WantCode(t, r, 0)
	if d := e.TagDigest("dst/img", "1"); d == "" || d != e.TagDigest("dst/img", "latest") {
		t.Errorf("dst/img:1 is %q, latest %q: want the same index", d, e.TagDigest("dst/img", "latest"))
	}
	reqs := e.ts.Requests()
	if len(reqs) == 0 || len(reqs) > 2 {
		t.Fatalf("%d token requests, want 1 or 2: %+v", len(reqs), reqs)
	}
	want := []string{"repository:dst/img:pull,push", "repository:src/amd64:pull", "repository:src/arm64:pull"}
	for _, req := range reqs {
		if req.Account != user || req.Token == "" {
			t.Errorf("token request %+v: want a token for %s", req, user)
		}
		var got []string
		for _, s := range req.Scopes {
			got = append(got, strings.Fields(s)...)
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("token request scopes %q lack %q", got, w)
			}
		}
	}
	// The blobs came by cross-repository mount, not by upload.
	for _, req := range e.Proxy.Requests() {
		if req.Method == "PATCH" || (req.Method == "PUT" && strings.Contains(req.Path, "/blobs/uploads/")) {
			t.Errorf("blob uploaded instead of mounted: %s", req)
		}
	}
}

// TestTokenExpiredFetchedAgainOnce: the first token is expired (the
// server says it is good for five minutes); the registry rejects it with
// error="invalid_token", the tool fetches a new one once, and the push
// completes.
func TestTokenExpiredFetchedAgainOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{}, &tokenauth.TokenOptions{Username: user, Password: password, Mint: func(n int) tokenauth.Mint {
		if n == 1 {
			return tokenauth.Expired
		}
		return tokenauth.Valid
	}})
	args := e.TwoPlatforms()
	r := e.Run(bin, clitest.RunOptions{Stdin: password}, append(args, "--plain-http", "--jobs", "1", "--username", user, "--password-stdin")...)
	clitest.WantCode(t, r, 0)
	if e.TagDigest("dst/img", "latest") == "" {
		t.Error("dst/img:latest not pushed")
	}
	if n := e.ts.Hits(); n != 2 {
		t.Errorf("%d token requests, want 2 (the expired token, then one new one): %+v", n, e.ts.Requests())
	}
}

// TestTokenRejectedNoLoop: every token is rejected (untrusted issuer). The
// tool fetches a token, a second one after the rejection, and stops: exit
// 3, a bounded number of requests, nothing written.
func TestTokenRejectedNoLoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, registrytest.Options{}, &tokenauth.TokenOptions{Username: user, Password: password, Mint: func(int) tokenauth.Mint { return tokenauth.WrongIssuer }})
	e.LinuxImage("src/amd64", "v1", "amd64")
	r := e.Run(bin, clitest.RunOptions{Stdin: password}, "from-args", "--plain-http", "--jobs", "1", "--platforms", "linux/amd64",
		"--template", e.Host()+"/src/ARCH:v1", "--target", e.Host()+"/dst/img:1", "--username", user, "--password-stdin")
	clitest.WantCode(t, r, 3)
	clitest.WantStderr(t, r, e.Host(), `"`+user+`"`)
	// The first request: unauthorized, with a token, with a second token.
	// A later request (the push does not stop at the first failure) tries
	// its cached token and one new one. Never more.
	tries := triesPerRequest(e)
	for req, n := range tries {
		if n > 3 {
			t.Errorf("%s sent %d times, want at most 3", req, n)
		}
	}
	if n := e.ts.Hits(); n < 2 || n > len(tries)+1 {
		t.Errorf("%d token requests for %d registry requests, want 2 to %d: %+v", n, len(tries), len(tries)+1, e.ts.Requests())
	}
	if n := e.Proxy.Writes(); n != 0 {
		t.Errorf("%d writes, want none", n)
	}
}

// protected are the two ways a registry asks for the user's credentials:
// basic auth, and a token server.
var protected = []struct {
	name   string
	opts   registrytest.Options
	tokens *tokenauth.TokenOptions
}{
	{name: "basic", opts: registrytest.Options{Username: user, Password: password}},
	{name: "token", tokens: &tokenauth.TokenOptions{Username: user, Password: password}},
}

// TestWrongCredentials: basic auth and token auth refuse the password:
// exit 3 after a bounded number of requests, the message names the host
// and the user.
func TestWrongCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range protected {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.opts, tc.tokens)
			args := e.TwoPlatforms()
			r := e.Run(bin, clitest.RunOptions{Stdin: "not-" + password}, append(args, "--plain-http", "--username", user, "--password-stdin")...)
			clitest.WantCode(t, r, 3)
			clitest.WantStderr(t, r, e.Host(), `"`+user+`"`)
			// The first wave of requests (two tags read, two sources
			// resolved, concurrently): each is challenged and tried once
			// more with the credentials, nothing else.
			tries := triesPerRequest(e)
			if len(tries) > 4 {
				t.Errorf("%d distinct requests, want at most 4: %v", len(tries), e.Proxy.Requests())
			}
			for req, n := range tries {
				if n > 2 {
					t.Errorf("%s sent %d times, want at most 2", req, n)
				}
			}
			// Each challenge costs at most two token requests (containerd
			// asks with POST, then falls back to GET); the first wave now
			// learns the challenge once, so there may be one registry
			// request only.
			if e.ts != nil && e.ts.Hits() > 2*len(tries) {
				t.Errorf("%d token requests for %d registry requests", e.ts.Hits(), len(tries))
			}
			if n := e.Proxy.Writes(); n != 0 {
				t.Errorf("%d writes, want none", n)
			}
		})
	}
}

// TestCredentialHelpers: credentials from a docker-credential-* helper on
// PATH, named by credsStore or credHelpers, in a Docker config found
// through DOCKER_CONFIG or --docker-cfg; and identity tokens, from the
// config's auths and from a helper (user "<token>").
func TestCredentialHelpers(t *testing.T) {
	t.Parallel()
	const idToken = "idtok-5e2b9f"
	for _, tc := range []struct {
		name string
		// tokens: a token server that accepts the identity token.
		tokens bool
		helper *tokenauth.Helper
		config string // with HOST for the registry host
		// viaFlag passes the config file with --docker-cfg instead of
		// DOCKER_CONFIG.
		viaFlag bool
		grant   string // the token request's grant, when tokens
	}{
		{name: "credsStore", helper: &tokenauth.Helper{Name: "mptest", Username: user, Secret: password},
			config: `{"credsStore":"mptest"}`},
		{name: "credHelpers", helper: &tokenauth.Helper{Name: "mptest2", Username: user, Secret: password},
			config: `{"credsStore":"absent","credHelpers":{"HOST":"mptest2"}}`, viaFlag: true},
		{name: "identity token in auths", tokens: true,
			config: `{"auths":{"HOST":{"identitytoken":"` + idToken + `"}}}`, grant: "refresh_token"},
		{name: "identity token from helper", tokens: true, helper: &tokenauth.Helper{Name: "mptest3", Username: "<token>", Secret: idToken},
			config: `{"credHelpers":{"HOST":"mptest3"}}`, grant: "refresh_token"},
		{name: "token server password from helper", tokens: true, helper: &tokenauth.Helper{Name: "mptest4", Username: user, Secret: password},
			config: `{"credsStore":"mptest4"}`, grant: "password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var e *env
			if tc.tokens {
				e = newEnv(t, registrytest.Options{}, &tokenauth.TokenOptions{Username: user, Password: password, RefreshToken: idToken})
			} else {
				e = newEnv(t, registrytest.Options{Username: user, Password: password}, nil)
			}
			args := e.TwoPlatforms()
			var o clitest.RunOptions
			logPath := ""
			if tc.helper != nil {
				h := *tc.helper
				h.Host = e.Host()
				binDir := t.TempDir()
				var err error
				if logPath, err = h.Write(binDir); err != nil {
					t.Fatal(err)
				}
				o.Env = append(o.Env, "PATH="+binDir+":"+pathEnv())
			}
			cfg := e.WriteFile("cfg/config.json", strings.ReplaceAll(tc.config, "HOST", e.Host()))
			if tc.viaFlag {
				args = append(args, "--docker-cfg", cfg)
			} else {
				o.Env = append(o.Env, "DOCKER_CONFIG="+e.Dir+"/cfg")
			}
			r := e.Run(bin, o, append(args, "--plain-http")...)
			clitest.WantCode(t, r, 0)
			if e.TagDigest("dst/img", "latest") == "" {
				t.Error("dst/img:latest not pushed")
			}
			if logPath != "" {
				calls, err := tokenauth.Calls(logPath)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(calls, "get_"+e.Host()) {
					t.Errorf("helper calls %q, want get %s", calls, e.Host())
				}
			}
			if tc.tokens {
				reqs := e.ts.Requests()
				if len(reqs) == 0 || reqs[0].Grant != tc.grant || reqs[0].Token == "" {
					t.Errorf("token requests %+v, want a %s grant", reqs, tc.grant)
				}
			}
		})
	}
}

// TestSecretsNeverPrinted greps everything a wrong-password run and
// successful --debug runs print (stdout and stderr) for the password, its
// base64 forms and every bearer token the token server issued.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	secrets := func(e *env) []string {
		s := []string{
			password,
			base64.StdEncoding.EncodeToString([]byte(user + ":" + password)),
			base64.URLEncoding.EncodeToString([]byte(user + ":" + password)),
			base64.StdEncoding.EncodeToString([]byte(password)),
		}
		if e.ts != nil {
			for _, r := range e.ts.Requests() {
				if r.Token != "" {
					s = append(s, r.Token)
					// The signature alone is as good as the token for a grep.
					s = append(s, r.Token[strings.LastIndex(r.Token, ".")+1:])
				}
			}
		}
		return s
	}
	check := func(t *testing.T, e *env, r clitest.Result) {
		t.Helper()
		out := r.Stdout + r.Stderr
		for _, s := range secrets(e) {
			if strings.Contains(out, s) {
				t.Errorf("output holds the secret %q\n%s", s, r)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		opts   registrytest.Options
		tokens *tokenauth.TokenOptions
		pass   string
		flag   bool // --password on the command line rather than stdin
		code   int
	}{
		{name: "basic wrong password", opts: registrytest.Options{Username: user, Password: "other-" + password}, pass: password, code: 3},
		{name: "basic wrong password debug flag", opts: registrytest.Options{Username: user, Password: "other-" + password}, pass: password, flag: true, code: 3},
		{name: "basic debug", opts: registrytest.Options{Username: user, Password: password}, pass: password},
		{name: "token wrong password debug", tokens: &tokenauth.TokenOptions{Username: user, Password: "other-" + password}, pass: password, code: 3},
		{name: "token debug", tokens: &tokenauth.TokenOptions{Username: user, Password: password}, pass: password},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.opts, tc.tokens)
			args := append(e.TwoPlatforms(), "--plain-http", "--debug", "--username", user)
			o := clitest.RunOptions{Stdin: tc.pass}
			if tc.flag {
				args = append(args, "--password", tc.pass)
				o.Stdin = ""
			} else {
				args = append(args, "--password-stdin")
			}
			r := e.Run(bin, o, args...)
			clitest.WantCode(t, r, tc.code)
			if !strings.Contains(r.Stderr, "registry request") {
				t.Errorf("--debug logged no request\n%s", r)
			}
			if tc.code == 0 && !strings.Contains(r.Stderr, "REDACTED") {
				t.Errorf("--debug shows no redacted Authorization\n%s", r)
			}
			check(t, e, r)
		})
	}
}

func pathEnv() string { return os.Getenv("PATH") }

// triesPerRequest counts the proxy's requests by method and path.
func triesPerRequest(e *env) map[string]int {
	m := map[string]int{}
	for _, r := range e.Proxy.Requests() {
		m[r.Method+" "+r.Path]++
	}
	return m
}

// No credentials for a registry that wants them: exit 3, said once, with
// how to give them.
func TestNoCredentialsHint(t *testing.T) {
	t.Parallel()
	for _, tc := range protected {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.opts, tc.tokens)
			r := e.Run(bin, clitest.RunOptions{}, append(e.TwoPlatforms(), "--plain-http")...)
			clitest.WantCode(t, r, 3)
			hint := fmt.Sprintf("hint: %s wants credentials: log in with docker login %s, or give --username with --password-stdin (flags are for the target's registry)\n", e.Host(), e.Host())
			if strings.Count(r.Stderr, "hint:") != 1 || !strings.HasSuffix(r.Stderr, hint) {
				t.Errorf("stderr does not end with the one hint %q\n%s", hint, r)
			}
			if strings.Count(r.Stderr, "error: ") > 2 {
				t.Errorf("the same refusal printed more than once, with its count\n%s", r)
			}
		})
	}
}
