// Command bench measures what a push of manifest-push costs in round trips,
// requests, 401s, writes and memory, against the embedded registry behind
// a proxy that delays every request (also behind a token server, as Docker
// Hub), measures crane and regctl through the same proxy in the same run,
// compares a first push into a registry that implements the tag parameter
// with one into a registry that does not, and checks the goals of issues
// 5, 15, 20 and 30 (make bench).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/bench"
	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/largecopy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var (
		cfg   bench.Config
		sizes string
	)
	flag.DurationVar(&cfg.Delay, "delay", 50*time.Millisecond, "delay the proxy adds to every request (a remote registry's round trip)")
	flag.StringVar(&sizes, "sizes", "8,32,256", "index sizes (entries) to measure, comma-separated")
	flag.IntVar(&cfg.Tags, "tags", 3, "tags pushed: the target's and the extra ones")
	flag.IntVar(&cfg.Runs, "runs", 3, "runs per size, each into a fresh target; the median is reported")
	flag.IntVar(&cfg.Jobs, "jobs", 0, "--jobs for manifest-push (0: its default)")
	flag.StringVar(&cfg.Binary, "binary", "", "manifest-push executable to measure (default: build it)")
	flag.BoolVar(&cfg.Trace, "trace", false, "also print every request of each last run, with its start time")
	check := flag.Bool("check", false, "exit 1 when a goal fails")
	largeMiB := flag.Int64("large", 64, "also copy one layer of this many MiB from one registry to another (0: skip)")
	protos := flag.String("proto", "http1,http2,token", "protocols to measure, comma-separated: http1 (plain HTTP/1.1), http2 (TLS with HTTP/2), token (plain HTTP/1.1 to a registry behind a token server, as Docker Hub: 401 without a token)")
	crossMiB := flag.Int64("cross", 32, "also copy 8 images of 2 layers of this many MiB each from another registry, with and without the delay (0: skip)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process (the registry and the proxy) to this file")
	tagParam := flag.Int("tagparam", 8, "also compare the first push of an index of this many entries with 3 extra tags into a registry that implements the tag parameter (the proxy's TagParameter profile) and into one that does not, over HTTP/1.1 (0: skip)")
	peers := flag.Bool("peers", true, "also measure crane and regctl (go install at pinned versions) through the same proxy, on sizes up to 32 over HTTP/1.1")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-sizes: %q is not a positive number", s)
		}
		cfg.Sizes = append(cfg.Sizes, n)
	}
	cfg.Log = os.Stderr

	if cfg.Binary == "" {
		dir, err := os.MkdirTemp("", "manifest-push-bench-bin-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		fmt.Fprintln(os.Stderr, "building manifest-push...")
		if cfg.Binary, err = binary.Build(ctx, dir, binary.Options{}); err != nil {
			return err
		}
	}
	if *peers {
		dir, err := os.MkdirTemp("", "manifest-push-bench-peers-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		fmt.Fprintln(os.Stderr, "installing crane and regctl (go install)...")
		if cfg.Peers, err = bench.InstallPeers(ctx, dir); err != nil {
			return err
		}
	}
	passed := true
	for _, proto := range strings.Split(*protos, ",") {
		c := cfg
		switch strings.TrimSpace(proto) {
		case "http1":
		case "http2":
			c.TLS = true
		case "token":
			c.Token = true
		default:
			return fmt.Errorf("-proto: %q: give http1, http2 or token", proto)
		}
		start := time.Now()
		rep, err := bench.Run(ctx, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "setup (packing images, not measured) %v, total %v\n\n", rep.Setup.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		if err := rep.WriteMarkdown(os.Stdout); err != nil {
			return err
		}
		fmt.Println()
		if cfg.Trace {
			if err := rep.WriteTrace(os.Stdout); err != nil {
				return err
			}
		}
		passed = passed && rep.Passed()
	}
	if *tagParam > 0 {
		c := cfg
		c.Log = nil
		fmt.Fprintf(os.Stderr, "comparing the tag parameter at N=%d...\n", *tagParam)
		rep, err := bench.RunTagParam(ctx, c, *tagParam)
		if err != nil {
			return err
		}
		if err := rep.WriteMarkdown(os.Stdout); err != nil {
			return err
		}
		fmt.Println()
	}
	if *crossMiB > 0 {
		ok, err := runCross(ctx, *crossMiB<<20, cfg.Delay, cfg.Binary)
		if err != nil {
			return err
		}
		passed = passed && ok
	}
	if *largeMiB > 0 {
		if err := runLarge(ctx, *largeMiB<<20, cfg.Binary); err != nil {
			return err
		}
	}
	if *check && !passed {
		return fmt.Errorf("a goal failed")
	}
	return nil
}

// crossRoundTrips is the critical path of a cross-registry push in round
// trips beyond the copying itself: resolving the sources and the target
// tag, the configs, the blob checks, the child manifests, the index, the
// target tag, one more for the upload sessions.
const crossRoundTrips = 7

// runCross copies 8 images of 2 layers of size bytes each from one
// registry to another, with no delay and then with the delay, and prints
// the wall time with the delay beside its floor: the copy with no delay
// plus crossRoundTrips round trips (issue 15: within 10% of the floor).
func runCross(ctx context.Context, size int64, delay time.Duration, bin string) (bool, error) {
	fmt.Fprintf(os.Stderr, "copying 8 images x 2 layers x %d MiB across registries, no delay...\n", size>>20)
	fast, err := largecopy.RunWith(ctx, largecopy.Options{Size: size, Binary: bin, Images: 8, Layers: 2})
	if err != nil {
		return false, err
	}
	fmt.Fprintf(os.Stderr, "... and with %v per request\n", delay)
	slow, err := largecopy.RunWith(ctx, largecopy.Options{Size: size, Binary: bin, Images: 8, Layers: 2, Delay: delay})
	if err != nil {
		return false, err
	}
	floor := fast.Wall + crossRoundTrips*delay
	ratio := float64(slow.Wall) / float64(floor)
	ok := ratio <= 1.10
	verdict := "pass"
	if !ok {
		verdict = "**FAIL**"
	}
	fmt.Printf("### Cross-registry: 8 images x 2 layers x %d MiB (%.0f MiB) from another registry\n\n", size>>20, float64(slow.BlobSize)/(1<<20))
	fmt.Printf("| delay | wall | floor (no-delay wall + %d RT) | wall / floor | peak RSS | writes to the source | goal ≤ 1.10 |\n|---:|---:|---:|---:|---:|---:|---|\n", crossRoundTrips)
	fmt.Printf("| 0 | %v | – | – | %.1f MiB | %d | |\n", fast.Wall.Round(time.Millisecond), float64(fast.PeakRSSKiB)/1024, fast.SourceWrites)
	fmt.Printf("| %v | %v | %v | %.2f | %.1f MiB | %d | %s |\n\n", delay, slow.Wall.Round(time.Millisecond), floor.Round(time.Millisecond), ratio, float64(slow.PeakRSSKiB)/1024, slow.SourceWrites, verdict)
	return ok, nil
}

// runLarge copies one large layer from one embedded registry to another
// (issue 6) and prints its throughput and the command's peak memory.
func runLarge(ctx context.Context, size int64, bin string) error {
	fmt.Fprintf(os.Stderr, "copying a %d MiB layer across registries...\n", size>>20)
	r, err := largecopy.RunWith(ctx, largecopy.Options{Size: size, Binary: bin})
	if err != nil {
		return err
	}
	fmt.Printf("\n### Cross-registry copy of one large layer (no added delay)\n\n")
	fmt.Printf("| layer blob | wall | throughput | peak RSS | writes to the source |\n|---:|---:|---:|---:|---:|\n")
	fmt.Printf("| %.1f MiB | %v | %.1f MiB/s | %.1f MiB | %d |\n",
		float64(r.BlobSize)/(1<<20), r.Wall.Round(time.Millisecond), r.BytesPerSec/(1<<20), float64(r.PeakRSSKiB)/1024, r.SourceWrites)
	return nil
}
