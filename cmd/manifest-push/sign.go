package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/manifest-push/manifest-push/publish"
	"github.com/manifest-push/manifest-push/sign"
	"github.com/manifest-push/manifest-push/spec"
	"github.com/urfave/cli/v2"
)

// signFlags are the flags of signing in the push (README, "Signing").
func signFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "sign", Usage: "sign the index and every child before any tag moves (cosign by default: sign --yes ${artifact})"},
		&cli.StringFlag{Name: "signer", Usage: "the signer program, on PATH or a path (implies --sign; wins over the spec's sign.cmd)", DefaultText: "cosign"},
		&cli.StringSliceFlag{Name: "sign-arg", Usage: "one argument of the signer, ${artifact} being REPOSITORY@DIGEST (repeatable, in order; implies --sign; replaces the default arguments)"},
		&cli.StringFlag{Name: "sign-artifacts", Usage: "what is signed: all (the index and every child) or index (implies --sign)", DefaultText: "all"},
	}
}

// signRequest reads the signing flags into the run's request: nil when
// none is given (the spec's sign key, if any, decides).
func signRequest(c *cli.Context) (*spec.Signing, error) {
	if !boolean(c, "sign") && !isSet(c, "signer") && !isSet(c, "sign-arg") && !isSet(c, "sign-artifacts") {
		return nil, nil
	}
	s := &spec.Signing{Cmd: str(c, "signer"), Artifacts: str(c, "sign-artifacts")}
	if isSet(c, "sign-arg") {
		s.Args = owner(c, "sign-arg").StringSlice("sign-arg")
	}
	if isSet(c, "signer") && strings.TrimSpace(s.Cmd) == "" {
		return nil, usagef("--signer is empty: give a program such as cosign, or leave --signer out")
	}
	if err := spec.CheckSignArtifacts(s.Artifacts); err != nil {
		return nil, usagef("--sign-artifacts %v", err)
	}
	return s, nil
}

// signers are the signers of one run, one per signing configuration, with
// the Docker config directory they are given (removed by close).
type signers struct {
	env     []string
	tempDir string
	byKey   map[string]*sign.Command
}

// newSigners finds the signer program of every job that signs, before any
// request (a program not on PATH: exit 2, saying how to install it), and
// gives them the credentials in use through DOCKER_CONFIG: the Docker
// config directory in use, or, for credentials given by flag, a private
// copy of it with those credentials for the targets' hosts (never on a
// command line).
func newSigners(g *globals, jobs []job, targets []string) (*signers, error) {
	ss := &signers{byKey: map[string]*sign.Command{}}
	for _, j := range jobs {
		if j.err != nil || j.spec == nil {
			continue
		}
		s := j.req.Signing(j.spec)
		if s == nil {
			continue
		}
		if ss.env == nil {
			env, dir, err := signerEnv(g, targets, targetRepos(jobs))
			if err != nil {
				ss.close()
				return nil, err
			}
			ss.env, ss.tempDir = env, dir
		}
		program, args := s.Cmd, s.Args
		if program == "" {
			program = sign.DefaultProgram
		}
		if args == nil {
			args = sign.DefaultArgs
		}
		key := program + "\x00" + strings.Join(args, "\x00")
		if _, ok := ss.byKey[key]; ok {
			continue
		}
		cmd, err := sign.Find(program, args, ss.env)
		if err != nil {
			ss.close()
			how := "install it, or give --signer the path of the program"
			if program == sign.DefaultProgram {
				how = "install cosign (https://docs.sigstore.dev/cosign/system_config/installation/, or go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5) and run again"
			}
			return nil, usagef("signing: %v: %s", err, how)
		}
		ss.byKey[key] = cmd
	}
	return ss, nil
}

// options is the publish.Signing of job j; nil when it does not sign.
func (ss *signers) options(j job) *publish.Signing {
	s := j.req.Signing(j.spec)
	if s == nil {
		return nil
	}
	program, args := s.Cmd, s.Args
	if program == "" {
		program = sign.DefaultProgram
	}
	if args == nil {
		args = sign.DefaultArgs
	}
	return &publish.Signing{Signer: ss.byKey[program+"\x00"+strings.Join(args, "\x00")], IndexOnly: s.Artifacts == spec.SignIndex}
}

// close removes the private Docker config, if one was made.
func (ss *signers) close() {
	if ss != nil && ss.tempDir != "" {
		os.RemoveAll(ss.tempDir)
	}
}

// signerEnv is the signer's environment: this process's, with DOCKER_CONFIG
// naming the Docker config in use. Credentials given by flag (for the
// targets' hosts) are written into a private copy of that config, in a
// directory only this user reads (returned, to be removed after the run),
// with an empty credential helper for each of those hosts so that they
// win over a credential store, which stays for every other host.
func signerEnv(g *globals, targets, repos []string) ([]string, string, error) {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "DOCKER_CONFIG=") })
	path := g.hosts.DockerConfig
	if path == "" {
		path = os.Getenv("DOCKER_CONFIG")
	}
	if path == "" {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, ".docker")
		}
	}
	file := path
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		file = filepath.Join(path, "config.json")
	}
	if g.username == "" && filepath.Base(file) == "config.json" {
		return append(env, "DOCKER_CONFIG="+filepath.Dir(file)), "", nil
	}
	// A private copy: with the flag's credentials for the targets' hosts,
	// or, for a --docker-cfg file not named config.json, the file itself.
	cfg := map[string]any{}
	if data, err := os.ReadFile(file); err == nil {
		if err := json.Unmarshal(data, &cfg); err != nil {
			return nil, "", fmt.Errorf("signing: reading the Docker config %s: %w", file, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("signing: reading the Docker config: %w", err)
	}
	if g.username != "" {
		auths, _ := cfg["auths"].(map[string]any)
		if auths == nil {
			auths = map[string]any{}
		}
		helpers, _ := cfg["credHelpers"].(map[string]any)
		if helpers == nil {
			helpers = map[string]any{}
		}
		auth := map[string]any{"auth": base64.StdEncoding.EncodeToString([]byte(g.username + ":" + g.password))}
		for _, h := range targets {
			keys := []string{h}
			if h == "docker.io" {
				// Docker Hub's key in a Docker config.
				keys = append(keys, "https://index.docker.io/v1/", "index.docker.io")
			}
			for _, k := range keys {
				auths[k] = auth
				// An empty helper is the file itself for this host only:
				// a credential store (credsStore) stays for the others.
				helpers[k] = ""
			}
		}
		// A client such as cosign asks for a repository's credentials
		// first (HOST/PATH), then the host's: the file answers none for
		// the repository, so the host's follow.
		for _, r := range repos {
			host, path, _ := strings.Cut(r, "/")
			if !slices.Contains(targets, host) {
				continue
			}
			helpers[r] = ""
			if host == "docker.io" {
				helpers["index.docker.io/"+path] = ""
			}
		}
		cfg["auths"], cfg["credHelpers"] = auths, helpers
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "manifest-push-signer-")
	if err != nil {
		return nil, "", fmt.Errorf("signing: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("signing: %w", err)
	}
	return append(env, "DOCKER_CONFIG="+dir), dir, nil
}

// printSignatures says what signing did: in a dry run, each command it
// would run; otherwise how many artifacts were signed now and how many
// were signed already.
func printSignatures(w io.Writer, r *publish.Result) {
	counts := map[publish.SignStatus]int{}
	for _, s := range r.Signatures {
		counts[s.Status]++
		if s.Status == publish.SignWouldSign {
			fmt.Fprintf(w, "would run: %s\n", escape(strings.Join(s.Command, " ")))
		}
	}
	fmt.Fprintf(w, "Signatures: %d signed, %d already signed", counts[publish.SignSigned], counts[publish.SignFound])
	if n := counts[publish.SignWouldSign]; n > 0 {
		fmt.Fprintf(w, ", %d to sign", n)
	}
	if n := counts[publish.SignFailed]; n > 0 {
		fmt.Fprintf(w, ", %d not signed", n)
	}
	fmt.Fprintln(w)
}

// targetRepos are the repositories the jobs write to (their targets and
// mirrors), as HOST/PATH.
func targetRepos(jobs []job) []string {
	var out []string
	for _, j := range jobs {
		if j.err != nil || j.spec == nil || j.spec.Target == nil {
			continue
		}
		out = append(out, reference.Domain(j.spec.Target)+"/"+reference.Path(j.spec.Target))
		for _, m := range j.req.AllMirrors(j.spec) {
			out = append(out, reference.Domain(m)+"/"+reference.Path(m))
		}
	}
	return out
}
