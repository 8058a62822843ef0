package main

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"
)

// versionInfo is the version command's JSON output.
type versionInfo struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

func versionAction(c *cli.Context, std streams) error {
	if c.Args().Present() {
		return usagef("version takes no arguments, got %q", c.Args().First())
	}
	g, err := readOutput(c)
	if err != nil {
		return err
	}
	if !g {
		_, err := fmt.Fprintf(std.out, "manifest-push %s\n", version)
		return err
	}
	b, err := json.Marshal(versionInfo{
		Name:      "manifest-push",
		Version:   version,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(std.out, "%s\n", b)
	return err
}
