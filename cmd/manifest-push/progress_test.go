package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/manifest-push/manifest-push/publish"
)

func TestProgressDisplay(t *testing.T) {
	t.Parallel()
	reports := []publish.Progress{
		{Source: "reg.example/a:1", Blobs: 2, BytesTotal: 3 << 20},
		{Source: "reg.example/b:1", Blobs: 1, BytesTotal: 10, BlobsDone: 1, BytesDone: 10},
		{Source: "reg.example/a:1", Blobs: 2, BlobsDone: 1, BytesTotal: 3 << 20, BytesDone: 1 << 20, Streamed: 1 << 20},
		{Source: "reg.example/a:1", Blobs: 2, BlobsDone: 2, BytesTotal: 3 << 20, BytesDone: 3 << 20, Streamed: 3 << 20},
	}
	for _, tc := range []struct {
		name string
		tty  bool
		want []string
	}{
		{"log lines", false, []string{
			"copied reg.example/a:1: 3.0 MiB in 2 blobs (3.0 MiB streamed in ",
		}},
		{"terminal", true, []string{
			"\x1b[2Kreg.example/a:1 [====================] 3.0 MiB / 3.0 MiB, 2/2 blobs, ",
			"\x1b[2Kreg.example/b:1 [====================] 10 B / 10 B, 1/1 blobs",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			d := startProgressWith(&buf, tc.tty, time.Hour)
			for _, r := range reports {
				d.report(r)
			}
			d.close()
			out := buf.String()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("output %q: want %d lines", out, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d: %q, want it to start with %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestProgressLogLinesOnlyForSourcesThatMoved(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	d := startProgressWith(&buf, false, time.Hour)
	d.report(publish.Progress{Source: "a", Blobs: 1, BytesTotal: 2048})
	d.flush(false)
	d.flush(false)
	d.report(publish.Progress{Source: "a", Blobs: 1, BlobsDone: 1, BytesTotal: 2048, BytesDone: 2048, Streamed: 2048})
	d.flush(false)
	d.close()
	want := "copying a: 0 B of 2.0 KiB, 0 of 1 blobs\ncopying a: 2.0 KiB of 2.0 KiB, 1 of 1 blobs\ncopied a: 2.0 KiB in 1 blobs"
	if got := buf.String(); !strings.HasPrefix(got, want) {
		t.Errorf("output %q, want it to start with %q", got, want)
	}
}

func TestProgressSaysWhenACopyStopped(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	d := startProgressWith(&buf, false, time.Hour)
	d.report(publish.Progress{Source: "a", Blobs: 2, BlobsDone: 1, BytesTotal: 2048, BytesDone: 1024})
	d.close()
	if got, want := buf.String(), "stopped copying a: 1.0 KiB of 2.0 KiB, 1 of 2 blobs\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestQuietShowsNoProgress(t *testing.T) {
	t.Parallel()
	var nilDisplay *progressDisplay
	nilDisplay.close() // what pushAll does with --quiet
}
