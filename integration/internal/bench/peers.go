package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// PeerTool is a peer tool measured in the same run, through the same
// proxy, on the same source images as manifest-push: built with go install
// at a pinned version.
type PeerTool struct {
	// Name is how the report names it: the tool and its subcommand.
	Name string
	// Package and Version are what go install builds.
	Package, Version string
	// commands are the command lines (after the executable) of one push of
	// the n images of src to target:TAG with the extra tags; setup, when
	// set, runs once before (with the same HOME).
	commands func(host, src string, n int, target string, tags []string) [][]string
	setup    func(host string) [][]string
}

// Peers are the tools manifest-push is compared with, as issue 5 measured
// them: crane index append (then crane tag for each extra tag) and regctl
// index create (then regctl image copy for each extra tag).
var Peers = []PeerTool{
	{
		Name: "crane index append", Package: "github.com/google/go-containerregistry/cmd/crane", Version: "v0.22.1",
		commands: func(host, src string, n int, target string, tags []string) [][]string {
			cmd := []string{"index", "append", "--insecure", "-t", host + "/" + target + ":1.0"}
			for i := range n {
				cmd = append(cmd, "-m", fmt.Sprintf("%s/%s:img-%d", host, src, i))
			}
			out := [][]string{cmd}
			for _, t := range tags {
				out = append(out, []string{"tag", "--insecure", host + "/" + target + ":1.0", t})
			}
			return out
		},
	},
	{
		Name: "regctl index create", Package: "github.com/regclient/regclient/cmd/regctl", Version: "v0.9.2",
		setup: func(host string) [][]string {
			return [][]string{{"registry", "set", host, "--tls", "disabled"}}
		},
		commands: func(host, src string, n int, target string, tags []string) [][]string {
			cmd := []string{"index", "create", host + "/" + target + ":1.0"}
			for i := range n {
				cmd = append(cmd, "--ref", fmt.Sprintf("%s/%s:img-%d", host, src, i))
			}
			out := [][]string{cmd}
			for _, t := range tags {
				out = append(out, []string{"image", "copy", host + "/" + target + ":1.0", host + "/" + target + ":" + t})
			}
			return out
		},
	},
}

// InstallPeers builds every peer tool with go install into dir and
// returns the executables by tool name.
func InstallPeers(ctx context.Context, dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range Peers {
		cmd := exec.CommandContext(ctx, "go", "install", p.Package+"@"+p.Version)
		cmd.Env = append(os.Environ(), "GOBIN="+dir)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go install %s@%s: %w\n%s", p.Package, p.Version, err, msg)
		}
		out[p.Name] = filepath.Join(dir, filepath.Base(p.Package))
	}
	return out, nil
}

// PeerRow is one peer's measurement of a size and phase.
type PeerRow struct {
	Tool, Version string
	N             int
	Phase         string
	Wall          time.Duration
	RoundTrips    float64
	Requests      int
	ManifestGETs  int
	ManifestHEADs int
	Writes        int
}

// measurePeers runs each peer's first push into a fresh target and its
// rerun, for an index of n entries, and samples what the proxy saw.
func (r *runner) measurePeers(ctx context.Context, n int) ([]PeerRow, error) {
	var rows []PeerRow
	for _, p := range Peers {
		exe, ok := r.cfg.Peers[p.Name]
		if !ok {
			continue
		}
		home, err := os.MkdirTemp(r.dir, "peer-home-")
		if err != nil {
			return nil, err
		}
		run := func(args []string) error {
			cmd := exec.CommandContext(ctx, exe, args...)
			cmd.Env = append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+r.dockerCfg)
			if msg, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s %s: %w\n%s", p.Name, strings.Join(args, " "), err, msg)
			}
			return nil
		}
		if p.setup != nil {
			for _, args := range p.setup(r.px.Host()) {
				if err := run(args); err != nil {
					return nil, err
				}
			}
		}
		var tags []string
		for t := 1; t < r.cfg.Tags; t++ {
			tags = append(tags, extraTag(t))
		}
		target := fmt.Sprintf("bench/%s-n%d", strings.Fields(p.Name)[0], n)
		for _, phase := range []string{FirstPush, Rerun} {
			r.px.Reset()
			start := time.Now()
			for _, args := range p.commands(r.px.Host(), sourceRepo(n), n, target, tags) {
				if err := run(args); err != nil {
					return nil, err
				}
			}
			row := PeerRow{Tool: p.Name, Version: p.Version, N: n, Phase: phase, Wall: time.Since(start),
				Requests: r.px.Count(), Writes: r.px.Writes()}
			row.ManifestGETs, row.ManifestHEADs = manifestReads(r.px.Requests())
			if r.cfg.Delay > 0 {
				row.RoundTrips = float64(row.Wall) / float64(r.cfg.Delay)
			}
			rows = append(rows, row)
			fmt.Fprintf(r.log, "N=%d %s %s: %v\n", n, p.Name, phase, row.Wall.Round(time.Millisecond))
		}
	}
	return rows, nil
}
