package layout

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// A layout is untrusted input: it is read from its own regular files
// only. A named pipe, a device, a socket or a symbolic link among them is
// refused before it is opened (an open of a named pipe for reading waits
// for a writer, forever), and a name never resolves outside the layout.
// Every file is opened without blocking (openFlags) and checked again once
// open, so one swapped in between the look and the open is refused too.

// dirFiles reads a layout that is a directory, through an os.Root: no name
// resolves outside it.
type dirFiles struct {
	root *os.Root
	// path is the layout's path as the caller named it, for messages.
	path string
}

// openDir opens the layout directory at path.
func openDir(path string) (*dirFiles, error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", path, ErrInvalid, unwrapPath(err))
	}
	return &dirFiles{root: root, path: path}, nil
}

// open opens name, a slash-separated path inside the layout. Each directory
// on the way must be a directory and the file a regular file, none of them
// a symbolic link; anything else is a *refusedError.
func (d *dirFiles) open(name string) (io.ReadCloser, int64, error) {
	parts := strings.Split(name, "/")
	var last fs.FileInfo
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := d.root.Lstat(p)
		if err != nil {
			return nil, 0, unwrapPath(err)
		}
		if i < len(parts)-1 {
			if !fi.IsDir() {
				return nil, 0, &refusedError{file: strings.TrimSuffix(d.path, "/") + "/" + p, what: kind(fi.Mode()), want: "a directory"}
			}
			continue
		}
		if !fi.Mode().IsRegular() {
			return nil, 0, &refusedError{what: kind(fi.Mode()), want: "a regular file"}
		}
		last = fi
	}
	f, err := d.root.OpenFile(name, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, 0, unwrapPath(err)
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, 0, errors.Join(unwrapPath(err), f.Close())
	case !fi.Mode().IsRegular():
		return nil, 0, errors.Join(&refusedError{what: kind(fi.Mode()), want: "a regular file"}, f.Close())
	case !os.SameFile(fi, last):
		return nil, 0, errors.Join(&refusedError{what: "replaced while it was being opened", want: "a regular file"}, f.Close())
	}
	return f, fi.Size(), nil
}

func (d *dirFiles) close() error { return d.root.Close() }

// refusedError is a file of the layout that is not what a layout holds
// there: it wraps ErrInvalid.
type refusedError struct {
	// file names the file when it is not the one being opened (a
	// directory on the way to it); empty for that file itself.
	file string
	what string
	want string
}

func (e *refusedError) Error() string {
	msg := fmt.Sprintf("%s, not %s: refused (a layout is read from its own regular files only)", e.what, e.want)
	if e.file != "" {
		msg = e.file + ": " + msg
	}
	return msg
}

func (e *refusedError) Unwrap() error { return ErrInvalid }

// kind names the kind of file mode m is, for messages.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a regular file"
	default:
		return "a special file"
	}
}

// isNotExist reports whether a file of the layout is missing.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
