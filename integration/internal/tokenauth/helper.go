package tokenauth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Helper describes a docker-credential-NAME helper program (a shell
// script) that knows the credentials of one registry host.
type Helper struct {
	// Name is the helper's suffix: the program is docker-credential-NAME,
	// named by credsStore or credHelpers in a Docker config.
	Name string
	// Host is the registry host ("127.0.0.1:PORT") it has credentials for;
	// any other server URL gets "credentials not found".
	Host string
	// Username and Secret are what `get` answers. A Username of "<token>"
	// makes the Secret an identity token, as Docker's helpers mark it.
	Username, Secret string
}

// Write writes the helper into dir (put dir on PATH) and returns the path
// of the log file where each call appends "ACTION SERVERURL".
func (h Helper) Write(dir string) (logPath string, err error) {
	logPath = filepath.Join(dir, "docker-credential-"+h.Name+".log")
	for _, s := range []string{h.Host, h.Username, h.Secret, logPath} {
		if strings.ContainsAny(s, "'\"\\\n") {
			return "", fmt.Errorf("authtest: helper value %q must not hold quotes, backslashes or newlines", s)
		}
	}
	script := fmt.Sprintf(`#!/bin/sh
# docker-credential-%[1]s: a test credential helper (get only).
read -r server || true
echo "$1 $server" >> '%[5]s'
case "$1" in
get) ;;
*) exit 0 ;;
esac
case "$server" in
%[2]s|https://%[2]s|http://%[2]s)
	printf '{"ServerURL":"%%s","Username":"%[3]s","Secret":"%[4]s"}\n' "$server" ;;
*)
	echo "credentials not found in native keychain"
	exit 1 ;;
esac
`, h.Name, h.Host, h.Username, h.Secret, logPath)
	path := filepath.Join(dir, "docker-credential-"+h.Name)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil { //nolint:gosec // an executable test helper
		return "", fmt.Errorf("authtest: %w", err)
	}
	return logPath, nil
}

// Calls reads a helper's log: one "ACTION SERVERURL" line per call.
func Calls(logPath string) ([]string, error) {
	b, err := os.ReadFile(logPath)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Fields(strings.ReplaceAll(string(b), " ", "_")), nil
}
