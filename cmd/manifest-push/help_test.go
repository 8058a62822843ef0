package main

import (
	"strings"
	"testing"
)

// TestTopLevelHelpHasOneGlobalOptionsList: manifest-push --help (and help,
// and no arguments at all) prints the global options under one heading,
// once, with the real list under it: not a heading with only --help under
// it followed by a second one.
func TestTopLevelHelpHasOneGlobalOptionsList(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}, {}} {
		code, stdout, stderr := runApp(t, "", args...)
		if code != exitOK {
			t.Fatalf("manifest-push %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		if n := strings.Count(stdout, "GLOBAL OPTIONS"); n != 1 {
			t.Errorf("manifest-push %s: %d GLOBAL OPTIONS headings, want 1\n%s", strings.Join(args, " "), n, stdout)
		}
		_, list, _ := strings.Cut(stdout, "GLOBAL OPTIONS")
		for _, flag := range []string{"--plain-http ", "--docker-cfg ", "--jobs ", "--timeout ", "--output ", "--help"} {
			if !strings.Contains(list, flag) {
				t.Errorf("manifest-push %s: the global options do not list %s\n%s", strings.Join(args, " "), flag, stdout)
			}
		}
	}
}
