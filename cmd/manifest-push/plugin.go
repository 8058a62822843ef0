package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// pluginName is the command manifest-push answers to as a docker CLI
// plugin: installed as ~/.docker/cli-plugins/docker-manifestpush, it runs as
// `docker manifestpush ...` (docker takes only names matching
// ^[a-z][a-z0-9]*$, so not manifest-push).
const pluginName = "manifestpush"

// pluginMetadata is what a docker CLI plugin says about itself when docker
// runs it with docker-cli-plugin-metadata.
type pluginMetadata struct {
	SchemaVersion    string `json:"SchemaVersion"`
	Vendor           string `json:"Vendor"`
	Version          string `json:"Version"`
	ShortDescription string `json:"ShortDescription"`
	URL              string `json:"URL"`
}

// asPlugin handles the docker CLI plugin protocol. docker runs a plugin
// as `docker-NAME docker-cli-plugin-metadata` to learn about it, and as
// `docker-NAME NAME ARGS...` to run it. It returns the arguments to run
// with (the plugin name taken out), or done when it has answered alone.
func asPlugin(args []string, stdout io.Writer) (rest []string, done bool) {
	if len(args) < 2 || !strings.HasPrefix(filepath.Base(args[0]), "docker-") {
		return args, false
	}
	switch args[1] {
	case "docker-cli-plugin-metadata":
		b, err := json.Marshal(pluginMetadata{
			SchemaVersion:    "0.1.0",
			Vendor:           "manifest-push",
			Version:          version,
			ShortDescription: "Publish per-platform images as one multi-platform image",
			URL:              "https://github.com/manifest-push/manifest-push",
		})
		if err == nil {
			fmt.Fprintf(stdout, "%s\n", b)
		}
		return nil, true
	case pluginName:
		return append([]string{"docker " + pluginName}, args[2:]...), false
	}
	return args, false
}
