package examples

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"
)

// workflows are the GitHub Actions examples, linted with actionlint.
var workflows = []string{"ci/github-actions.yml", "ci/github-action.yml"}

// lint runs actionlint on files and fails the test for each problem.
func lint(t *testing.T, files ...string) {
	t.Helper()
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("actionlint: %s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
}

func TestWorkflowsLint(t *testing.T) {
	var files []string
	for _, w := range workflows {
		files = append(files, filepath.Join(examples, filepath.FromSlash(w)))
	}
	lint(t, files...)
}

// The action's own metadata (action.yml) checked by actionlint through a
// workflow that uses it locally, as the example does remotely: every input
// the example gives exists, and the outputs it reads are declared.
func TestActionMetadataLint(t *testing.T) {
	root := filepath.Dir(examples)
	project := t.TempDir()
	for _, dir := range []string{".git", ".github/workflows", "scripts"} {
		if err := os.MkdirAll(filepath.Join(project, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"action.yml", "scripts/install.sh"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(project, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(examples, "ci", "github-action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	remote := regexp.MustCompile(`uses: manifest-push/manifest-push@v[0-9.]+`)
	if !remote.Match(b) {
		t.Fatal("examples/ci/github-action.yml does not use manifest-push/manifest-push@vX.Y.Z")
	}
	local := remote.ReplaceAll(b, []byte("uses: ./"))
	wf := filepath.Join(project, ".github", "workflows", "publish.yml")
	if err := os.WriteFile(wf, local, 0o644); err != nil {
		t.Fatal(err)
	}
	lint(t, wf)

	// actionlint does not know a misspelt input of a local action from the
	// metadata alone: check that it would be caught.
	bad := filepath.Join(project, ".github", "workflows", "bad.yml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(local), "registry:", "registri:", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFiles([]string{bad}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) == 0 {
		t.Error("actionlint takes an input the action does not have: the metadata check tests nothing")
	}
}

// Every ${VAR} the release spec reads reaches manifest-push: passed into the
// container with -e VAR and set in the step's env (the example once left
// SOURCE_URL out, and the index came out annotated with the default).
func TestWorkflowsPassTheSpecVariables(t *testing.T) {
	spec, err := os.ReadFile(filepath.Join(examples, "ci", "release.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, m := range regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)`).FindAllStringSubmatch(string(spec), -1) {
		if !slices.Contains(vars, m[1]) {
			vars = append(vars, m[1])
		}
	}
	if !slices.Contains(vars, "SOURCE_URL") {
		t.Fatalf("release.yaml reads %v; the test expects SOURCE_URL among them", vars)
	}
	for _, w := range workflows {
		t.Run(w, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(examples, filepath.FromSlash(w)))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Jobs map[string]struct {
					Steps []struct {
						Uses string            `yaml:"uses"`
						Run  string            `yaml:"run"`
						Env  map[string]string `yaml:"env"`
						With map[string]string `yaml:"with"`
					} `yaml:"steps"`
				} `yaml:"jobs"`
			}
			if err := yaml.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, job := range doc.Jobs {
				for _, st := range job.Steps {
					docker := strings.Contains(st.Run, "docker run")
					action := strings.HasPrefix(st.Uses, "manifest-push/manifest-push@")
					if !docker && !action {
						continue
					}
					found = true
					for _, v := range vars {
						if action && v == "REGISTRY" {
							if st.With["registry"] == "" {
								t.Errorf("the action step gives no registry input for ${REGISTRY}")
							}
							continue
						}
						if _, ok := st.Env[v]; !ok {
							t.Errorf("the step's env does not set %s, which the spec reads", v)
						}
						if docker && !strings.Contains(st.Run, "-e "+v+" ") && !strings.Contains(st.Run, "-e "+v+"\n") {
							t.Errorf("docker run does not pass -e %s into the container", v)
						}
					}
					// ghcr.io names must be lower case: the registry comes
					// from a step that lowercases the owner.
					reg := st.Env["REGISTRY"] + st.With["registry"]
					if strings.Contains(reg, "github.repository_owner") {
						t.Errorf("the registry %q uses the owner as given, not lower-cased", reg)
					}
				}
			}
			if !found {
				t.Fatal("no manifest-push step found")
			}
		})
	}
}
