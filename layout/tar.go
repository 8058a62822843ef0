package layout

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// maxTarEntries caps the entries of a tar archive indexed by Open: a layout
// holds a few files per image.
const maxTarEntries = 1 << 18

// tarFiles reads a layout that is a tar archive, in place: Open scans the
// archive's headers once and keeps where each regular file's content
// starts; files are then read at that offset, so nothing is extracted and
// no content is held in memory.
type tarFiles struct {
	f       *os.File
	entries map[string]tarEntry
}

type tarEntry struct {
	offset, size int64
}

// openTar scans the tar archive at p. Entry names are cleaned, so "./blobs/x"
// and "blobs/x" are the same file; a later entry of a name replaces an
// earlier one, as tar extraction would.
// A file that is not a regular one once open (one swapped in after Open
// looked) is refused, without waiting on it. The scan stops, with ctx's
// error, when ctx ends.
func openTar(ctx context.Context, p string) (_ *tarFiles, err error) {
	f, err := os.OpenFile(p, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", p, ErrInvalid, unwrapPath(err))
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, f.Close())
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", p, ErrInvalid, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", p, &refusedError{what: kind(fi.Mode()), want: "a directory nor a tar archive"})
	}
	var magic [4]byte
	if n, err := f.ReadAt(magic[:], 0); err != nil && !(errors.Is(err, io.EOF) && n > 0) {
		return nil, fmt.Errorf("%s: %w: not a layout directory nor a tar archive: %w", p, ErrInvalid, err)
	}
	switch {
	case bytes.HasPrefix(magic[:], []byte{0x1f, 0x8b}):
		return nil, fmt.Errorf("%s: %w: a gzip-compressed file; decompress it first (gunzip), a layout archive is read as a plain tar", p, ErrInvalid)
	case bytes.HasPrefix(magic[:], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, fmt.Errorf("%s: %w: a zstd-compressed file; decompress it first (zstd -d), a layout archive is read as a plain tar", p, ErrInvalid)
	}
	t := &tarFiles{f: f, entries: map[string]tarEntry{}}
	tr := tar.NewReader(f)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w: not a layout directory nor a readable tar archive: %w", p, ErrInvalid, err)
		}
		if len(t.entries) >= maxTarEntries {
			return nil, fmt.Errorf("%s: %w: more than %d entries in the archive", p, ErrInvalid, maxTarEntries)
		}
		name := cleanName(h.Name)
		switch h.Typeflag {
		case tar.TypeReg:
			// The reader is at the start of the content: it reads headers
			// block by block, and skips content by seeking.
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			t.entries[name] = tarEntry{offset: off, size: h.Size}
		case tar.TypeLink:
			if e, ok := t.entries[cleanName(h.Linkname)]; ok {
				t.entries[name] = e
			}
		default:
			delete(t.entries, name)
		}
	}
	return t, nil
}

// cleanName is a tar entry's name as a path inside the layout: without a
// leading "./" or "/".
func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

func (t *tarFiles) open(name string) (io.ReadCloser, int64, error) {
	e, ok := t.entries[name]
	if !ok {
		return nil, 0, fs.ErrNotExist
	}
	return io.NopCloser(io.NewSectionReader(t.f, e.offset, e.size)), e.size, nil
}

func (t *tarFiles) close() error { return t.f.Close() }
