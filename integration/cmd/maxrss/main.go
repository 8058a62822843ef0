// Command maxrss runs a command and writes its peak resident set size and
// wall time to a file, for the benchmark.
//
// Usage: maxrss RESULT-FILE COMMAND [ARG...]
//
// The result file gets "RSS-BYTES WALL-NANOSECONDS". The command's standard
// streams and environment are this one's, and its exit code becomes this
// one's.
//
// Why a separate process: on Linux, a child's ru_maxrss is at least the
// resident size of the process it was forked from at the time of its exec
// (the kernel keeps the old address space's high-water mark, and Go forks
// with vfork, sharing the parent's). Started from the benchmark, which holds
// the embedded registry, the manifest-push process would be charged the
// benchmark's memory; started from this small program, only a few MiB that
// it is sure to exceed anyway.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: maxrss RESULT-FILE COMMAND [ARG...]")
		os.Exit(125)
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "maxrss:", err)
		os.Exit(125)
	}
	result := fmt.Sprintf("%d %d\n", peakRSS(cmd.ProcessState), wall.Nanoseconds())
	if err := os.WriteFile(os.Args[1], []byte(result), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "maxrss:", err)
		os.Exit(125)
	}
	os.Exit(code)
}
