package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// completionScript writes the script for shell and returns its path.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	code, stdout, stderr := runApp(t, "", "completion", shell)
	if code != 0 || stdout == "" {
		t.Fatalf("completion %s: exit %d, stderr %s", shell, code, stderr)
	}
	p := filepath.Join(t.TempDir(), "completion."+shell)
	if err := os.WriteFile(p, []byte(stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The bash script completes commands, a command's own flags and the global
// ones, as bash runs it.
func TestCompletionBash(t *testing.T) {
	script := completionScript(t, "bash")
	for _, tc := range []struct{ words, want string }{
		{"manifest-push from-", "from-args from-spec"},
		{"manifest-push from-spec --dr", "--dry-run"},
		{"manifest-push from-args --plat", "--platforms"},
		{"manifest-push push from-spec --ign", "--ignore-missing"},
		{"manifest-push --plain-http-h", "--plain-http-host"},
		{"manifest-push inspect --ra", "--raw"},
		{"manifest-push comp", "completion"},
		{"manifest-push push fr", "from-spec from-args"},
		{"manifest-push push v", ""},
		{"manifest-push va", "validate"},
		{"manifest-push from-spec --type o", "oci"},
		{"manifest-push from-args --type ''", "auto oci docker"},
		{"manifest-push inspect -o j", "json"},
		{"manifest-push from-args --attestations d", "drop"},
	} {
		words := strings.Fields(tc.words)
		body := "source " + script + "\nCOMP_WORDS=(" + tc.words + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)-1) + "\n_manifest_push\necho \"${COMPREPLY[*]}\"\n"
		out, err := exec.Command("bash", "-c", body).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("%q completes to %q, want %q", tc.words, got, tc.want)
		}
	}
}

// The zsh and fish scripts parse in their shells.
func TestCompletionZshAndFishParse(t *testing.T) {
	for shell, check := range map[string][]string{"zsh": {"zsh", "-n"}, "fish": {"fish", "--no-execute"}} {
		script := completionScript(t, shell)
		out, err := exec.Command(check[0], append(check[1:], script)...).CombinedOutput()
		if err != nil {
			t.Errorf("%s does not parse its script (%s is installed by make test-deps): %v\n%s", shell, shell, err, out)
		}
	}
	// fish runs its script: the completions it registers answer.
	script := completionScript(t, "fish")
	out, err := exec.Command("fish", "-c", "source "+script+"; complete -C 'manifest-push from-spec --dr'").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--dry-run") {
		t.Errorf("fish completes %q (%v)", out, err)
	}
	out, err = exec.Command("fish", "-c", "source "+script+"; complete -C 'manifest-push from-spec --type '").CombinedOutput()
	if f := strings.Fields(string(out)); err != nil || len(f) == 0 || f[0] != "auto" || !strings.Contains(string(out), "docker") {
		t.Errorf("fish completes --type with %q (%v), want auto, oci, docker", out, err)
	}
}
