package spec

import (
	"fmt"

	"github.com/manifest-push/manifest-push/internal/suggest"
	"go.yaml.in/yaml/v3"
)

// Signing is how a push signs what it writes (docs/rules.md, "Signing"),
// shaped like goreleaser's docker_signs: the spec's sign key
// (Spec.Sign), or a run's --sign (Request.Sign).
type Signing struct {
	// Cmd is the signer program, found on PATH unless it holds a slash;
	// empty means the default (cosign).
	Cmd string
	// Args are its arguments, in which ${artifact} stands for the artifact
	// signed (REPOSITORY@DIGEST): the spec's own ${VAR} expansion leaves it
	// to the signer. Nil means the default ("sign --yes ${artifact}").
	Args []string
	// Artifacts is what is signed: SignAll or SignIndex; empty means
	// SignAll.
	Artifacts string
	// Pos is where the spec's sign key is; zero for a run's.
	Pos Pos
}

// What a push signs (Signing.Artifacts).
const (
	// SignAll signs the index and every child (images and attestation
	// manifests).
	SignAll = "all"
	// SignIndex signs the index only.
	SignIndex = "index"
)

// signKeys are the keys of the spec's sign mapping.
var signKeys = []string{"cmd", "args", "artifacts"}

// CheckSignArtifacts checks a value of Signing.Artifacts.
func CheckSignArtifacts(v string) error {
	switch v {
	case "", SignAll, SignIndex:
		return nil
	}
	return fmt.Errorf("%s: give all (the index and every child) or index (the index only)", suggest.Quote(v))
}

// Signing is what a push of s signs with: the run's (r.Sign) over the
// spec's (s.Sign), each field the run leaves empty taken from the spec;
// nil when neither asks for signing.
func (r Request) Signing(s *Spec) *Signing {
	var spec *Signing
	if s != nil {
		spec = s.Sign
	}
	switch {
	case r.Sign == nil:
		return spec
	case spec == nil:
		return r.Sign
	}
	out := *spec
	if r.Sign.Cmd != "" {
		out.Cmd = r.Sign.Cmd
	}
	if r.Sign.Args != nil {
		out.Args = r.Sign.Args
	}
	if r.Sign.Artifacts != "" {
		out.Artifacts = r.Sign.Artifacts
	}
	return &out
}

// signing reads the spec's sign key: a mapping of cmd, args and artifacts
// (all optional: "sign: {}" signs with the defaults).
func (l *loader) signing(f field) *Signing {
	if !l.value(f, yaml.MappingNode, "a mapping") {
		return nil
	}
	s := &Signing{Pos: l.pos(f.key)}
	fs, _ := l.fields(f.val, signKeys, nil, " in sign")
	if v, ok := fs["cmd"]; ok {
		if c, ok := l.str(v, "cmd"); ok {
			s.Cmd = c
		}
	}
	if v, ok := fs["args"]; ok {
		// ${artifact} is the signer's: every other ${VAR} is expanded.
		keep := l.lookup
		l.lookup = func(name string) (string, bool) {
			if name == "artifact" {
				return "${artifact}", true
			}
			return keep(name)
		}
		if args, _, ok := l.strList(v, "args"); ok {
			s.Args = args
		}
		l.lookup = keep
	}
	if v, ok := fs["artifacts"]; ok {
		if a, ok := l.str(v, "artifacts"); ok {
			if err := CheckSignArtifacts(a); err != nil {
				l.errorf(v.val, nil, "sign: artifacts %v", err)
			} else {
				s.Artifacts = a
			}
		}
	}
	return s
}
