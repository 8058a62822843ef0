package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/manifest-push/manifest-push/publish"
)

// How often the progress display is brought up to date.
const (
	ttyRefresh  = 200 * time.Millisecond
	logInterval = 2 * time.Second
)

// progressDisplay shows on standard error how far each source's blobs are
// in being brought into the target repository: on a terminal, one line per
// source redrawn in place; otherwise a log line per source that moved,
// every logInterval, and at the end a line per source whose bytes were
// streamed (or whose copy stopped). It shows nothing when the push brings
// no blob in.
type progressDisplay struct {
	w     io.Writer
	tty   bool
	every time.Duration
	start time.Time

	mu      sync.Mutex
	order   []string
	state   map[string]publish.Progress
	changed map[string]bool
	drawn   int // lines drawn on the terminal

	stop chan struct{}
	done chan struct{}
}

// startProgress starts a display on w, a terminal display when w is one.
func startProgress(w io.Writer) *progressDisplay {
	tty := isTerminal(w)
	every := logInterval
	if tty {
		every = ttyRefresh
	}
	return startProgressWith(w, tty, every)
}

func startProgressWith(w io.Writer, tty bool, every time.Duration) *progressDisplay {
	d := &progressDisplay{
		w:       w,
		tty:     tty,
		every:   every,
		start:   time.Now(),
		state:   map[string]publish.Progress{},
		changed: map[string]bool{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go d.run()
	return d
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// report is the registry.PushOptions.Progress function.
func (d *progressDisplay) report(p publish.Progress) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.state[p.Source]; !ok {
		d.order = append(d.order, p.Source)
	}
	d.state[p.Source] = p
	d.changed[p.Source] = true
}

func (d *progressDisplay) run() {
	defer close(d.done)
	t := time.NewTicker(d.every)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			d.flush(true)
			return
		case <-t.C:
			d.flush(false)
		}
	}
}

// close draws the final state and stops the display. A nil display does
// nothing.
func (d *progressDisplay) close() {
	if d == nil {
		return
	}
	close(d.stop)
	<-d.done
}

func (d *progressDisplay) flush(final bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	elapsed := time.Since(d.start)
	if d.tty {
		if len(d.changed) == 0 && !final {
			return
		}
		var b strings.Builder
		if d.drawn > 0 {
			fmt.Fprintf(&b, "\x1b[%dA", d.drawn) // back to the first line
		}
		for _, s := range d.order {
			fmt.Fprintf(&b, "\x1b[2K%s\n", ttyLine(d.state[s], elapsed))
		}
		d.drawn = len(d.order)
		clear(d.changed)
		io.WriteString(d.w, b.String()) //nolint:errcheck // nowhere to report a failing stderr
		return
	}
	for _, s := range d.order {
		p := d.state[s]
		switch {
		case final && p.BlobsDone < p.Blobs:
			fmt.Fprintf(d.w, "stopped copying %s: %s of %s, %d of %d blobs\n", escape(s), size(p.BytesDone), size(p.BytesTotal), p.BlobsDone, p.Blobs)
		case final && p.Streamed > 0: // mounts alone are not worth a line
			fmt.Fprintf(d.w, "copied %s: %s in %d blobs (%s streamed in %s)\n",
				escape(s), size(p.BytesDone), p.BlobsDone, size(p.Streamed), elapsed.Round(100*time.Millisecond))
		case !final && d.changed[s]:
			fmt.Fprintf(d.w, "copying %s: %s of %s, %d of %d blobs\n", escape(s), size(p.BytesDone), size(p.BytesTotal), p.BlobsDone, p.Blobs)
		}
	}
	clear(d.changed)
}

// ttyLine is one source's line on a terminal: a bar, bytes, blobs and the
// rate of the bytes streamed.
func ttyLine(p publish.Progress, elapsed time.Duration) string {
	const width = 20
	filled := width
	if p.BytesTotal > 0 {
		filled = int(int64(width) * min(p.BytesDone, p.BytesTotal) / p.BytesTotal)
	}
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	line := fmt.Sprintf("%s [%s] %s / %s, %d/%d blobs", shorten(escape(p.Source), 48), bar, size(p.BytesDone), size(p.BytesTotal), p.BlobsDone, p.Blobs)
	if secs := elapsed.Seconds(); p.Streamed > 0 && secs > 0 {
		line += fmt.Sprintf(", %s/s", size(int64(float64(p.Streamed)/secs)))
	}
	return line
}

// shorten keeps the end of s, the part that tells sources apart.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}

// size formats a byte count with a binary unit.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
