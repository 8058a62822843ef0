// Package largecopy measures what the manifest-push command costs to copy
// one large layer from one registry to another: two embedded registries,
// each behind its own counting proxy, an image with one layer of the given
// size on the first, and one run of the command pushing an index of it to
// the second. It reports the wall time, the copy throughput and the
// command's peak resident memory, which stays far below the layer's size
// because the layer is streamed. The crossreg tests and the benchmark
// program call it.
package largecopy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/manifest-push/manifest-push/integration/internal/binary"
	"github.com/manifest-push/manifest-push/integration/internal/imagetest"
	"github.com/manifest-push/manifest-push/integration/internal/proxy"
	"github.com/manifest-push/manifest-push/integration/internal/registrytest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultSize is the layer size used when Options.Size is zero: 64 MiB.
const DefaultSize = 64 << 20

// Options configures RunWith. The zero value copies a DefaultSize layer
// with a manifest-push built for the run.
type Options struct {
	// Size is the layer's size in bytes. Zero means DefaultSize.
	Size int64
	// Binary is the manifest-push executable to run. Empty means build one
	// (binary.Build) into a temporary directory.
	Binary string
	// Images is the number of images copied, each of its own platform
	// (the index's entries). Zero means 1.
	Images int
	// Layers is the number of layers of Size bytes in each image, all
	// distinct. Zero means 1.
	Layers int
	// Delay is added by both proxies to every request (a remote
	// registry's round trip). Zero means none.
	Delay time.Duration
}

// Report is what one run measured.
type Report struct {
	// Size is the layer's size in bytes (the layer blob is a stored, not
	// compressed, tar.gz of that much random data, so a little larger).
	Size int64
	// BlobSize is the size of the layer blobs copied, in all.
	BlobSize int64
	// Wall is the command's wall time, from start to exit: resolving,
	// copying and pushing the index.
	Wall time.Duration
	// BytesPerSec is BlobSize / Wall.
	BytesPerSec float64
	// PeakRSSKiB is the command's peak resident set size in KiB: the
	// high-water mark VmHWM of /proc/PID/status, read until the command
	// exits; where there is no /proc, getrusage's ru_maxrss; zero where
	// the system reports neither.
	PeakRSSKiB int64
	// RusageMaxRSSKiB is ru_maxrss of the exited command (os.ProcessState
	// SysUsage), in KiB. On Linux it is at least the RSS the calling
	// process had when it started the command: Go starts commands with
	// vfork (CLONE_VM), and exec keeps the old memory's high-water mark.
	// It over-reports when the caller is large (it holds the two
	// registries), which is why PeakRSSKiB reads VmHWM instead.
	RusageMaxRSSKiB int64
	// SourceWrites and TargetWrites count the PUT, POST, PATCH and DELETE
	// requests that reached each registry (through its proxy).
	SourceWrites int
	TargetWrites int
	// Stderr is what the command wrote to standard error: its progress
	// lines.
	Stderr string
}

// Run copies a layer of size bytes (zero: DefaultSize) with a freshly
// built command.
func Run(ctx context.Context, size int64) (Report, error) {
	return RunWith(ctx, Options{Size: size})
}

// RunWith copies a large layer across registries as opts says.
func RunWith(ctx context.Context, opts Options) (rep Report, err error) {
	size := opts.Size
	if size <= 0 {
		size = DefaultSize
	}
	rep.Size = size
	tmp, err := os.MkdirTemp("", "largecopy-")
	if err != nil {
		return rep, fmt.Errorf("largecopy: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(tmp)) }()

	bin := opts.Binary
	if bin == "" {
		if bin, err = binary.Build(ctx, tmp, binary.Options{}); err != nil {
			return rep, err
		}
	}
	src, srcProxy, err := start(filepath.Join(tmp, "source"))
	if err != nil {
		return rep, err
	}
	defer src.Close()
	defer srcProxy.Close()
	dst, dstProxy, err := start(filepath.Join(tmp, "target"))
	if err != nil {
		return rep, err
	}
	defer dst.Close()
	defer dstProxy.Close()

	images, layers := max(opts.Images, 1), max(opts.Layers, 1)
	var sources []string
	var layer ocispec.Descriptor
	for i := range images {
		img := imagetest.Image{Platform: imagetest.NthPlatform(i)}
		for l := range layers {
			seed := "largecopy"
			if i > 0 || l > 0 {
				seed = fmt.Sprintf("largecopy-%d-%d", i, l)
			}
			img.Layers = append(img.Layers, imagetest.Layer{Size: size, Seed: seed})
		}
		tag := fmt.Sprintf("img%d", i)
		if i == 0 {
			tag = "amd64"
		}
		desc, err := imagetest.PushImage(ctx, src.Client(), src.URL(), "build/large", tag, img)
		if err != nil {
			return rep, fmt.Errorf("largecopy: pushing the source image: %w", err)
		}
		_, body, _, err := imagetest.GetManifest(ctx, src.Client(), src.URL(), "build/large", desc.Digest.String())
		if err != nil {
			return rep, fmt.Errorf("largecopy: %w", err)
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(body, &m); err != nil {
			return rep, fmt.Errorf("largecopy: %w", err)
		}
		for _, d := range m.Layers {
			rep.BlobSize += d.Size
		}
		if i == 0 {
			if layer, err = largestLayer(body); err != nil {
				return rep, err
			}
		}
		sources = append(sources, srcProxy.Host()+"/build/large:"+tag)
	}
	srcProxy.SetDelay(opts.Delay)
	dstProxy.SetDelay(opts.Delay)

	if err := os.MkdirAll(filepath.Join(tmp, "docker"), 0o700); err != nil {
		return rep, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{
		"--plain-http", "--docker-cfg", filepath.Join(tmp, "docker"), "--timeout", "10m",
		"from-args", "--target", dstProxy.Host() + "/release/large:1"}, sources...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err = cmd.Start(); err != nil {
		return rep, fmt.Errorf("largecopy: %w", err)
	}
	hwm := watchHWM(cmd.Process.Pid)
	err = cmd.Wait()
	rep.Wall = time.Since(start)
	rep.PeakRSSKiB = hwm()
	rep.Stderr = stderr.String()
	if err != nil {
		return rep, fmt.Errorf("largecopy: %s: %w\nstdout:\n%s\nstderr:\n%s", cmd, err, stdout.String(), stderr.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rep.RusageMaxRSSKiB = int64(ru.Maxrss) // KiB on Linux
	}
	if rep.PeakRSSKiB == 0 {
		rep.PeakRSSKiB = rep.RusageMaxRSSKiB
	}
	rep.BytesPerSec = float64(rep.BlobSize) / rep.Wall.Seconds()
	rep.SourceWrites, rep.TargetWrites = srcProxy.Writes(), dstProxy.Writes()

	ok, err := imagetest.BlobExists(ctx, dst.Client(), dst.URL(), "release/large", layer.Digest)
	if err != nil {
		return rep, fmt.Errorf("largecopy: %w", err)
	}
	if !ok {
		return rep, fmt.Errorf("largecopy: layer %s is not in the target repository after the push", layer.Digest)
	}
	return rep, nil
}

// watchHWM polls the VmHWM of process pid every few milliseconds until the
// returned function is called, which returns the largest value seen in
// KiB (zero without /proc).
func watchHWM(pid int) func() int64 {
	var (
		mu   sync.Mutex
		peak int64
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	read := func() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return // not there (yet, or any more, or no /proc)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				if err == nil {
					mu.Lock()
					peak = max(peak, kib)
					mu.Unlock()
				}
			}
		}
	}
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// start starts a registry storing on disk under dir (so that the calling
// process stays small), and a counting proxy in front of it.
func start(dir string) (*registrytest.Registry, *proxy.Proxy, error) {
	reg, err := registrytest.Start(registrytest.Options{Dir: dir})
	if err != nil {
		return nil, nil, err
	}
	px, err := proxy.Start(reg.URL(), proxy.Options{})
	if err != nil {
		reg.Close()
		return nil, nil, err
	}
	return reg, px, nil
}

func largestLayer(manifest []byte) (ocispec.Descriptor, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("largecopy: reading the manifest: %w", err)
	}
	var l ocispec.Descriptor
	for _, d := range m.Layers {
		if d.Size > l.Size {
			l = d
		}
	}
	if l.Size == 0 {
		return l, errors.New("largecopy: the image has no layer")
	}
	return l, nil
}
