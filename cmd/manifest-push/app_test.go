package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runApp runs the command line in-process and returns exit code, stdout and
// stderr.
func runApp(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"manifest-push"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The app is run in-process and sequentially: urfave/cli shares its help and
// version flags between apps, so two apps must not run at once.
//
// These cases never reach a registry: the input is refused before any
// request (127.0.0.1:9 is the discard port; nothing answers there).
func TestCommandLineRefusesBadInput(t *testing.T) {
	badSpec := writeFile(t, "bad.yaml", "image: 127.0.0.1:9/hello:1\nmanifests:\n  - image: 127.0.0.1:9/hello:amd64\n    platfrom: {os: linux, architecture: amd64}\n")
	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		stderr string
	}{
		{"unknown flag", "", []string{"from-spec", "--no-such-flag", "x.yaml"}, "flag provided but not defined"},
		{"unknown command", "", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"from-spec without files", "", []string{"from-spec"}, "from-spec needs at least one spec file"},
		{"bad output after the command", "", []string{"from-spec", "--output", "yaml", badSpec}, `--output "yaml": use text or json`},
		{"bad type", "", []string{"from-spec", "--type", "zip", badSpec}, `--type: unknown type "zip"; use auto, oci or docker`},
		{"misspelled key names file and line", "", []string{"from-spec", badSpec}, "bad.yaml:4:5"},
		{"unknown architecture in from-args", "", []string{"from-args", "--plain-http", "--platforms", "linux/amd46", "--template", "127.0.0.1:9/img-OS-ARCH", "--target", "127.0.0.1:9/img"}, `"amd46"`},
		{"global flag before and after", "", []string{"--plain-http", "from-args", "--jobs", "0", "--platforms", "linux/amd64", "--template", "127.0.0.1:9/img-OS-ARCH", "--target", "127.0.0.1:9/img"}, "--jobs 0: give 1 or more"},
		{"password without user", "", []string{"from-spec", "--password", "hunter2", badSpec}, "a password needs --username"},
		{"stdin twice", "x", []string{"from-spec", "--username", "u", "--password-stdin", "-"}, "standard input can be read once"},
		{"inspect without a reference", "", []string{"inspect"}, "inspect needs one reference"},
		{"push without subcommand", "", []string{"push"}, "push needs a subcommand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runApp(t, tc.stdin, tc.args...)
			if code != exitInvalid {
				t.Errorf("exit code = %d, want %d\nstderr: %s", code, exitInvalid, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.stderr)
			}
			if strings.Contains(stdout, "Digest:") {
				t.Errorf("stdout has a digest line: %q", stdout)
			}
			if strings.Contains(stderr, "hunter2") {
				t.Errorf("stderr shows the password: %q", stderr)
			}
		})
	}
}

func TestBadSpecIsReportedAsJSONToo(t *testing.T) {
	p := writeFile(t, "bad.yaml", "image: 127.0.0.1:9/hello:1\nmanifests: []\nextra: 1\n")
	code, stdout, stderr := runApp(t, "", "from-spec", "--output", "json", p)
	if code != exitInvalid {
		t.Fatalf("exit code = %d, stderr %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "{") || !strings.Contains(stdout, `"error":"`) || strings.Count(stdout, "\n") != 1 {
		t.Errorf("stdout = %q, want one JSON line with an error", stdout)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runApp(t, "", "version")
	if code != 0 || stdout != "manifest-push dev\n" {
		t.Errorf("version: code %d, stdout %q", code, stdout)
	}
}
