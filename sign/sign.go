// Package sign runs the program a push signs its artifacts with (cosign
// by default): a program the user configures, run once per artifact
// without a shell, its output kept and shown when it fails (docs/rules.md,
// "Signing").
package sign

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Placeholder is the text of an argument that is replaced by the artifact
// signed, REPOSITORY@DIGEST (goreleaser's docker_signs spelling).
const Placeholder = "${artifact}"

// Default signer: cosign, keyless where the CI gives an identity token
// (cosign finds it); a key, a KMS URI or cosign's other flags are the
// user's to add to the arguments.
var (
	DefaultProgram = "cosign"
	DefaultArgs    = []string{"sign", "--yes", Placeholder}
)

// ErrNotFound: the signer program is not on PATH (or not at the path
// given).
var ErrNotFound = errors.New("signer not found")

// MaxOutput caps how much of a failing signer's output an Error keeps:
// the last bytes, where a program says why it failed.
const MaxOutput = 2048

// Command is a signer: Path run with Args (each Placeholder replaced), in
// Env. The zero Env means this process's environment.
type Command struct {
	// Path is the program, as Find found it.
	Path string
	// Args are its arguments; Placeholder within any of them is replaced
	// by the artifact.
	Args []string
	// Env is its environment, "KEY=value" each; nil means this process's.
	Env []string
	// slots bounds the runs of this command at once, across every push
	// that shares it (a run of several specs, mirrors): MaxRuns.
	slots chan struct{}
}

// MaxRuns is how many runs of one Command (made by Find) go at once.
const MaxRuns = 4

// Find looks program up (on PATH unless it holds a slash) and returns the
// command that runs it with args; a program that is not there wraps
// ErrNotFound.
func Find(program string, args []string, env []string) (*Command, error) {
	path, err := exec.LookPath(program)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not on PATH (%v)", ErrNotFound, program, err)
	}
	return &Command{Path: path, Args: args, Env: env, slots: make(chan struct{}, MaxRuns)}, nil
}

// Argv is the command line run for artifact: the program, then the
// arguments with Placeholder replaced.
func (c *Command) Argv(artifact string) []string {
	out := []string{c.Path}
	for _, a := range c.Args {
		out = append(out, strings.ReplaceAll(a, Placeholder, artifact))
	}
	return out
}

// Sign runs the signer for artifact and waits for it. A signer that
// fails (or cannot start) is an *Error with its output.
func (c *Command) Sign(ctx context.Context, artifact string) error {
	if c.slots != nil {
		select {
		case c.slots <- struct{}{}:
			defer func() { <-c.slots }()
		case <-ctx.Done():
			return &Error{Artifact: artifact, Err: context.Cause(ctx)}
		}
	}
	argv := c.Argv(artifact)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = c.Env
	// A signer cancelled (Ctrl-C, --timeout) is killed; what it started
	// and left holding its output gets this long before Wait gives up.
	cmd.WaitDelay = 5 * time.Second
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	// No terminal: a signer that would ask a question fails instead.
	cmd.Stdin = nil
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return &Error{Artifact: artifact, Err: err, Output: strings.TrimSpace(out.String())}
	}
	return nil
}

// Error is a signer run that failed: the artifact, how the program ended,
// and the end of what it printed (at most MaxOutput bytes).
type Error struct {
	Artifact string
	Err      error
	Output   string
}

func (e *Error) Error() string {
	msg := e.Err.Error()
	if e.Output != "" {
		msg += ": " + oneLine(e.Output)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// oneLine joins the lines of s with " | ", so that the failure of one
// artifact is one line of the error report.
func oneLine(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	return strings.Join(lines, " | ")
}

// tail keeps the last MaxOutput bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
	cut bool
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - MaxOutput; over > 0 {
		t.buf = bytes.Clone(t.buf[over:])
		t.cut = true
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut {
		return "..." + string(t.buf)
	}
	return string(t.buf)
}
